import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CatalogFormat, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, buildCatalogPage } from '../../catalog/build';
import { toJsonLd, toRdfXml, toTurtle } from '../../catalog/rdf';
import { RouteDoc, parseQuery } from '../http/query';
import { HttpError } from '../http/errors';
import { referential } from '../../communes/referential';
import { CachedBody, ResponseCache, cachedBody, sendCached, stampWith } from '../http/cache';
import { settings } from '../../../config/settings';
import { latestVersion } from '../../packs/store';
import { cachedManifest } from '../pack-files';

/**
 * DCAT catalogs for data.gouv.fr's DCAT harvester: national (/catalog.{jsonld,ttl,rdf}) and per
 * commune (/communes/{code}/catalog.{jsonld,ttl,rdf}), Hydra-paged, 200 on every page, no redirect.
 * A rendered page (60–100 ms of CPU) is kept as bytes per (format, commune, page, page size) until
 * the packs or the publications change (territoire/cache.ts), and carries an ETag (304).
 */
export const CatalogQuery = z.object({
  page: z.string().regex(/^\d+$/, 'page doit être un entier ≥ 1').transform(Number).pipe(z.number().int().min(1)).optional(),
  page_size: z
    .string()
    .regex(/^\d+$/, `page_size doit être un entier de 1 à ${MAX_PAGE_SIZE}`)
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_PAGE_SIZE))
    .optional(),
});

const TYPES: Record<CatalogFormat, string> = {
  jsonld: 'application/ld+json; charset=utf-8',
  ttl: 'text/turtle; charset=utf-8',
  rdf: 'application/rdf+xml; charset=utf-8',
};
const FORMATS: CatalogFormat[] = ['jsonld', 'ttl', 'rdf'];

export const docs: RouteDoc[] = FORMATS.flatMap((f) => [
  {
    method: 'get' as const,
    path: `/catalog.${f}`,
    tag: 'catalog',
    summary: `National DCAT catalog (${f}), Hydra-paged`,
    query: CatalogQuery,
    produces: [TYPES[f].split(';')[0]],
    errors: { 400: 'bad page or page_size', 404: 'page beyond the last' },
  },
  {
    method: 'get' as const,
    path: `/communes/{code}/catalog.${f}`,
    tag: 'catalog',
    summary: `DCAT catalog of one commune (${f})`,
    params: { code: 'commune code' },
    query: CatalogQuery,
    produces: [TYPES[f].split(';')[0]],
    errors: { 400: 'bad page or page_size', 404: 'unknown commune or page beyond the last' },
  },
]);

const CACHE_CONTROL = { 'cache-control': 'public, max-age=300' };
const pages = new ResponseCache(128 << 20, 16 << 20);

async function render(format: CatalogFormat, code: string | undefined, page: number, pageSize: number) {
  const out = await buildCatalogPage({ code, page, pageSize, format });
  if ('error' in out) throw new HttpError(out.error, out.message);
  const body =
    format === 'jsonld' ? JSON.stringify(toJsonLd(out.graph)) : format === 'ttl' ? await toTurtle(out.graph) : toRdfXml(out.graph);
  return { ...cachedBody(body, TYPES[format], CACHE_CONTROL), deps: out.packs };
}

/**
 * Whether a cached page still describes the packs on disk: each commune's latest version is the one
 * it was rendered with (the builder writes manifests before the ledger the stamp reads).
 */
async function packsUnchanged(c: CachedBody): Promise<boolean> {
  const dir = settings().PACKS_DIR;
  const deps = (c.deps ?? []) as { code: string; sha256: string | null }[];
  const now = await Promise.all(deps.map((p) => cachedManifest(dir, p.code)));
  return deps.every((p, i) => (latestVersion(now[i])?.sha256 ?? null) === p.sha256);
}

async function serve(req: FastifyRequest, reply: FastifyReply, format: CatalogFormat, code?: string) {
  const { page, page_size } = parseQuery(CatalogQuery, req.query);
  const ref = await referential();
  if (code && !ref.current.has(code)) throw new HttpError(404, `commune inconnue : « ${code} »`);
  const p = page ?? 1;
  const size = page_size ?? DEFAULT_PAGE_SIZE;
  const c = await pages.fetch(
    await stampWith(ref),
    `${format}|${code ?? ''}|${p}|${size}`,
    () => render(format, code, p, size),
    packsUnchanged,
  );
  return sendCached(req, reply, c);
}

export default async function catalog(app: FastifyInstance): Promise<void> {
  for (const f of FORMATS) {
    app.get(`/catalog.${f}`, (req, reply) => serve(req, reply, f));
    app.get<{ Params: { code: string } }>(`/communes/:code/catalog.${f}`, (req, reply) =>
      serve(req, reply, f, req.params.code.toUpperCase()),
    );
  }
}
