import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { settings } from '../../../config/settings';
import { pool } from '../../db/pool';
import { COMMUNE_CODE } from '../../communes/codes';
import { Feed, FeedEntry, renderAtom, renderJsonFeed } from '../../packs/feeds';
import { cachedBody, sendCached } from '../http/cache';
import { cachedManifest } from '../pack-files';
import { HttpError, parseOr400 } from '../http/errors';
import type { RouteDoc } from '../http/query';

/**
 * Change feeds (src/packs/feeds.ts):
 *   GET /communes/:code/changes.atom        one entry per kept pack version of the commune (Atom 1.0)
 *   GET /communes/:code/changes.feed.json   the same as JSON Feed 1.1
 *   GET /changes.atom, /changes.feed.json   every commune's new versions, newest first, paged:
 *                                           ?avant=<cursor> (the `next` link), ?par_page=1..500 (default 100)
 * A portal hosting many communes follows the national feed; a mairie its commune's.
 */
const ATOM = 'application/atom+xml; charset=utf-8';
const JSONFEED = 'application/feed+json; charset=utf-8';

const NationalQuery = z.object({
  avant: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .describe('cursor of the next (older) page, as given by the feed’s `next` link (Atom) or `next_url` (JSON Feed)'),
  par_page: z.coerce.number().int().min(1).max(500).default(100).describe('entries per page'),
});

/** What /openapi.json says about the feeds (src/server/routes/openapi.ts). */
const H = (description: string) => ({ description, schema: { type: 'string' } });
const FEED_HEADERS = { ETag: H('strong validator of the feed body'), 'Cache-Control': H('public, max-age=300') };
const ERROR = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };
const feedResponses = (type: string, what: string, errors: Record<number, string>) => ({
  200: {
    description: what,
    headers: FEED_HEADERS,
    content: { [type]: { schema: type.includes('json') ? { $ref: '#/components/schemas/JsonFeed' } : { type: 'string' } } },
  },
  304: { description: 'If-None-Match names the current ETag', headers: { ETag: FEED_HEADERS.ETag } },
  ...Object.fromEntries(Object.entries(errors).map(([code, description]) => [code, { description, content: ERROR }])),
});
const IF_NONE_MATCH = { 'If-None-Match': 'ETag of a copy already held: 304 when it is current' };
const COMMUNE_ERRORS = { 404: 'malformed or unknown commune code, or no pack built yet' };
const NATIONAL_ERRORS = { 400: 'invalid avant or par_page' };
const COMMUNE_FEED =
  'one entry per kept version of the commune’s pack, newest first: a French summary of what changed, the ZIP’s URL, size and SHA-256';
const NATIONAL_FEED = 'one entry per new pack version of any commune, newest first (each names its commune and build), paged with `avant`';
export const docs: RouteDoc[] = [
  {
    method: 'get',
    path: '/communes/{code}/changes.atom',
    tag: 'changes',
    summary: 'Change feed of one commune’s pack (Atom 1.0)',
    params: { code: 'commune code (INSEE)' },
    headers: IF_NONE_MATCH,
    responses: feedResponses('application/atom+xml', `Atom 1.0: ${COMMUNE_FEED}`, COMMUNE_ERRORS),
  },
  {
    method: 'get',
    path: '/communes/{code}/changes.feed.json',
    tag: 'changes',
    summary: 'Change feed of one commune’s pack (JSON Feed 1.1)',
    params: { code: 'commune code (INSEE)' },
    headers: IF_NONE_MATCH,
    responses: feedResponses('application/feed+json', `JSON Feed 1.1: ${COMMUNE_FEED}`, COMMUNE_ERRORS),
  },
  {
    method: 'get',
    path: '/changes.atom',
    tag: 'changes',
    summary: 'National change feed: the communes whose pack changed, build after build (Atom 1.0, paged by RFC 5005 `next` links)',
    query: NationalQuery,
    headers: IF_NONE_MATCH,
    responses: feedResponses('application/atom+xml', `Atom 1.0: ${NATIONAL_FEED}`, NATIONAL_ERRORS),
  },
  {
    method: 'get',
    path: '/changes.feed.json',
    tag: 'changes',
    summary: 'National change feed: the communes whose pack changed, build after build (JSON Feed 1.1, paged by `next_url`)',
    query: NationalQuery,
    headers: IF_NONE_MATCH,
    responses: feedResponses('application/feed+json', `JSON Feed 1.1: ${NATIONAL_FEED}`, NATIONAL_ERRORS),
  },
];

const base = () => settings().PUBLIC_BASE_URL.replace(/\/+$/, '');
const zipUrl = (code: string, version: string) => `${base()}/communes/${code}/pack/${version}.zip`;

function send(req: FastifyRequest, reply: FastifyReply, f: Feed, format: 'atom' | 'json'): FastifyReply {
  const body = format === 'atom' ? renderAtom(f) : JSON.stringify(renderJsonFeed(f), null, 2) + '\n';
  return sendCached(req, reply.header('cache-control', 'public, max-age=300'), cachedBody(body, format === 'atom' ? ATOM : JSONFEED));
}

async function communeFeed(req: FastifyRequest<{ Params: { code: string } }>, reply: FastifyReply, format: 'atom' | 'json') {
  const code = req.params.code.toUpperCase();
  if (!COMMUNE_CODE.test(code))
    throw new HttpError(404, `« ${req.params.code} » n’est pas un code de commune (5 caractères, par exemple 35238 ou 2A004)`);
  const {
    rows: [c],
  } = await pool().query(
    `select code, nom from communes where code = $1 and type in ('commune-actuelle', 'arrondissement-municipal') order by type limit 1`,
    [code],
  );
  if (!c) throw new HttpError(404, `aucune commune de code ${code}`);
  const m = await cachedManifest(settings().PACKS_DIR, code);
  if (!m?.versions.length) throw new HttpError(404, `aucun dossier de données construit pour ${c.nom} (${code})`);
  const url = `${base()}/communes/${code}/changes`;
  return send(
    req,
    reply,
    {
      id: `${url}.atom`,
      title: `Dotation de données de ${c.nom} (${code}) : nouvelles versions`,
      subtitle: `Chaque nouvelle version du dossier de données de ${c.nom}, avec ce qui a changé.`,
      homePage: `${base()}/communes/${code}/page`,
      atomUrl: `${url}.atom`,
      jsonUrl: `${url}.feed.json`,
      entries: m.versions.map((v) => ({
        code,
        nom: c.nom,
        version: v.version,
        date: v.createdAt,
        summary: v.summary ?? 'Nouvelle version du dossier de données.',
        sha256: v.sha256,
        bytes: v.bytes,
        url: zipUrl(code, v.version),
      })),
    },
    format,
  );
}

async function nationalFeed(req: FastifyRequest, reply: FastifyReply, format: 'atom' | 'json') {
  const { avant, par_page: size } = parseOr400(NationalQuery, req.query);
  const { rows } = await pool().query(
    `select v.id, v.code, coalesce(c.nom, v.code) as nom, v.version, v.build_id, v.created_at, v.sha256, v.bytes, v.summary
       from pack_versions v
       left join lateral (select nom from communes x where x.code = v.code and x.type in ('commune-actuelle', 'arrondissement-municipal')
                           order by x.type limit 1) c on true
      where $1::bigint is null or v.id < $1
      order by v.id desc limit $2`,
    [avant ?? null, size + 1],
  );
  const more = rows.length > size;
  const page = rows.slice(0, size);
  const paging = (ext: string, cursor: number) => `${base()}/changes.${ext}?avant=${cursor}${size !== 100 ? `&par_page=${size}` : ''}`;
  const last = page.at(-1);
  const entries: FeedEntry[] = page.map((r) => ({
    code: r.code,
    nom: r.nom,
    version: r.version,
    date: r.created_at.toISOString(),
    summary: r.summary,
    sha256: r.sha256,
    bytes: Number(r.bytes),
    url: zipUrl(r.code, r.version),
    build: r.build_id,
  }));
  return send(
    req,
    reply,
    {
      id: `${base()}/changes.atom`,
      title: 'Dotation de données : communes dont le dossier a changé',
      subtitle: 'Chaque nouvelle version du dossier de données d’une commune, la plus récente en premier, avec ce qui a changé.',
      homePage: `${base()}/`,
      atomUrl: avant ? paging('atom', avant) : `${base()}/changes.atom`,
      jsonUrl: avant ? paging('feed.json', avant) : `${base()}/changes.feed.json`,
      next: more && last ? { atom: paging('atom', Number(last.id)), json: paging('feed.json', Number(last.id)) } : undefined,
      entries,
    },
    format,
  );
}

export default async function changes(app: FastifyInstance): Promise<void> {
  app.get<{ Params: { code: string } }>('/communes/:code/changes.atom', (req, reply) => communeFeed(req, reply, 'atom'));
  app.get<{ Params: { code: string } }>('/communes/:code/changes.feed.json', (req, reply) => communeFeed(req, reply, 'json'));
  app.get('/changes.atom', (req, reply) => nationalFeed(req, reply, 'atom'));
  app.get('/changes.feed.json', (req, reply) => nationalFeed(req, reply, 'json'));
}
