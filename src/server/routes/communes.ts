import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { settings } from '../../../config/settings';
import { pool } from '../../db/pool';
import { COMMUNE_CODE } from '../../communes/codes';
import { PackManifest, VERSION_RE, latestVersion, versionPath } from '../../packs/store';
import { cachedManifest, matchesEtag, sendPackVersion } from '../pack-files';
import { openZipEntry } from '../../packs/zip';
import { COMMUNE, contentType, render } from '../geo/render';
import { OneCommuneQuery } from '../geo/schemas';
import { RouteDoc, parseQuery } from '../http/query';
import { HttpError, databaseUnavailable } from '../http/errors';
import { Referential, invalidateReferential, referential } from '../../communes/referential';
import { ResponseCache, cachedBody, rawQuery, sendCached, stampWith } from '../http/cache';

/**
 * Communes and their packs:
 *   GET /communes/:code                     summary: the geo.api answer (fields, format=geojson, geometry; rendered
 *                                           by src/server/geo/render.ts) + type, pack, donnees when no `fields`
 *   GET /communes/:code/pack.zip            latest pack (ETag, 304, Range)
 *   GET /communes/:code/pack                versions and files of the pack (JSON)
 *   GET /communes/:code/pack/:version.zip   one kept version
 *   GET /communes/:code/fichiers/:name      one file of the latest pack
 * A merged commune's old code answers 301 to the current commune's same route.
 *
 * What is advertised (summary, versions list, catalog) and what is served come from one place,
 * the manifest on disk (src/server/pack-files.ts). The pack routes need no PostgreSQL query: the
 * commune comes from the referential in memory (kept while PostgreSQL is down) or, when it was
 * never loaded, from the manifest itself.
 */

/** Current commune of an old code (merged commune), when there is exactly one. */
function successorOf(ref: Referential, code: string): string | null {
  const next = new Set(
    (ref.successors.get(code) ?? []).filter((c) => c.nature === 'ancienne' || c.nature === 'mouvement').map((c) => c.codeActuel),
  );
  next.delete(code);
  return next.size === 1 ? [...next][0] : null;
}

/** 301 to the same route of the current commune, query string kept. */
function redirectToCurrent(req: FastifyRequest, reply: FastifyReply, code: string, current: string): FastifyReply {
  const rest = req.url.split('?')[0].replace(/^\/communes\/[^/]+/, '');
  const qs = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
  return reply
    .code(301)
    .header('location', `/communes/${current}${rest}${qs}`)
    .send({ message: `la commune ${code} fait désormais partie de la commune ${current}`, code: current });
}

interface PackCommune {
  code: string;
  nom: string;
  manifest: PackManifest | null;
}

/**
 * The commune of `:code` on a pack route and its manifest; null when a 301 to the current commune
 * (old code) was sent. A malformed or unknown code is a 404.
 */
async function packCommune(req: FastifyRequest<{ Params: { code: string } }>, reply: FastifyReply): Promise<PackCommune | null> {
  const code = req.params.code.toUpperCase();
  if (!COMMUNE_CODE.test(code))
    throw new HttpError(404, `« ${req.params.code} » n’est pas un code de commune (5 caractères, par exemple 35238 ou 2A004)`);
  let ref: Referential | null = null;
  try {
    ref = await referential();
  } catch (err) {
    // PostgreSQL down before the referential was ever loaded: the manifest on disk still says what to serve.
    if (!databaseUnavailable(err)) throw err;
  }
  const rec = ref?.current.get(code);
  if (ref && !rec) {
    const current = successorOf(ref, code);
    if (current) {
      redirectToCurrent(req, reply, code, current);
      return null;
    }
    throw new HttpError(404, `aucune commune n’a le code ${code}`);
  }
  const manifest = await cachedManifest(settings().PACKS_DIR, code);
  if (!rec && !manifest)
    throw new HttpError(503, 'service momentanément indisponible : la base de données ne répond pas', { 'retry-after': '5' });
  return { code, nom: rec?.nom ?? manifest?.nom ?? code, manifest };
}

/** What /openapi.json says about the pack routes (src/server/routes/openapi.ts). */
const CODE_PARAM = { code: 'commune code (INSEE); an old code of a merged commune answers 301' };
const H = (description: string, schema: Record<string, unknown> = { type: 'string' }) => ({ description, schema });
const ZIP_HEADERS = {
  ETag: H('"<sha256 of the ZIP>": strong validator, the same for the same bytes'),
  'Last-Modified': H('when this version was built'),
  'Accept-Ranges': H('bytes'),
  'Cache-Control': H('latest: public, max-age=300; a version URL (/pack/<version>.zip): public, max-age=31536000, immutable'),
  'Content-Disposition': H('attachment; filename="dotation-<code>-<slug>-<version>.zip"'),
  'Content-Length': H('size in bytes', { type: 'integer' }),
};
const jsonErr = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});
const MOVED = {
  description: 'old code of a merged commune: the same route of the current commune',
  headers: { Location: H('/communes/<current code>/…, with the query string kept') },
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
};
const ZIP_RESPONSES = {
  200: { description: 'the ZIP', headers: ZIP_HEADERS, content: { 'application/zip': { schema: { type: 'string', format: 'binary' } } } },
  206: {
    description: 'one byte range of the ZIP (Range: bytes=…; If-Range with the ETag)',
    headers: { ...ZIP_HEADERS, 'Content-Range': H('bytes <start>-<end>/<size>') },
    content: { 'application/zip': { schema: { type: 'string', format: 'binary' } } },
  },
  301: MOVED,
  304: { description: 'If-None-Match names the current ETag', headers: { ETag: ZIP_HEADERS.ETag } },
  404: jsonErr('unknown or malformed commune code, or no pack built yet'),
  416: {
    description: 'unsatisfiable range',
    headers: { 'Content-Range': H('bytes */<size>') },
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  },
};
const ZIP_REQUEST_HEADERS = {
  'If-None-Match': 'ETag of a copy already held: 304 when it is current',
  Range:
    'bytes=<start>-[<end>] or bytes=-<suffix>: 206 (overlapping ranges merged; several disjoint ranges, or a malformed header: the whole ZIP, 200)',
  'If-Range': 'ETag: the range is honoured only when it is still current, else the whole ZIP',
};
export const docs: RouteDoc[] = [
  {
    method: 'get',
    path: '/communes/{code}/pack.zip',
    tag: 'packs',
    summary: "The commune's latest pack (ZIP: LISEZMOI, CSV, GeoJSON, datapackage.json, catalogue.csv)",
    params: CODE_PARAM,
    headers: ZIP_REQUEST_HEADERS,
    responses: ZIP_RESPONSES,
  },
  {
    method: 'get',
    path: '/communes/{code}/pack',
    tag: 'packs',
    summary: 'The versions kept of the commune’s pack and their files (sizes, SHA-256, URLs)',
    params: CODE_PARAM,
    responses: {
      200: {
        description: 'versions, latest first',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/PackVersions' } } },
      },
      301: MOVED,
      404: jsonErr('unknown or malformed commune code, or no pack built yet'),
    },
  },
  {
    method: 'get',
    path: '/communes/{code}/pack/{file}',
    tag: 'packs',
    summary: 'One kept version of the pack, by file name (<version>.zip); immutable once written',
    params: { ...CODE_PARAM, file: 'version file name, e.g. 2026.1.zip' },
    headers: ZIP_REQUEST_HEADERS,
    responses: { ...ZIP_RESPONSES, 400: jsonErr('not a version file name'), 404: jsonErr('unknown commune code or version') },
  },
  {
    method: 'get',
    path: '/communes/{code}/fichiers/{name}',
    tag: 'packs',
    summary: 'One file of the latest pack, by its name in the ZIP (population.csv, contour.geojson, LISEZMOI.md…)',
    params: { ...CODE_PARAM, name: 'file name, as listed by /communes/{code}/pack' },
    headers: { 'If-None-Match': 'ETag of a copy already held: 304 when it is current' },
    responses: {
      200: {
        description: 'the file, inline',
        headers: {
          ETag: H('"<sha256 of the file>"'),
          'Cache-Control': H('public, max-age=300'),
          'Content-Length': H('size', { type: 'integer' }),
        },
        content: {
          'text/csv': { schema: { type: 'string' } },
          'application/json': { schema: { type: 'object' } },
          'application/geo+json': { schema: { type: 'object' } },
          'text/markdown': { schema: { type: 'string' } },
        },
      },
      301: MOVED,
      304: { description: 'If-None-Match names the current ETag' },
      400: jsonErr('invalid file name'),
      404: jsonErr('unknown commune code, no pack, or no such file in it'),
    },
  },
  {
    method: 'get',
    path: '/communes/{code}/fichiers/changes.json',
    tag: 'changes',
    summary:
      'What the latest pack version changed since the previous one: datasets, files (relative to the previous file list), rows compared by each table’s primary key (added, removed, modified with the changed columns named)',
    params: CODE_PARAM,
    headers: { 'If-None-Match': 'ETag of a copy already held: 304 when it is current' },
    responses: {
      200: {
        description: 'changes.json of the latest version (the same file is in the ZIP of every version)',
        headers: { ETag: H('"<sha256 of the file>"'), 'Cache-Control': H('public, max-age=300') },
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Changes' } } },
      },
      301: MOVED,
      304: { description: 'If-None-Match names the current ETag' },
      404: jsonErr('unknown commune code, or no pack built yet'),
    },
  },
];

const CONTENT_TYPES: Record<string, string> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  geojson: 'application/geo+json',
};

/** `donnees` of a manifest written before it held them: the build ledger's, when it describes that very version. */
async function donneesFromLedger(code: string, version: string): Promise<Record<string, unknown>> {
  const {
    rows: [b],
  } = await pool().query(`select donnees from pack_builds where code = $1 and version = $2`, [code, version]);
  return b?.donnees ?? {};
}

export default async function communes(app: FastifyInstance): Promise<void> {
  const summaries = new ResponseCache(32 << 20);
  app.get<{ Params: { code: string } }>('/communes/:code', async (req, reply) => {
    // geo.api parameters, validated as on the list route (400 before anything else).
    const q = parseQuery(OneCommuneQuery, req.query);
    let ref = await referential();
    let rec = ref.current.get(req.params.code.toUpperCase());
    if (!rec) {
      const code = req.params.code.toUpperCase();
      if (!COMMUNE_CODE.test(code))
        throw new HttpError(404, `« ${req.params.code} » n’est pas un code de commune (5 caractères, par exemple 35238 ou 2A004)`);
      const current = successorOf(ref, code);
      if (current) return redirectToCurrent(req, reply, code, current);
      // A commune the cached referential does not have yet (published a moment ago): reload it once.
      invalidateReferential();
      ref = await referential();
      rec = ref.current.get(code);
      if (!rec) throw new HttpError(404, `aucune commune n’a le code ${code}`);
    }
    const code = rec.code;
    const found = rec;
    // The pack advertised is the manifest's latest version, the very one pack.zip serves; it is part of the cache key.
    const v = latestVersion(await cachedManifest(settings().PACKS_DIR, code));
    const cached = await summaries.fetch(await stampWith(ref), `${code}?${rawQuery(req)}|${v?.version}|${v?.sha256}`, async () => {
      const base = settings().PUBLIC_BASE_URL.replace(/\/+$/, '');
      const extra = {
        pack: v
          ? { url: `${base}/communes/${code}/pack.zip`, sha256: v.sha256, bytes: v.bytes, millesime: v.millesime, version: v.version }
          : null,
        donnees: v ? (v.donnees ?? (await donneesFromLedger(code, v.version))) : {},
      };
      // Without `fields`: the geo.api defaults, then type, pack and donnees (pack and donnees may also be asked by name).
      const body = await render(
        COMMUNE,
        [{ rec: found }],
        { ...q, defaults: [...COMMUNE.defaults, 'type', 'pack', 'donnees'] },
        ref,
        true,
        extra,
      );
      return cachedBody(JSON.stringify(body), contentType(q.format));
    });
    return sendCached(req, reply, cached);
  });

  // A ZIP is never compressed again: no compression hook on the download routes.
  app.get<{ Params: { code: string } }>('/communes/:code/pack.zip', { compress: false }, async (req, reply) => {
    const c = await packCommune(req, reply);
    if (!c) return reply;
    const v = latestVersion(c.manifest);
    if (!v) throw new HttpError(404, `le dossier de la commune ${c.code} n’est pas encore construit`);
    const dir = settings().PACKS_DIR;
    try {
      return await sendPackVersion(req, reply, dir, { code: c.code, nom: c.nom, version: v, immutable: false });
    } catch (err) {
      // The version file is gone: another process published a newer one (and pruned this one) since the
      // manifest was last checked. Read the manifest again and serve what it names now.
      if (!(err instanceof HttpError && err.statusCode === 404)) throw err;
      const now = latestVersion(await cachedManifest(dir, c.code, true));
      if (!now || now.version === v.version) throw err;
      return sendPackVersion(req, reply, dir, { code: c.code, nom: c.nom, version: now, immutable: false });
    }
  });

  app.get<{ Params: { code: string } }>('/communes/:code/pack', async (req, reply) => {
    const c = await packCommune(req, reply);
    if (!c) return reply;
    const m = c.manifest;
    if (!m?.versions.length) throw new HttpError(404, `le dossier de la commune ${c.code} n’est pas encore construit`);
    const base = settings().PUBLIC_BASE_URL.replace(/\/+$/, '');
    return {
      code: c.code,
      nom: c.nom,
      latest: m.latest,
      url: `${base}/communes/${c.code}/pack.zip`,
      versions: m.versions.map((v) => ({
        version: v.version,
        millesime: v.millesime,
        date: v.createdAt,
        sha256: v.sha256,
        bytes: v.bytes,
        url: `${base}/communes/${c.code}/pack/${v.version}.zip`,
        fichiers: v.files.map((f) => ({
          ...f,
          ...(v.version === m.latest ? { url: `${base}/communes/${c.code}/fichiers/${f.name}` } : {}),
        })),
      })),
    };
  });

  app.get<{ Params: { code: string; file: string } }>('/communes/:code/pack/:file', { compress: false }, async (req, reply) => {
    const c = await packCommune(req, reply);
    if (!c) return reply;
    const file = req.params.file;
    const version = file.endsWith('.zip') ? file.slice(0, -4) : '';
    if (!VERSION_RE.test(version) || version.includes('..'))
      throw new HttpError(400, `« ${file} » n’est pas un fichier de version de dossier (par exemple 2026.1.zip)`);
    const v = c.manifest?.versions.find((x) => x.version === version);
    if (!v) throw new HttpError(404, `la commune ${c.code} n’a pas de version ${version} de son dossier`);
    return sendPackVersion(req, reply, settings().PACKS_DIR, { code: c.code, nom: c.nom, version: v, immutable: true });
  });

  app.get<{ Params: { code: string; name: string } }>('/communes/:code/fichiers/:name', async (req, reply) => {
    const c = await packCommune(req, reply);
    if (!c) return reply;
    const name = req.params.name;
    if (name.includes('/') || name.includes('\\') || name.includes('..') || name.includes('\0'))
      throw new HttpError(400, `nom de fichier invalide : « ${name} »`);
    const v = latestVersion(c.manifest);
    // Only names listed in the manifest are served: nothing else can be reached.
    const f = v?.files.find((x) => x.name === name);
    if (!v || !f) throw new HttpError(404, `le dossier de ${c.code} n’a pas de fichier « ${name} »`);
    const etag = `"${f.sha256}"`;
    reply
      .header('etag', etag)
      .header('cache-control', 'public, max-age=300')
      .header('content-type', CONTENT_TYPES[name.split('.').pop()!] ?? 'application/octet-stream')
      .header('content-disposition', `inline; filename="${name}"`);
    if (matchesEtag(req.headers['if-none-match'], etag)) return reply.code(304).send();
    const entry = await openZipEntry(versionPath(settings().PACKS_DIR, c.code, v.version), name);
    if (!entry) throw new HttpError(404, `le dossier de ${c.code} n’a pas de fichier « ${name} »`);
    reply.header('content-length', String(entry.size));
    return reply.send(entry.stream);
  });
}
