import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { pool } from '../../db/pool';
import { RouteDoc, flag, intParam, langParam, parseQuery } from '../http/query';
import { HttpError } from '../http/errors';
import { ADMIN_LEVEL, ZoneLevel, levelAlias, parseZoneId, zoneId } from '../territoire/ids';
import { applyMask, parseMask } from '../territoire/mask';
import { referential } from '../../communes/referential';
import { ResponseCache, cachedBody, sendCached, stampWith } from '../http/cache';
import {
  Zone,
  childrenOf,
  featureCollection,
  featureOf,
  resolveParsed,
  resolveZone,
  suggestZones,
  territorySuggest,
  zonesOfLevel,
} from '../territoire/zones';
import { PackDataset, baseUrl, datasetReference, fileUrl, findPackDataset, packBuilt, packDatasets } from '../../packs/datasets';

/**
 * API Territoire-compatible routes under /api/1 (docs api-territoire.md §5.1). Ids may contain
 * '/', so zone routes are wildcards and parse the raw path; every route answers with and
 * without a trailing slash (no redirect).
 */
const P = '/api/1';

const LEVELS: { id: ZoneLevel; names: Record<'fr' | 'en' | 'es', string>; parents: ZoneLevel[] }[] = [
  { id: 'country', names: { fr: 'Pays', en: 'Country', es: 'País' }, parents: [] },
  { id: 'fr:region', names: { fr: 'Région française', en: 'French region', es: 'Región francesa' }, parents: ['country'] },
  { id: 'fr:departement', names: { fr: 'Département français', en: 'French county', es: 'Departamento francés' }, parents: ['fr:region'] },
  {
    id: 'fr:arrondissement',
    names: { fr: 'Arrondissement français', en: 'French district', es: 'Distrito francés' },
    parents: ['fr:departement'],
  },
  {
    id: 'fr:epci',
    names: { fr: 'Intercommunalité française (EPCI)', en: 'French intermunicipality (EPCI)', es: 'Intermunicipalidad francesa (EPCI)' },
    parents: ['fr:departement'],
  },
  {
    id: 'fr:commune',
    names: { fr: 'Commune française', en: 'French town', es: 'Municipio francés' },
    parents: ['fr:arrondissement', 'fr:epci'],
  },
];
// IRIS are children of communes (from the iris table) but not resolvable zones of their own here.
const IRIS_LEVEL = {
  id: 'fr:iris',
  names: { fr: 'Iris (quartiers INSEE)', en: 'Iris (INSEE districts)', es: 'Iris (barrios INSEE)' },
  parents: ['fr:commune'],
};
const EXTRA_GRANULARITIES = [
  { id: 'poi', names: { fr: "Point d'Intérêt", en: 'POI', es: 'Punto de interés' } },
  { id: 'other', names: { fr: 'Autre', en: 'Other', es: 'Otro' } },
];

export const LangQuery = z.object({ lang: langParam });
export const DatasetsQuery = z.object({ dynamic: flag.optional(), size: intParam(1000).optional(), lang: langParam });
export const SuggestQuery = z.object({ q: z.string().trim().min(1, 'q est obligatoire'), size: intParam(100).optional(), lang: langParam });
export const TerritorySuggestQuery = z.object({ q: z.string().trim().min(1, 'q est obligatoire'), size: intParam(100).optional() });
export const OembedQuery = z.object({
  references: z.string().min(1, 'references est obligatoire'),
  maxwidth: intParam(10000).optional(),
  maxheight: intParam(10000).optional(),
});

const ZONE_ERRORS = { 404: 'unknown zone id, or no version valid at the date' };
export const docs: RouteDoc[] = [
  {
    method: 'get',
    path: `${P}/spatial/zone/{id}`,
    tag: 'territoire',
    summary: 'One zone as a GeoJSON Feature (ids: fr:commune:35238, …@1942-01-01, …@latest, fr/town/35238). Honours X-Fields.',
    params: { id: 'zone id' },
    query: LangQuery,
    errors: ZONE_ERRORS,
  },
  {
    method: 'get',
    path: `${P}/spatial/zones/{ids}`,
    tag: 'territoire',
    summary: 'Several zones (comma-separated ids), in request order',
    params: { ids: 'comma-separated zone ids' },
    query: LangQuery,
    errors: { 404: 'one of the ids is unknown' },
  },
  {
    method: 'get',
    path: `${P}/spatial/zone/{id}/datasets`,
    tag: 'territoire',
    summary: 'Datasets of a zone: dynamic entries (our packs) first, then up to `size` datasets covering the zone',
    params: { id: 'zone id' },
    query: DatasetsQuery,
    errors: { ...ZONE_ERRORS, 400: 'bad query parameter' },
  },
  {
    method: 'get',
    path: `${P}/spatial/zone/{id}/datasets/{dataset}`,
    tag: 'territoire',
    summary: 'One dynamic dataset of a zone (the `uri` of the entries above) with its files',
    params: { id: 'zone id', dataset: 'dynamic dataset id (or 2017 alias)' },
    errors: ZONE_ERRORS,
  },
  {
    method: 'get',
    path: `${P}/spatial/zone/{id}/children`,
    tag: 'territoire',
    summary: 'Current zones one level down, by name',
    params: { id: 'zone id' },
    query: LangQuery,
    errors: ZONE_ERRORS,
  },
  {
    method: 'get',
    path: `${P}/spatial/zones/suggest`,
    tag: 'territoire',
    summary: 'Zone suggestions (name prefix, INSEE code, postal code, SIREN)',
    query: SuggestQuery,
    errors: { 400: 'q missing or bad size' },
  },
  {
    method: 'get',
    path: `${P}/spatial/levels`,
    tag: 'territoire',
    summary: 'Zone levels with their parents',
    query: LangQuery,
    errors: { 400: 'invalid query parameter' },
  },
  {
    method: 'get',
    path: `${P}/spatial/granularities`,
    tag: 'territoire',
    summary: 'Levels plus poi and other',
    query: LangQuery,
    errors: { 400: 'invalid query parameter' },
  },
  {
    method: 'get',
    path: `${P}/spatial/coverage/{level}`,
    tag: 'territoire',
    summary: 'Every zone of a level with its count of datasets',
    params: { level: 'fr:region, fr:departement, fr:epci, fr:commune…' },
    query: LangQuery,
    errors: { 404: 'unknown level' },
  },
  {
    method: 'get',
    path: `${P}/territory/suggest`,
    tag: 'territoire',
    summary: 'Territory suggestions (2016–2017 rules: department codes, INSEE or postal codes, names)',
    query: TerritorySuggestQuery,
    errors: { 400: 'q missing' },
  },
  {
    method: 'get',
    path: `${P}/oembeds`,
    tag: 'territoire',
    summary: 'oEmbed rich cards for territory-<zone>:<dataset> and dataset-<id> references',
    query: OembedQuery,
    errors: { 400: 'bad reference', 404: 'unknown zone or dataset' },
  },
];

/** Path after `prefix`, raw (percent-escapes decoded per id later), without query and trailing slashes. */
function rawRest(req: FastifyRequest, prefix: string): string {
  const path = req.url.split('?')[0].replace(/\/{2,}/g, '/');
  return path.slice(path.indexOf(prefix) + prefix.length).replace(/\/+$/, '');
}

function send(req: FastifyRequest, reply: FastifyReply, body: unknown) {
  const header = req.headers['x-fields'];
  const mask = typeof header === 'string' && header.trim() ? parseMask(header) : undefined;
  return reply.type('application/json; charset=utf-8').send(mask ? applyMask(body, mask) : body);
}

async function realDatasets(zone: Zone, size: number): Promise<Record<string, unknown>[]> {
  if (size === 0) return [];
  const { rows } = await pool().query(
    `select id, title, acronym, uri, page from zone_datasets where $1 = any(zones) order by created_at desc, id limit $2`,
    [zoneId(zone.level, zone.code), size],
  );
  return rows.map((r) => ({ id: r.id, class: 'Dataset', title: r.title, acronym: r.acronym, uri: r.uri, page: r.page }));
}

function assertCommune(zone: Zone): void {
  if (zone.level !== 'fr:commune' || !zone.current)
    throw new HttpError(404, `pas de dossier de données pour ${zoneId(zone.level, zone.code)} : seules les communes actuelles en ont un`);
}

async function dynamicDatasets(zone: Zone): Promise<PackDataset[]> {
  // Dynamic entries exist only for zones valid today that have a pack: current communes.
  return zone.level === 'fr:commune' && zone.current ? packDatasets() : [];
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function card(title: string, description: string, meta: string, href: string, maxwidth?: number, maxheight?: number) {
  const width = Math.min(1000, maxwidth ?? 1000);
  const height = Math.min(200, maxheight ?? 200);
  const html =
    `<div class="dotation-oembed" style="max-width:${width}px"><h4><a href="${escapeHtml(href)}">${escapeHtml(title)}</a></h4>` +
    `<p>${escapeHtml(description.split('\n')[0] ?? '')}</p><p><small>${escapeHtml(meta)}</small></p>` +
    `<p><a href="${escapeHtml(href)}">Télécharger</a></p></div>`;
  return { type: 'rich', version: '1.0', html, width, height, maxwidth: maxwidth ?? null, maxheight: maxheight ?? null };
}

/** `territory-fr:commune:35238:ban_com`, `territory-fr:commune:35238@1942-01-01:population_com`, 2016 `territory-fr-town-75056-comptes`. */
function parseTerritoryReference(rest: string): { zone: string; dataset: string } | undefined {
  const colon = rest.lastIndexOf(':');
  if (colon > 0 && /^(fr|country)[:/]/.test(rest)) return { zone: rest.slice(0, colon), dataset: rest.slice(colon + 1) };
  const m = /^fr-(town|county|region|district|commune|departement)-([0-9a-zA-Z]+)-(.+)$/.exec(rest);
  if (m) return { zone: `fr/${m[1]}/${m[2]}`, dataset: m[3] };
  return undefined;
}

const zoneCache = new ResponseCache(32 << 20);

export default async function territoire(app: FastifyInstance): Promise<void> {
  app.get(`${P}/spatial/zone/*`, async (req, reply) => {
    const rest = rawRest(req, '/spatial/zone/');
    let m: RegExpExecArray | null;
    if ((m = /^(.+)\/datasets\/([A-Za-z0-9_.-]+)$/.exec(rest))) {
      const zone = await resolveZone(m[1]);
      assertCommune(zone);
      const d = findPackDataset(await packDatasets(), m[2]);
      if (!d) throw new HttpError(404, `jeu de données inconnu : « ${m[2]} » pour ${zoneId(zone.level, zone.code)}`);
      return send(req, reply, {
        ...datasetReference(zoneId(zone.level, zone.code), zone.code, d, await packBuilt(zone.code)),
        zone: zoneId(zone.level, zone.code),
        zone_name: zone.name,
      });
    }
    if ((m = /^(.+)\/datasets$/.exec(rest))) {
      const query = parseQuery(DatasetsQuery, req.query);
      const zone = await resolveZone(m[1]);
      let dyn: Record<string, unknown>[] = [];
      if (query.dynamic) {
        const list = await dynamicDatasets(zone);
        const built = list.length ? await packBuilt(zone.code) : false;
        dyn = list.map((d) => datasetReference(zoneId(zone.level, zone.code), zone.code, d, built));
      }
      return send(req, reply, [...dyn, ...(await realDatasets(zone, query.size ?? 25))]);
    }
    if ((m = /^(.+)\/children$/.exec(rest))) {
      parseQuery(LangQuery, req.query);
      const zone = await resolveZone(m[1]);
      if (zone.level === 'fr:commune' && zone.current)
        return send(req, reply, { type: 'FeatureCollection', features: await irisOf(zone.code) });
      return send(
        req,
        reply,
        await featureCollection(childrenOf(await referential(), zone), zone.level !== 'fr:departement' && zone.level !== 'country'),
      );
    }
    parseQuery(LangQuery, req.query);
    // One zone: the Feature is kept as bytes (per id, X-Fields and day) until the data changes.
    const zone = await resolveZone(rest);
    const header = req.headers['x-fields'];
    const fields = typeof header === 'string' ? header.trim() : '';
    const key = `${rest}\n${fields}\n${new Date().toISOString().slice(0, 10)}`;
    const c = await zoneCache.fetch(await stampWith(await referential()), key, async () => {
      const body = await featureOf(zone);
      const mask = fields ? parseMask(fields) : undefined;
      return cachedBody(JSON.stringify(mask ? applyMask(body, mask) : body), 'application/json; charset=utf-8');
    });
    return sendCached(req, reply, c);
  });

  const suggest = async (req: FastifyRequest, reply: FastifyReply) => {
    const { q, size } = parseQuery(SuggestQuery, req.query);
    const ref = await referential();
    return send(
      req,
      reply,
      suggestZones(ref, q, size ?? 10).map(({ zone, score }) => ({
        id: zoneId(zone.level, zone.code),
        name: zone.name,
        code: zone.code,
        level: zone.level,
        keys: zone.keys,
        score,
        uri: zone.uri,
        population: zone.population,
      })),
    );
  };
  app.get(`${P}/spatial/zones/suggest`, suggest);

  app.get(`${P}/spatial/zones/*`, async (req, reply) => {
    parseQuery(LangQuery, req.query);
    const rest = rawRest(req, '/spatial/zones/');
    const ids = rest
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (ids.length === 0) throw new HttpError(404, 'aucun identifiant de zone donné');
    const ref = await referential();
    const zones: Zone[] = [];
    for (const id of ids) {
      const p = parseZoneId(id);
      const zone = p && resolveParsed(ref, p);
      if (!zone) throw new HttpError(404, `zone inconnue : « ${decodeURIComponentSafe(id)} »`);
      zones.push(zone);
    }
    return send(req, reply, await featureCollection(zones));
  });

  app.get(`${P}/spatial/levels`, async (req, reply) => {
    const { lang } = parseQuery(LangQuery, req.query);
    return send(req, reply, [
      ...LEVELS.map((l) => ({ id: l.id, name: l.names[lang ?? 'fr'], parents: l.parents, admin_level: ADMIN_LEVEL[l.id] })),
      { id: IRIS_LEVEL.id, name: IRIS_LEVEL.names[lang ?? 'fr'], parents: IRIS_LEVEL.parents, admin_level: 98 },
    ]);
  });
  app.get(`${P}/spatial/granularities`, async (req, reply) => {
    const { lang } = parseQuery(LangQuery, req.query);
    return send(
      req,
      reply,
      [...LEVELS, IRIS_LEVEL, ...EXTRA_GRANULARITIES].map((l) => ({ id: l.id, name: l.names[lang ?? 'fr'] })),
    );
  });

  app.get(`${P}/spatial/coverage/*`, async (req, reply) => {
    parseQuery(LangQuery, req.query);
    const raw = decodeURIComponentSafe(rawRest(req, '/spatial/coverage/'));
    // Every level /levels lists has a coverage (udata@25b5a2ddd test_coverage_empty: a level without zones is an empty collection).
    if (raw.toLowerCase() === IRIS_LEVEL.id) return send(req, reply, { type: 'FeatureCollection', features: await irisCoverage() });
    const level = levelAlias(raw);
    if (!level || !LEVELS.some((l) => l.id === level)) throw new HttpError(404, `niveau inconnu : « ${raw} »`);
    const ref = await referential();
    const zones = zonesOfLevel(ref, level);
    // Datasets of the zone itself and of every zone listing it as a parent.
    const { rows } = await pool().query(`select unnest(zones) as zone, count(*)::int as n from zone_datasets group by 1`);
    const direct = new Map<string, number>(rows.map((r) => [r.zone, r.n]));
    const counts = new Map<string, number>();
    if (direct.size) {
      const add = (id: string, n: number) => counts.set(id, (counts.get(id) ?? 0) + n);
      for (const [id, n] of direct) {
        add(id, n);
        const p = parseZoneId(id);
        const z = p && resolveParsed(ref, p);
        for (const parent of z?.parents ?? []) add(parent, n);
      }
    }
    const fc = await featureCollection(zones, level !== 'fr:commune');
    return send(req, reply, {
      type: 'FeatureCollection',
      features: fc.features.map((f) => ({
        id: f.id,
        type: 'Feature',
        geometry: f.geometry,
        properties: {
          name: f.properties.name,
          code: f.properties.code,
          level: f.properties.level,
          uri: f.properties.uri,
          datasets: counts.get(f.id) ?? 0,
        },
      })),
    });
  });

  app.get(`${P}/territory/suggest`, async (req, reply) => {
    const { q, size } = parseQuery(TerritorySuggestQuery, req.query);
    const ref = await referential();
    const found = territorySuggest(ref, q);
    const pageOf = (z: Zone) =>
      z.level === 'fr:commune'
        ? `${baseUrl()}/communes/${z.code}`
        : z.level === 'fr:departement'
          ? `${baseUrl()}/departements/${z.code}`
          : `${baseUrl()}/regions/${z.code}`;
    return send(
      req,
      reply,
      (size != null ? found.slice(0, size) : found).map((z) => ({
        id: zoneId(z.level, z.code),
        title: z.name,
        image_url: '',
        parent: z.parentName,
        page: pageOf(z),
      })),
    );
  });

  /**
   * oEmbed cards. Errors are udata's, word for word (opendatateam/udata v2.5.0, commit 1553c0f2,
   * udata/features/oembed/api.py OEmbedsAPI and udata/tests/api/test_oembed_api.py): a client that
   * matches on them keeps working. `detail` says the same in French.
   */
  app.get(`${P}/oembeds`, async (req, reply) => {
    const bad = (message: string, detail: string) => {
      throw new HttpError(400, message, {}, { detail });
    };
    const raw = (req.query as Record<string, unknown>).references;
    if (typeof raw !== 'string' || !raw.trim())
      throw new HttpError(
        400,
        'Input payload validation failed',
        {},
        {
          errors: { references: 'References of the resources to embed. Missing required parameter in the query string' },
          detail:
            'le paramètre references est obligatoire (territory-<zone>:<jeu de données> ou dataset-<identifiant>, séparés par des virgules)',
        },
      );
    const { references, maxwidth, maxheight } = parseQuery(OembedQuery, req.query);
    const out = [];
    for (const ref of references.split(',').map((s) => s.trim())) {
      const dash = ref.indexOf('-');
      if (dash < 0) return bad('Invalid ID.', `référence sans type : « ${ref} » (attendu : territory-… ou dataset-…)`);
      const kind = ref.slice(0, dash);
      const rest = ref.slice(dash + 1);
      if (kind === 'territory') {
        const t = parseTerritoryReference(rest);
        if (!t)
          return bad(
            'Invalid territory ID.',
            `référence de territoire invalide : « ${ref} » (attendu : territory-<zone>:<jeu de données>)`,
          );
        const p = parseZoneId(t.zone);
        const zone = p && resolveParsed(await referential(), p);
        if (!zone || !zone.current) return bad('Unknown territory identifier.', `territoire inconnu : « ${t.zone} »`);
        if (zone.level !== 'fr:commune')
          return bad(
            'Unknown kind of territory.',
            `pas de jeux de données par territoire pour le niveau ${zone.level} : seules les communes en ont`,
          );
        const d = findPackDataset(await packDatasets(), t.dataset);
        if (!d)
          return bad('Unknown territory dataset id.', `jeu de données inconnu : « ${t.dataset} » pour ${zoneId(zone.level, zone.code)}`);
        out.push(
          card(
            `${d.title} – ${zone.name} (${zone.code})`,
            d.description,
            `${d.producer} · ${d.license.title}${d.millesime ? ` · ${d.millesime}` : ''}`,
            fileUrl(zone.code, d.files[0].name),
            maxwidth,
            maxheight,
          ),
        );
      } else if (kind === 'dataset') {
        const { rows } = await pool().query(`select id, title, page from zone_datasets where id = $1`, [rest]);
        if (!rows[0]) return bad('Unknown dataset ID.', `jeu de données inconnu : « ${rest} »`);
        out.push(card(rows[0].title, '', '', rows[0].page, maxwidth, maxheight));
      } else return bad('Invalid object type.', `type de référence inconnu : « ${kind} » (attendu : territory ou dataset)`);
    }
    return send(req, reply, out);
  });
}

/** Every IRIS (table iris of the geography sources) as coverage features, without geometry like the communes'; none when not loaded. */
async function irisCoverage(): Promise<unknown[]> {
  const { rows } = await pool()
    .query(`select code_iris, nom_iris from iris order by code_iris`)
    .catch(() => ({ rows: [] as { code_iris: string; nom_iris: string }[] }));
  const { rows: counted } = await pool().query(
    `select z as zone, count(*)::int as n from zone_datasets, unnest(zones) z where z like 'fr:iris:%' group by 1`,
  );
  const n = new Map<string, number>(counted.map((r) => [r.zone, r.n]));
  return rows.map((r) => ({
    id: `fr:iris:${r.code_iris}`,
    type: 'Feature',
    geometry: { type: 'MultiPolygon', coordinates: [] },
    properties: { name: r.nom_iris, code: r.code_iris, level: 'fr:iris', uri: null, datasets: n.get(`fr:iris:${r.code_iris}`) ?? 0 },
  }));
}

/** IRIS of a commune (table iris of the geography sources), as zone Features; none when not loaded. */
async function irisOf(code: string): Promise<unknown[]> {
  const { rows } = await pool()
    .query(
      `select code_iris, nom_iris, type_iris, st_asgeojson(st_multi(geom_simple), 6) as g
                                         from iris where code_commune = $1 or code_insee = $1 order by nom_iris, code_iris`,
      [code],
    )
    .catch(() => ({ rows: [] as { code_iris: string; nom_iris: string; type_iris: string; g: string }[] }));
  return rows.map((r) => ({
    id: `fr:iris:${r.code_iris}`,
    type: 'Feature',
    geometry: { type: 'MultiPolygon', coordinates: r.g ? JSON.parse(r.g).coordinates : [] },
    properties: {
      name: r.nom_iris,
      level: 'fr:iris',
      code: r.code_iris,
      parents: [`fr:commune:${code}`],
      keys: { insee: r.code_iris, type_iris: r.type_iris },
    },
  }));
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
