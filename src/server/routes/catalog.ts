import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CatalogFormat, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, buildCatalogPage } from '../../catalog/build';
import { toJsonLd, toRdfXml, toTurtle } from '../../catalog/rdf';
import { HttpError, RouteDoc, parseQuery } from '../territoire/docs';
import { referential } from '../territoire/referential';

/**
 * DCAT catalogs for data.gouv.fr's DCAT harvester: national (/catalog.{jsonld,ttl,rdf}) and per
 * commune (/communes/{code}/catalog.{jsonld,ttl,rdf}), Hydra-paged, 200 on every page, no redirect.
 */
export const CatalogQuery = z.object({
  page: z.string().regex(/^\d+$/, 'page must be an integer ≥ 1').transform(Number).pipe(z.number().int().min(1)).optional(),
  page_size: z.string().regex(/^\d+$/, `page_size must be an integer in 1..${MAX_PAGE_SIZE}`).transform(Number).pipe(z.number().int().min(1).max(MAX_PAGE_SIZE)).optional(),
});

const TYPES: Record<CatalogFormat, string> = {
  jsonld: 'application/ld+json; charset=utf-8',
  ttl: 'text/turtle; charset=utf-8',
  rdf: 'application/rdf+xml; charset=utf-8',
};
const FORMATS: CatalogFormat[] = ['jsonld', 'ttl', 'rdf'];

export const docs: RouteDoc[] = FORMATS.flatMap((f) => [
  { method: 'get' as const, path: `/catalog.${f}`, tag: 'catalog', summary: `National DCAT catalog (${f}), Hydra-paged`, query: CatalogQuery, produces: [TYPES[f].split(';')[0]], errors: { 400: 'bad page or page_size', 404: 'page beyond the last' } },
  { method: 'get' as const, path: `/communes/{code}/catalog.${f}`, tag: 'catalog', summary: `DCAT catalog of one commune (${f})`, params: { code: 'commune code' }, query: CatalogQuery, produces: [TYPES[f].split(';')[0]], errors: { 400: 'bad page or page_size', 404: 'unknown commune or page beyond the last' } },
]);

async function serve(req: FastifyRequest, reply: FastifyReply, format: CatalogFormat, code?: string) {
  const { page, page_size } = parseQuery(CatalogQuery, req.query);
  if (code) {
    const ref = await referential();
    if (!ref.current.has(code)) throw new HttpError(404, `unknown commune '${code}'`);
  }
  const out = await buildCatalogPage({ code, page: page ?? 1, pageSize: page_size ?? DEFAULT_PAGE_SIZE, format });
  if ('error' in out) throw new HttpError(out.error, out.message);
  reply.type(TYPES[format]).header('cache-control', 'public, max-age=300');
  if (format === 'jsonld') return reply.send(JSON.stringify(toJsonLd(out.graph)));
  if (format === 'ttl') return reply.send(await toTurtle(out.graph));
  return reply.send(toRdfXml(out.graph));
}

export default async function catalog(app: FastifyInstance): Promise<void> {
  for (const f of FORMATS) {
    app.get(`/catalog.${f}`, (req, reply) => serve(req, reply, f));
    app.get<{ Params: { code: string } }>(`/communes/:code/catalog.${f}`, (req, reply) => serve(req, reply, f, req.params.code.toUpperCase()));
  }
}
