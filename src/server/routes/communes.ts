import fs from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { settings } from '../../../config/settings';
import { pool } from '../../db/pool';
import { COMMUNE_CODE } from '../../communes/codes';
import { slugify } from '../../packs/format';
import { PackManifest, PackVersion, VERSION_RE, versionPath } from '../../packs/store';
import { cachedManifest, cachedZip } from '../pack-files';
import { openZipEntry } from '../../packs/zip';
import { COMMUNE, contentType, render } from '../geo/render';
import { OneCommuneQuery } from '../geo/schemas';
import { parseQuery } from '../http/query';
import { HttpError } from '../http/errors';
import { invalidateReferential, referential } from '../../communes/referential';
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
 */
const PACK_TYPES = ['commune-actuelle', 'arrondissement-municipal'];

interface CommuneSummaryRow {
  code: string;
  type: string;
  nom: string;
  departement: string | null;
  region: string | null;
  siren: string | null;
  epci: string | null;
  codes_postaux: string[];
  population: number | null;
}

async function findCommune(code: string): Promise<CommuneSummaryRow | null> {
  const { rows } = await pool().query(
    `select code, type, nom, departement, region, siren, epci, codes_postaux, population from communes
      where code = $1 and type = any($2::text[]) order by type limit 1`,
    [code, PACK_TYPES],
  );
  return rows[0] ?? null;
}

/** Current commune of an old code (merged commune), when there is exactly one. */
async function currentCodeOf(code: string): Promise<string | null> {
  const { rows } = await pool().query(
    `select distinct code_actuel from commune_correspondance where code = $1 and code_actuel <> $1 and nature in ('ancienne', 'mouvement')`,
    [code],
  );
  return rows.length === 1 ? rows[0].code_actuel : null;
}

/**
 * Resolves `:code` of the request: the commune row, or null when a 301 to the current commune
 * (old code) was sent; an unknown or malformed code throws a 404.
 */
async function resolve(req: FastifyRequest<{ Params: { code: string } }>, reply: FastifyReply): Promise<CommuneSummaryRow | null> {
  const code = req.params.code.toUpperCase();
  if (!COMMUNE_CODE.test(code)) {
    throw new HttpError(404, `« ${req.params.code} » n’est pas un code de commune (5 caractères, par exemple 35238 ou 2A004)`);
  }
  const c = await findCommune(code);
  if (c) return c;
  const current = await currentCodeOf(code);
  if (current) {
    const rest = req.url.split('?')[0].replace(/^\/communes\/[^/]+/, '');
    const qs = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
    await reply
      .code(301)
      .header('location', `/communes/${current}${rest}${qs}`)
      .send({ message: `la commune ${code} fait désormais partie de la commune ${current}`, code: current });
    return null;
  }
  throw new HttpError(404, `aucune commune n’a le code ${code}`);
}

async function manifestOf(code: string): Promise<PackManifest | null> {
  return cachedManifest(settings().PACKS_DIR, code);
}

function etagOf(v: PackVersion): string {
  return `"${v.sha256}"`;
}

function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch
    .split(',')
    .map((x) => x.trim().replace(/^W\//, ''))
    .some((x) => x === etag || x === '*');
}

/** Streams a ZIP version with ETag, Last-Modified, 304 and single-range 206 support. */
async function sendZip(req: FastifyRequest, reply: FastifyReply, c: CommuneSummaryRow, v: PackVersion): Promise<FastifyReply> {
  const file = versionPath(settings().PACKS_DIR, c.code, v.version);
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(file);
  } catch {
    throw new HttpError(404, `la version ${v.version} du dossier de ${c.code} n’est plus sur le disque`);
  }
  const etag = etagOf(v);
  reply
    .header('etag', etag)
    .header('last-modified', new Date(v.createdAt).toUTCString())
    .header('accept-ranges', 'bytes')
    .header('cache-control', 'public, max-age=300')
    .header('content-type', 'application/zip')
    .header('content-disposition', `attachment; filename="dotation-${c.code}-${slugify(c.nom)}-${v.version}.zip"`);
  if (matches(req.headers['if-none-match'] as string | undefined, etag)) return reply.code(304).send();
  const size = stat.size;
  const range = req.headers.range;
  const ifRange = req.headers['if-range'] as string | undefined;
  if (range && (!ifRange || ifRange === etag)) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    let start = NaN;
    let end = NaN;
    if (m && (m[1] || m[2])) {
      if (m[1]) {
        start = Number(m[1]);
        end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
      } else {
        start = Math.max(0, size - Number(m[2]));
        end = size - 1;
      }
    }
    if (!m || Number.isNaN(start) || start > end || start >= size) {
      return reply
        .code(416)
        .header('content-range', `bytes */${size}`)
        .header('content-type', 'application/json; charset=utf-8')
        .send({ message: `plage non satisfaisable : « ${range} » (taille ${size} octets)` });
    }
    reply
      .code(206)
      .header('content-range', `bytes ${start}-${end}/${size}`)
      .header('content-length', String(end - start + 1));
    const small = await cachedZip(file, stat);
    return reply.send(small ? small.subarray(start, end + 1) : fs.createReadStream(file, { start, end }));
  }
  reply.header('content-length', String(size));
  // Small packs (most communes) from memory: a version file never changes once written.
  return reply.send((await cachedZip(file, stat)) ?? fs.createReadStream(file));
}

const CONTENT_TYPES: Record<string, string> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  geojson: 'application/geo+json',
};

export default async function communes(app: FastifyInstance): Promise<void> {
  const summaries = new ResponseCache(32 << 20);
  app.get<{ Params: { code: string } }>('/communes/:code', async (req, reply) => {
    // geo.api parameters, validated as on the list route (400 before anything else).
    const q = parseQuery(OneCommuneQuery, req.query);
    let ref = await referential();
    let rec = ref.current.get(req.params.code.toUpperCase());
    if (!rec) {
      // Malformed (404), old code (301) or unknown (404); a row the cached referential does not have yet reloads it.
      const c = await resolve(req, reply);
      if (!c) return reply;
      invalidateReferential();
      ref = await referential();
      rec = ref.current.get(c.code);
      if (!rec) throw new HttpError(404, `aucune commune n’a le code ${c.code}`);
    }
    const code = rec.code;
    const found = rec;
    const cached = await summaries.fetch(await stampWith(ref), `${code}?${rawQuery(req)}`, async () => {
      const {
        rows: [b],
      } = await pool().query(`select version, sha256, bytes, millesime, donnees from pack_builds where code = $1`, [code]);
      const base = settings().PUBLIC_BASE_URL.replace(/\/+$/, '');
      const extra = {
        pack: b
          ? {
              url: `${base}/communes/${code}/pack.zip`,
              sha256: b.sha256,
              bytes: Number(b.bytes),
              millesime: b.millesime,
              version: b.version,
            }
          : null,
        donnees: b?.donnees ?? {},
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

  app.get<{ Params: { code: string } }>('/communes/:code/pack.zip', async (req, reply) => {
    const c = await resolve(req, reply);
    if (!c) return reply;
    const m = await manifestOf(c.code);
    if (!m?.versions.length) throw new HttpError(404, `le dossier de la commune ${c.code} n’est pas encore construit`);
    return sendZip(req, reply, c, m.versions[0]);
  });

  app.get<{ Params: { code: string } }>('/communes/:code/pack', async (req, reply) => {
    const c = await resolve(req, reply);
    if (!c) return reply;
    const m = await manifestOf(c.code);
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

  app.get<{ Params: { code: string; file: string } }>('/communes/:code/pack/:file', async (req, reply) => {
    const c = await resolve(req, reply);
    if (!c) return reply;
    const file = req.params.file;
    const version = file.endsWith('.zip') ? file.slice(0, -4) : '';
    if (!VERSION_RE.test(version) || version.includes('..'))
      throw new HttpError(400, `« ${file} » n’est pas un fichier de version de dossier (par exemple 2026.1.zip)`);
    const v = (await manifestOf(c.code))?.versions.find((x) => x.version === version);
    if (!v) throw new HttpError(404, `la commune ${c.code} n’a pas de version ${version} de son dossier`);
    return sendZip(req, reply, c, v);
  });

  app.get<{ Params: { code: string; name: string } }>('/communes/:code/fichiers/:name', async (req, reply) => {
    const c = await resolve(req, reply);
    if (!c) return reply;
    const name = req.params.name;
    if (name.includes('/') || name.includes('\\') || name.includes('..') || name.includes('\0'))
      throw new HttpError(400, `nom de fichier invalide : « ${name} »`);
    const m = await manifestOf(c.code);
    const v = m?.versions[0];
    // Only names listed in the manifest are served: nothing else can be reached.
    const f = v?.files.find((x) => x.name === name);
    if (!v || !f) throw new HttpError(404, `le dossier de ${c.code} n’a pas de fichier « ${name} »`);
    const etag = `"${f.sha256}"`;
    reply
      .header('etag', etag)
      .header('cache-control', 'public, max-age=300')
      .header('content-type', CONTENT_TYPES[name.split('.').pop()!] ?? 'application/octet-stream')
      .header('content-disposition', `inline; filename="${name}"`);
    if (matches(req.headers['if-none-match'] as string | undefined, etag)) return reply.code(304).send();
    const entry = await openZipEntry(versionPath(settings().PACKS_DIR, c.code, v.version), name);
    if (!entry) throw new HttpError(404, `le dossier de ${c.code} n’a pas de fichier « ${name} »`);
    reply.header('content-length', String(entry.size));
    return reply.send(entry.stream);
  });
}
