import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { settings } from '../../../config/settings';
import { referential } from '../../communes/referential';
import { openZipEntry } from '../../packs/zip';
import { versionPath } from '../../packs/store';
import { cachedManifest } from '../pack-files';
import { ResponseCache, cachedBody, sendCached, stampWith } from '../http/cache';
import type { RouteDoc } from '../http/query';
import { z } from 'zod';
import { STATIC_PREFIX, STATIC_ROOTS } from '../../site/assets';
import { communePageData } from '../../site/commune-data';
import { communePage } from '../../site/commune-page';
import { renderMarkdown } from '../../site/markdown';
import {
  accessibilityPage,
  codeNoticePage,
  fromPostcodeNotice,
  homePage,
  legalPage,
  notFoundPage,
  postcodeChoicePage,
  privacyPage,
  resultsPage,
  sharedPostcodeNotice,
} from '../../site/pages';
import { codeMeanings, searchCommunes } from '../../site/resolve';

/**
 * The public French site (src/site renders it): home and search, commune pages, notices for old
 * codes and postcodes, legal pages, and the static files (DSFR, Chart.js, the site's own script
 * and stylesheet) under /static. Rendered pages are cached as bytes with an ETag until the data
 * change, like the API answers (src/server/http/cache.ts).
 */
const HTML = 'text/html; charset=utf-8';

/** What /openapi.json says about the site's pages (HTML for people; the API is elsewhere). */
const page = (description: string) => ({ description, content: { 'text/html': { schema: { type: 'string' } } } });
export const docs: RouteDoc[] = [
  {
    method: 'get',
    path: '/',
    tag: 'site',
    summary: 'Home page (French): search a commune',
    responses: { 200: page('the page'), 404: page('never') },
  },
  {
    method: 'get',
    path: '/recherche',
    tag: 'site',
    summary: 'Search results page: communes by name (ranked as geo.api with boost=population), postcode or INSEE code',
    query: z.object({ q: z.string().max(100).optional().describe('name, postcode or INSEE code') }),
    responses: { 200: page('the results'), 404: page('never') },
  },
  {
    method: 'get',
    path: '/communes/{code}/page',
    tag: 'site',
    summary:
      'Commune page (French). A postcode of one commune answers 303 to its page; an old code or a shared postcode answers a notice page naming every meaning (the API routes keep their 301)',
    params: { code: 'INSEE code, old code or postcode' },
    query: z.object({
      cp: z
        .string()
        .regex(/^[0-9]{5}$/)
        .optional()
        .describe('postcode the visitor came from (shows a notice)'),
    }),
    responses: {
      200: page('the commune page, or a notice page for an old code or a shared postcode'),
      303: {
        description: 'a postcode of one commune',
        headers: { Location: { schema: { type: 'string' }, description: '/communes/<code>/page?cp=<postcode>' } },
      },
      404: page('French 404 page'),
    },
  },
  ...(['/mentions-legales', '/accessibilite', '/donnees-personnelles'] as const).map((path) => ({
    method: 'get' as const,
    path,
    tag: 'site',
    summary: {
      '/mentions-legales': 'Legal notice',
      '/accessibilite': 'Accessibility statement',
      '/donnees-personnelles': 'Personal data and cookies',
    }[path],
    responses: { 200: page('the page'), 404: page('never') },
  })),
];
const PAGE_HEADERS = { 'cache-control': 'public, max-age=60' };

function sendHtml(req: FastifyRequest, reply: FastifyReply, body: string, status = 200): FastifyReply {
  if (status !== 200) return reply.code(status).type(HTML).send(body);
  return sendCached(req, reply, cachedBody(body, HTML, PAGE_HEADERS));
}

async function readLisezmoi(code: string, version: string): Promise<string | null> {
  const entry = await openZipEntry(versionPath(settings().PACKS_DIR, code, version), 'LISEZMOI.md').catch(() => null);
  if (!entry) return null;
  const chunks: Buffer[] = [];
  for await (const c of entry.stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export default async function web(app: FastifyInstance): Promise<void> {
  for (const [i, r] of STATIC_ROOTS.entries())
    await app.register(fastifyStatic, {
      root: r.dir,
      prefix: `${STATIC_PREFIX}/${r.name}/`,
      decorateReply: i === 0,
      index: false,
      list: false,
      dotfiles: 'deny',
      // Versioned URLs (package version, or ?v=hash for the site's files): cached for long.
      maxAge: '30d',
      immutable: true,
    });

  const pages = new ResponseCache(64 << 20);
  const fixed = new Map<string, string>();
  const once = (key: string, render: () => string) => fixed.get(key) ?? fixed.set(key, render()).get(key)!;
  const publisher = () => ({
    name: settings().PUBLISHER_NAME ?? 'l’opérateur de ce service',
    contact: settings().PUBLISHER_CONTACT ?? null,
  });

  app.get('/', async (req, reply) => sendHtml(req, reply, once('/', homePage)));
  app.get('/mentions-legales', async (req, reply) => sendHtml(req, reply, legalPage(publisher())));
  app.get('/accessibilite', async (req, reply) => sendHtml(req, reply, accessibilityPage(publisher())));
  app.get('/donnees-personnelles', async (req, reply) => sendHtml(req, reply, privacyPage(publisher())));

  app.get<{ Querystring: { q?: string | string[] } }>('/recherche', async (req, reply) => {
    const raw = req.query.q;
    const q = (Array.isArray(raw) ? raw[0] : (raw ?? '')).slice(0, 100);
    const ref = await referential();
    const cached = await pages.fetch(await stampWith(ref), `recherche\n${q.trim().toLowerCase()}`, async () =>
      cachedBody(resultsPage(ref, q, searchCommunes(ref, q)), HTML, PAGE_HEADERS),
    );
    return sendCached(req, reply, cached);
  });

  app.get<{ Params: { code: string }; Querystring: { cp?: string } }>('/communes/:code/page', async (req, reply) => {
    const ref = await referential();
    const m = codeMeanings(ref, req.params.code);
    if (!m)
      return sendHtml(
        req,
        reply,
        notFoundPage(`« ${req.params.code} » n’est pas un code de commune (5 caractères, par exemple 35238 ou 2A004).`),
        404,
      );
    if (!m.commune) {
      if (m.ancien || m.postal.length > 1) {
        const body = m.ancien ? codeNoticePage(ref, m) : postcodeChoicePage(ref, m);
        return sendHtml(req, reply, body);
      }
      // A postcode of one commune: its page, with a notice saying so.
      if (m.postal.length === 1) return reply.redirect(`/communes/${m.postal[0].code}/page?cp=${m.code}`, 303);
      return sendHtml(
        req,
        reply,
        notFoundPage(`Aucune commune n’a le code ${m.code}, ni aujourd’hui ni autrefois, et ce n’est pas un code postal.`),
        404,
      );
    }
    const c = m.commune;
    const cp =
      typeof req.query.cp === 'string' && /^\d{5}$/.test(req.query.cp) && c.codesPostaux.includes(req.query.cp) ? req.query.cp : '';
    const cached = await pages.fetch(await stampWith(ref), `page\n${c.code}\n${cp}`, async () => {
      const manifest = await cachedManifest(settings().PACKS_DIR, c.code);
      const version = manifest?.versions[0] ?? null;
      const [data, lisezmoi] = await Promise.all([communePageData(ref, c), version ? readLisezmoi(c.code, version.version) : null]);
      const notices = [cp ? fromPostcodeNotice(cp, c) : null, sharedPostcodeNotice(ref, m)].filter((n) => n !== null);
      const body = communePage({ data, version, lisezmoi: lisezmoi ? renderMarkdown(lisezmoi) : null, notices });
      return cachedBody(body, HTML, PAGE_HEADERS);
    });
    return sendCached(req, reply, cached);
  });
}
