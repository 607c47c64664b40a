import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RouteDoc, parseQuery } from '../http/query';
import { pool } from '../../db/pool';
import { HttpError } from '../http/errors';
import { CommuneRec, Referential, normalizeName, referential } from '../../communes/referential';
import { ResponseCache, cachedBody, sendCached, stampWith } from '../http/cache';
import { COMMUNE, DEPARTEMENT, EPCI, REGION, contentType, nameScore, render } from '../geo/render';
import { CommunesQuery, DepartementsQuery, EpcisQuery, OneCommuneQuery, OneQuery, RegionsQuery, SubCommunesQuery } from '../geo/schemas';

export { nameScore } from '../geo/render';

/**
 * geo.api.gouv.fr-style routes (api-territoire.md §3.1): /communes (list; the single
 * /communes/{code} belongs to src/server/routes/communes.ts), /departements, /regions, /epcis.
 * Rendering is in src/server/geo/render.ts; answers are kept as bytes per URL until the data
 * changes (src/server/territoire/cache.ts) and carry an ETag.
 */

const inZones = (zone: string | null | undefined, zones: string[]) => zones.includes(zone ?? '');

interface CommuneIndex {
  byDep: Map<string, CommuneRec[]>;
  byPostal: Map<string, CommuneRec[]>;
  all: CommuneRec[];
}
const indexes = new WeakMap<Referential, CommuneIndex>();
/** Seeds for the filters, built once per referential: département and postal code → communes (both types). */
function communeIndex(ref: Referential): CommuneIndex {
  let ix = indexes.get(ref);
  if (ix) return ix;
  const all = ref.actuelles.concat(ref.arrondissementsMunicipaux);
  const byDep = new Map<string, CommuneRec[]>();
  const byPostal = new Map<string, CommuneRec[]>();
  for (const c of all) {
    if (c.departement) (byDep.get(c.departement) ?? byDep.set(c.departement, []).get(c.departement)!).push(c);
    for (const cp of c.codesPostaux) (byPostal.get(cp) ?? byPostal.set(cp, []).get(cp)!).push(c);
  }
  ix = { byDep, byPostal, all };
  indexes.set(ref, ix);
  return ix;
}

/**
 * geo.api's `lat` + `lon` (datagouv/api-geo@4aa0828 server.js /communes): both finite, lat in
 * [-90, 90], lon in [-180, 180], else the pair is ignored. Returns [lon, lat] or undefined.
 */
function pointOf(q: { lat?: string; lon?: string }): [number, number] | undefined {
  if (!q.lat || !q.lon) return undefined;
  const lat = Number.parseFloat(q.lat);
  const lon = Number.parseFloat(q.lon);
  if (!Number.isFinite(lat) || lat < -90 || lat > 90 || !Number.isFinite(lon) || lon < -180 || lon > 180) return undefined;
  return [lon, lat];
}

/** Codes of the communes (and arrondissements) whose contour holds the point: PostGIS on the loaded contours. */
async function communesAt([lon, lat]: [number, number]): Promise<Set<string>> {
  const { rows } = await pool().query(
    `select code_commune from commune_contours where st_intersects(geom, st_setsrid(st_makepoint($1, $2), 4326))`,
    [lon, lat],
  );
  return new Set(rows.map((r) => r.code_commune as string));
}

function filterCommunes(ref: Referential, q: z.infer<typeof CommunesQuery>, at?: Set<string>): { rec: CommuneRec; score?: number }[] {
  const types = q.type ?? (q.codeParent ? ['arrondissement-municipal'] : ['commune-actuelle']);
  const zones = q.zone ?? ['metro', 'drom', 'com'];
  const ix = communeIndex(ref);
  // The narrowest seed list, then one pass with every filter.
  let seed: CommuneRec[];
  if (q.code)
    seed = [ref.current.get(q.code), ...ref.arrondissementsMunicipaux.filter((a) => a.code === q.code)].filter((c): c is CommuneRec =>
      Boolean(c),
    );
  else if (q.codePostal) seed = ix.byPostal.get(q.codePostal) ?? [];
  else if (q.codeDepartement) seed = ix.byDep.get(q.codeDepartement) ?? [];
  else seed = ix.all;
  const ancien = q.ancienCode ? new Set((ref.successors.get(q.ancienCode) ?? []).map((s) => s.codeActuel)) : undefined;
  const members = q.codeEpci ? new Set(ref.epcis.get(q.codeEpci)?.membres ?? []) : undefined;
  const nq = q.nom ? normalizeName(q.nom) : '';
  const out: { rec: CommuneRec; score?: number }[] = [];
  const seen = new Set<CommuneRec>();
  for (const c of seed) {
    if (seen.has(c)) continue;
    seen.add(c);
    if (!types.includes(c.type as (typeof types)[number])) continue;
    if (q.code && c.code !== q.code) continue;
    if (ancien && !(ancien.has(c.code) || c.anciensCodes.includes(q.ancienCode!))) continue;
    if (q.codePostal && !c.codesPostaux.includes(q.codePostal)) continue;
    if (q.siren && c.siren !== q.siren) continue;
    if (q.codeDepartement && c.departement !== q.codeDepartement) continue;
    if (q.codeRegion && c.region !== q.codeRegion) continue;
    if (members && !(members.has(c.code) || (c.type === 'arrondissement-municipal' && c.parent != null && members.has(c.parent)))) continue;
    if (q.codeParent && c.parent !== q.codeParent) continue;
    if (at && !at.has(c.code)) continue;
    if (!inZones(c.zone, zones)) continue;
    if (nq) {
      const score = nameScore(c.norm, nq);
      // boost=population as geo.api computes it (api-geo@4aa0828 lib/communes.js): score × (1 + population / 100,000),
      // so "renn" gives Rennes before Renno, "mars" Marseille before Mars (test/communes.js "Boost for population").
      if (score > 0) out.push({ rec: c, score: q.boost === 'population' ? score * (1 + (c.population ?? 0) / 100_000) : score });
    } else out.push({ rec: c });
  }
  if (nq) out.sort((a, b) => b.score! - a.score! || (a.rec.code < b.rec.code ? -1 : 1));
  else out.sort((a, b) => (a.rec.code < b.rec.code ? -1 : a.rec.code > b.rec.code ? 1 : 0));
  return out;
}

function byName<T extends { norm: string }>(recs: T[], nom: string | undefined): { rec: T; score?: number }[] {
  if (!nom) return recs.map((rec) => ({ rec }));
  const nq = normalizeName(nom);
  return recs
    .map((rec) => ({ rec, score: nameScore(rec.norm, nq) }))
    .filter((s) => s.score > 0)
    .sort((a, b) => b.score - a.score);
}

const ERR = { 400: 'invalid query parameter', 404: 'unknown code' };
export const docs: RouteDoc[] = [
  {
    method: 'get',
    path: '/communes',
    tag: 'geo',
    summary:
      'Communes (filters: codePostal, code, siren, nom with boost=population, lat+lon (point in contour), codeDepartement, codeRegion, codeEpci, type, zone, ancienCode, codeParent); format=geojson needs a filter; an unknown format or geometry falls back to json / centre as on geo.api.gouv.fr',
    query: CommunesQuery,
    errors: { 400: ERR[400] },
  },
  {
    method: 'get',
    path: '/communes/{code}',
    tag: 'geo',
    summary:
      'One commune (route of routes/communes.ts): geo.api fields plus type, pack and donnees when `fields` is not given; format=geojson gives a Feature. An old code answers 301 to its current commune',
    params: { code: 'commune code (INSEE)' },
    query: OneCommuneQuery,
    errors: { 301: 'old code of a merged commune: Location is the current commune', ...ERR },
  },
  { method: 'get', path: '/departements', tag: 'geo', summary: 'Départements', query: DepartementsQuery, errors: { 400: ERR[400] } },
  {
    method: 'get',
    path: '/departements/{code}',
    tag: 'geo',
    summary: 'One département',
    params: { code: 'département code' },
    query: OneQuery,
    errors: ERR,
  },
  {
    method: 'get',
    path: '/departements/{code}/communes',
    tag: 'geo',
    summary: 'Communes of a département',
    params: { code: 'département code' },
    query: SubCommunesQuery,
    errors: ERR,
  },
  { method: 'get', path: '/regions', tag: 'geo', summary: 'Régions', query: RegionsQuery, errors: { 400: ERR[400] } },
  {
    method: 'get',
    path: '/regions/{code}',
    tag: 'geo',
    summary: 'One région',
    params: { code: 'région code' },
    query: OneQuery,
    errors: ERR,
  },
  {
    method: 'get',
    path: '/regions/{code}/departements',
    tag: 'geo',
    summary: 'Départements of a région',
    params: { code: 'région code' },
    query: DepartementsQuery,
    errors: ERR,
  },
  { method: 'get', path: '/epcis', tag: 'geo', summary: 'EPCI (intercommunalités)', query: EpcisQuery, errors: { 400: ERR[400] } },
  {
    method: 'get',
    path: '/epcis/{code}',
    tag: 'geo',
    summary: 'One EPCI',
    params: { code: 'SIREN of the EPCI' },
    query: OneQuery,
    errors: ERR,
  },
  {
    method: 'get',
    path: '/epcis/{code}/communes',
    tag: 'geo',
    summary: 'Member communes of an EPCI',
    params: { code: 'SIREN of the EPCI' },
    query: SubCommunesQuery,
    errors: ERR,
  },
];

const cache = new ResponseCache();

/** The rendered answer of this URL for this data, from the cache or from `produce`. */
async function reply(req: FastifyRequest, r: FastifyReply, ref: Referential, format: 'json' | 'geojson', produce: () => Promise<unknown>) {
  const c = await cache.fetch(await stampWith(ref), req.url, async () => cachedBody(JSON.stringify(await produce()), contentType(format)));
  return sendCached(req, r, c);
}

export default async function geo(app: FastifyInstance): Promise<void> {
  app.get('/communes', async (req, res) => {
    const q = parseQuery(CommunesQuery, req.query);
    const point = pointOf(q);
    const filtered =
      point ||
      q.codePostal ||
      q.code ||
      q.siren ||
      q.nom ||
      q.codeDepartement ||
      q.codeRegion ||
      q.codeEpci ||
      q.ancienCode ||
      q.codeParent;
    if (!filtered && (q.format === 'geojson' || q.fields?.includes('contour'))) {
      throw new HttpError(400, 'format=geojson et fields=contour demandent au moins un filtre sur /communes');
    }
    const ref = await referential();
    return reply(req, res, ref, q.format, async () => render(COMMUNE, filterCommunes(ref, q, point && (await communesAt(point))), q, ref));
  });

  const subCommunes =
    (container: 'codeDepartement' | 'codeEpci', exists: (ref: Referential, code: string) => boolean) =>
    async (req: FastifyRequest<{ Params: { code: string } }>, res: FastifyReply) => {
      const q = parseQuery(SubCommunesQuery, req.query);
      const code = req.params.code.toUpperCase();
      const ref = await referential();
      if (!exists(ref, code)) throw new HttpError(404, `code inconnu : « ${req.params.code} »`);
      const point = pointOf(q);
      return reply(req, res, ref, q.format, async () =>
        render(COMMUNE, filterCommunes(ref, { ...q, [container]: code }, point && (await communesAt(point))), q, ref),
      );
    };

  app.get('/departements', async (req, res) => {
    const q = parseQuery(DepartementsQuery, req.query);
    const ref = await referential();
    const zones = q.zone ?? ['metro', 'drom'];
    const recs = [...ref.departements.values()]
      .filter((d) => (!q.code || d.code === q.code) && (!q.codeRegion || d.region === q.codeRegion) && inZones(d.zone, zones))
      .sort((a, b) => (a.code < b.code ? -1 : 1));
    return reply(req, res, ref, q.format, () => render(DEPARTEMENT, byName(recs, q.nom), q, ref));
  });
  app.get<{ Params: { code: string } }>('/departements/:code', async (req, res) => {
    const q = parseQuery(OneQuery, req.query);
    const ref = await referential();
    const d = ref.departements.get(req.params.code.toUpperCase());
    if (!d) throw new HttpError(404, `département inconnu : « ${req.params.code} »`);
    return reply(req, res, ref, q.format, () => render(DEPARTEMENT, [{ rec: d }], q, ref, true));
  });
  app.get(
    '/departements/:code/communes',
    subCommunes('codeDepartement', (ref, c) => ref.departements.has(c)),
  );

  app.get('/regions', async (req, res) => {
    const q = parseQuery(RegionsQuery, req.query);
    const ref = await referential();
    const zones = q.zone ?? ['metro', 'drom'];
    const recs = [...ref.regions.values()]
      .filter((r) => (!q.code || r.code === q.code) && inZones(r.zone, zones))
      .sort((a, b) => (a.code < b.code ? -1 : 1));
    return reply(req, res, ref, q.format, () => render(REGION, byName(recs, q.nom), q, ref));
  });
  app.get<{ Params: { code: string } }>('/regions/:code', async (req, res) => {
    const q = parseQuery(OneQuery, req.query);
    const ref = await referential();
    const r = ref.regions.get(req.params.code);
    if (!r) throw new HttpError(404, `région inconnue : « ${req.params.code} »`);
    return reply(req, res, ref, q.format, () => render(REGION, [{ rec: r }], q, ref, true));
  });
  app.get<{ Params: { code: string } }>('/regions/:code/departements', async (req, res) => {
    const q = parseQuery(DepartementsQuery, req.query);
    const ref = await referential();
    if (!ref.regions.has(req.params.code)) throw new HttpError(404, `région inconnue : « ${req.params.code} »`);
    const recs = [...ref.departements.values()]
      .filter((d) => d.region === req.params.code && (!q.code || d.code === q.code))
      .sort((a, b) => (a.code < b.code ? -1 : 1));
    return reply(req, res, ref, q.format, () => render(DEPARTEMENT, byName(recs, q.nom), q, ref));
  });

  app.get('/epcis', async (req, res) => {
    const q = parseQuery(EpcisQuery, req.query);
    const ref = await referential();
    const recs = [...ref.epcis.values()]
      .filter(
        (e) =>
          (!q.code || e.code === q.code) &&
          (!q.codeDepartement || e.departements.includes(q.codeDepartement)) &&
          (!q.codeRegion || e.regions.includes(q.codeRegion)) &&
          (!q.zone || e.regions.some((r) => inZones(ref.regions.get(r)?.zone, q.zone!))),
      )
      .sort((a, b) => (a.code < b.code ? -1 : 1));
    return reply(req, res, ref, q.format, () => render(EPCI, byName(recs, q.nom), q, ref));
  });
  app.get<{ Params: { code: string } }>('/epcis/:code', async (req, res) => {
    const q = parseQuery(OneQuery, req.query);
    const ref = await referential();
    const e = ref.epcis.get(req.params.code);
    if (!e) throw new HttpError(404, `EPCI inconnu : « ${req.params.code} »`);
    return reply(req, res, ref, q.format, () => render(EPCI, [{ rec: e }], q, ref, true));
  });
  app.get(
    '/epcis/:code/communes',
    subCommunes('codeEpci', (ref, c) => ref.epcis.has(c)),
  );
}
