import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Queue } from 'bullmq';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { settings } from '../../../config/settings';
import { sourceRegistry } from '../../../config/sources';
import { pool } from '../../db/pool';
import { BROKEN, checkSources } from '../../harvest/check';
import { listTargets } from '../../publish/publish';
import { RedisUnavailableError, REQUEST_WAIT_MS, sharedQueue } from '../../queue/connection';
import { enqueuePacksBuild, PACKS_QUEUE, PacksBuildActiveError } from '../../queue/packs';
import { PUBLICATIONS_QUEUE } from '../../queue/publications';
import { enqueueRun, RUNS_QUEUE } from '../../queue/queue';
import { describeError, HttpError, parseOr400, queueUnavailable } from '../http/errors';
import { isOperatorToken } from '../http/operator-auth';
import {
  getRun,
  listRuns,
  packBuild,
  quarantinePage,
  RUN_STATUSES,
  runFiles,
  runsState,
  sourcesOverview,
  waitingJobs,
} from '../console/data';
import * as pages from '../console/pages';
import { CONSOLE, QUEUES_UI } from '../console/paths';
import { COOKIE, installSession, signIn, signedIn } from '../console/session';

/**
 * The operator console: HTML pages in French under /operator/console/ (sign-in, sources, runs
 * with live progress, a run's quarantine, run now and build packs with a confirmation, pack builds
 * by département, publications), Bull Board at /operator/queues, both behind the console's
 * sign-in (src/server/console/session.ts). The JSON operator API (/operator/runs, …) is another
 * plugin and keeps its bearer token; this one never accepts the bearer token, and that one never
 * accepts the cookie.
 */
const HTML = 'text/html; charset=utf-8';

const SOURCE_ID = z.string().regex(/^[a-z][a-z0-9-]*$/, 'identifiant de source invalide');
const PageQuery = z.object({ page: z.coerce.number().int().min(1).max(100_000).default(1) });
const RunsQuery = PageQuery.extend({
  source: z.union([SOURCE_ID, z.literal('')]).optional(),
  statut: z.union([z.enum(RUN_STATUSES), z.literal('')]).optional(),
  lance: SOURCE_ID.optional(),
  travail: z.string().max(200).optional(),
});
const IdParams = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });
const StateQuery = z.object({
  ids: z
    .string()
    .regex(/^(\d{1,15}(,\d{1,15}){0,199})?$/, 'liste de numéros de passages attendue')
    .default(''),
  apres: z.coerce.number().int().min(0).optional(),
});
const SignInBody = z.object({ jeton: z.string().max(1000).default(''), suite: z.string().max(2000).optional() });
const CheckBox = z.enum(['oui']).optional();
const BuildBody = z.object({ departements: z.string().max(2000).default(''), force: CheckBox });
const SignInQuery = z.object({ suite: z.string().max(2000).optional(), deconnecte: z.string().optional(), expire: z.string().optional() });

/** Where to go after signing in: only an address of the operator side, never another site. */
function safeNext(next: string | undefined): string {
  return next && /^\/operator(\/[^\\]*)?(\?[^\\]*)?$/.test(next) && !next.startsWith('//') ? next : CONSOLE;
}

/** Pages any visitor may load: the sign-in form and its POST. */
const OPEN = new Set(['/operator', `${CONSOLE}/connexion`]);

const sendPage = (reply: FastifyReply, body: string, status = 200) => reply.code(status).type(HTML).send(body);

export default async function operatorConsole(app: FastifyInstance): Promise<void> {
  const s = settings();
  await installSession(app, s);

  // Private pages: never stored by a cache or the browser's back-forward history of another user.
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('cache-control', 'no-store');
    return payload;
  });

  app.addHook('onRequest', async (req, reply) => {
    if (!settings().OPERATOR_TOKEN) throw new HttpError(503, 'la console d’exploitation est désactivée : définissez OPERATOR_TOKEN');
    const path = req.url.split('?')[0];
    if (OPEN.has(path) || signedIn(req, settings())) return;
    const hadSession = req.cookies?.[COOKIE] !== undefined;
    if ((req.method === 'GET' || req.method === 'HEAD') && !path.endsWith('.json') && !path.startsWith(`${QUEUES_UI}/api/`)) {
      const q = new URLSearchParams({ suite: req.url });
      if (hadSession) q.set('expire', '1');
      return reply.redirect(`${CONSOLE}/connexion?${q}`, 303);
    }
    throw new HttpError(401, 'connexion requise : connectez-vous à la console d’exploitation');
  });

  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const described = describeError(err);
    let { status, message } = described;
    if ((err as FastifyError)?.code?.startsWith('FST_CSRF_')) {
      status = 403;
      message = 'ce formulaire a expiré ou ne vient pas de la console : rechargez la page et recommencez';
    }
    if (status >= 500) req.log.error({ err }, `${req.method} ${req.url}: ${(err as Error)?.message ?? String(err)}`);
    reply.headers(described.headers);
    if (req.url.split('?')[0].endsWith('.json')) return reply.code(status).send({ message });
    const csrf = req.session && signedIn(req, settings()) ? reply.generateCsrf() : undefined;
    return sendPage(reply, pages.errorPage(status, message.charAt(0).toUpperCase() + message.slice(1) + '.', csrf), status);
  });

  // ------------------------------------------------------------ sign-in, sign-out

  app.get('/operator', async (_req, reply) => reply.redirect(CONSOLE, 303));

  app.get(`${CONSOLE}/connexion`, async (req, reply) => {
    const q = parseOr400(SignInQuery, req.query);
    if (signedIn(req, settings())) return reply.redirect(safeNext(q.suite), 303);
    return sendPage(
      reply,
      pages.signInPage({ csrf: reply.generateCsrf(), next: safeNext(q.suite), signedOut: q.deconnecte === '1', expired: q.expire === '1' }),
    );
  });

  app.post(
    `${CONSOLE}/connexion`,
    {
      preHandler: app.csrfProtection,
      // Guessing the token: at most 10 tries a quarter of an hour per client address (@fastify/rate-limit, when RATE_LIMIT_MAX > 0).
      config: {
        rateLimit: {
          max: 10,
          timeWindow: 15 * 60_000,
          allowList: () => false,
          errorResponseBuilder: (_req: FastifyRequest, ctx: { ttl: number }) =>
            new HttpError(429, `trop de tentatives de connexion depuis cette adresse ; réessayez dans ${Math.ceil(ctx.ttl / 60_000)} min`, {
              'retry-after': String(Math.max(1, Math.ceil(ctx.ttl / 1000))),
            }),
        },
      },
    },
    async (req, reply) => {
      const body = parseOr400(SignInBody, req.body, 'formulaire');
      const next = safeNext(body.suite);
      if (!isOperatorToken(body.jeton)) {
        req.log.warn({ ip: req.ip }, 'console: wrong operator token');
        return sendPage(
          reply,
          pages.signInPage({
            csrf: reply.generateCsrf(),
            next,
            error: body.jeton
              ? 'Jeton incorrect : ce n’est pas le jeton d’exploitation de ce serveur.'
              : 'Saisissez le jeton d’exploitation.',
          }),
          401,
        );
      }
      signIn(req);
      return reply.redirect(next, 303);
    },
  );

  app.post(`${CONSOLE}/deconnexion`, { preHandler: app.csrfProtection }, async (req, reply) => {
    req.session.delete();
    return reply.redirect(`${CONSOLE}/connexion?deconnecte=1`, 303);
  });

  // ------------------------------------------------------------ sources

  app.get(CONSOLE, async (_req, reply) => sendPage(reply, pages.sourcesPage(await sourcesOverview(), reply.generateCsrf())));

  app.get(`${CONSOLE}/sources/verification`, async (_req, reply) => {
    const csrf = reply.generateCsrf();
    if (settings().NETWORK === 'never')
      return sendPage(reply, pages.checkPage({ error: 'le réseau est désactivé sur ce serveur (NETWORK=never)' }, csrf));
    const checks = await checkSources(
      pool(),
      settings(),
      [...sourceRegistry().values()].map((p) => p.source),
    );
    // Broken resources first: they are what the operator must act on.
    checks.sort((a, b) => Number(BROKEN.has(b.status)) - Number(BROKEN.has(a.status)));
    return sendPage(reply, pages.checkPage({ checks, at: new Date() }, csrf));
  });

  const sourceOf = (id: string) => {
    const p = sourceRegistry().get(parseOr400(SOURCE_ID, id, 'source'));
    if (!p) throw new HttpError(404, `aucune source « ${id} »`);
    return p.source;
  };

  app.get<{ Params: { id: string } }>(`${CONSOLE}/sources/:id/lancer`, async (req, reply) =>
    sendPage(reply, pages.confirmRunPage(sourceOf(req.params.id), reply.generateCsrf())),
  );

  app.post<{ Params: { id: string } }>(`${CONSOLE}/sources/:id/lancer`, { preHandler: app.csrfProtection }, async (req, reply) => {
    const source = sourceOf(req.params.id);
    const { force } = parseOr400(z.object({ force: CheckBox }), req.body, 'formulaire');
    // Redis down: the error page (503, Retry-After) within REQUEST_WAIT_MS, not a request left hanging.
    const job = await enqueueRun(source.id, { trigger: 'api', force: force === 'oui', redisWaitMs: REQUEST_WAIT_MS }).catch(
      (err: unknown) => {
        throw err instanceof RedisUnavailableError ? queueUnavailable(`le passage de ${source.id} n’a pas été mis en file`) : err;
      },
    );
    return reply.redirect(`${CONSOLE}/passages?${new URLSearchParams({ lance: source.id, travail: String(job.id) })}`, 303);
  });

  // ------------------------------------------------------------ runs

  app.get(`${CONSOLE}/passages`, async (req, reply) => {
    const q = parseOr400(RunsQuery, req.query);
    const filter = { source: q.source || undefined, status: q.statut || undefined, page: q.page };
    const [{ runs, total }, waiting] = await Promise.all([listRuns(filter), waitingJobs()]);
    return sendPage(
      reply,
      pages.runsPage({
        ...filter,
        runs,
        total,
        waiting,
        sources: [...sourceRegistry().keys(), 'packs'].sort(),
        csrf: reply.generateCsrf(),
        enqueued: q.lance && q.travail ? { source: q.lance, job: q.travail } : undefined,
      }),
    );
  });

  // What assets/console.js polls: the runs a page shows (their status and counts) and whether newer runs began.
  app.get(`${CONSOLE}/passages/etat.json`, async (req) => {
    const q = parseOr400(StateQuery, req.query);
    const ids = q.ids ? q.ids.split(',').map(Number) : [];
    const { runs, newer } = await runsState(ids, q.apres ?? Number.MAX_SAFE_INTEGER);
    return {
      passages: runs.map((r) => ({
        id: r.id,
        statut: r.status,
        libelle: pages.statusLabel(r.status),
        termine: r.status !== 'running' && r.status !== 'queued',
        lues: r.read,
        chargees: r.loaded,
        rejetees: r.rejected,
        publiees: r.published,
        duree: pages.duration(r.startedAt, r.finishedAt),
      })),
      nouveaux: newer,
    };
  });

  const runOr404 = async (id: number) => {
    const run = await getRun(id);
    if (!run) throw new HttpError(404, `aucun passage n° ${id}`);
    return run;
  };

  app.get(`${CONSOLE}/passages/:id`, async (req, reply) => {
    const { id } = parseOr400(IdParams, req.params, 'chemin');
    const run = await runOr404(id);
    if (run.source === 'packs') return reply.redirect(`${CONSOLE}/dossiers/${id}`, 303);
    return sendPage(reply, pages.runPage(run, await runFiles(id), reply.generateCsrf()));
  });

  app.get(`${CONSOLE}/passages/:id/quarantaine`, async (req, reply) => {
    const { id } = parseOr400(IdParams, req.params, 'chemin');
    const { page } = parseOr400(PageQuery, req.query);
    const run = await runOr404(id);
    const { rows, total } = await quarantinePage(id, page);
    return sendPage(reply, pages.quarantinePage(run, rows, total, page, reply.generateCsrf()));
  });

  // ------------------------------------------------------------ pack builds

  app.get(`${CONSOLE}/dossiers`, async (req, reply) => {
    const { page } = parseOr400(PageQuery, req.query);
    const [{ runs, total }, waiting] = await Promise.all([listRuns({ source: 'packs', page }), waitingJobs()]);
    const packsWaiting = 'error' in waiting ? waiting : waiting.filter((j) => j.queue === PACKS_QUEUE);
    return sendPage(reply, pages.packBuildsPage({ runs, total, page, waiting: packsWaiting, csrf: reply.generateCsrf() }));
  });

  app.get(`${CONSOLE}/dossiers/construire`, async (_req, reply) => sendPage(reply, pages.confirmBuildPage(reply.generateCsrf())));

  app.post(`${CONSOLE}/dossiers/construire`, { preHandler: app.csrfProtection }, async (req, reply) => {
    const body = parseOr400(BuildBody, req.body, 'formulaire');
    const departements = body.departements
      .split(/[\s,;]+/)
      .filter(Boolean)
      .map((d) => d.toUpperCase());
    const bad = departements.filter((d) => !/^(\d{2}|2[AB]|\d{3})$/.test(d));
    if (bad.length)
      return sendPage(
        reply,
        pages.confirmBuildPage(reply.generateCsrf(), {
          message: `Code de département invalide : ${bad.join(', ')}.`,
          departements: body.departements,
        }),
        400,
      );
    try {
      const build = await enqueuePacksBuild({
        departements: departements.length ? departements : undefined,
        force: body.force === 'oui',
        trigger: 'api',
        redisWaitMs: REQUEST_WAIT_MS,
      });
      return reply.redirect(`${CONSOLE}/dossiers/${build.runId}`, 303);
    } catch (err) {
      if (err instanceof RedisUnavailableError) throw queueUnavailable('la construction des dossiers n’a pas été mise en file');
      const message =
        err instanceof PacksBuildActiveError
          ? 'Une autre construction n’est pas finie : une seule à la fois. Suivez-la sur cette page, et relancez quand elle sera finie.'
          : /no commune/.test((err as Error).message)
            ? `Aucune commune dans ${departements.join(', ')}.`
            : `La file d’attente ne répond pas : ${(err as Error).message}`;
      const status = err instanceof PacksBuildActiveError ? 409 : /no commune/.test((err as Error).message) ? 400 : 503;
      return sendPage(reply, pages.confirmBuildPage(reply.generateCsrf(), { message, departements: '' }), status);
    }
  });

  app.get(`${CONSOLE}/dossiers/:id`, async (req, reply) => {
    const { id } = parseOr400(IdParams, req.params, 'chemin');
    const build = await packBuild(id);
    if (!build) throw new HttpError(404, `aucune construction de dossiers n° ${id}`);
    return sendPage(reply, pages.packBuildPage(build, reply.generateCsrf()));
  });

  // ------------------------------------------------------------ publications

  app.get(`${CONSOLE}/publications`, async (_req, reply) =>
    sendPage(reply, pages.publicationsPage(await listTargets(), reply.generateCsrf())),
  );

  // ------------------------------------------------------------ Bull Board

  const board = new FastifyAdapter();
  board.setBasePath(QUEUES_UI);
  const { setQueues } = createBullBoard({
    queues: [],
    serverAdapter: board,
    options: {
      uiConfig: {
        boardTitle: 'Files d’attente',
        locale: { lng: 'fr-FR' },
        hideDocsLink: true,
        miscLinks: [{ text: 'Console d’exploitation', url: CONSOLE }],
      },
    },
  });
  // The queues are opened on the first visit (not when the server starts), and again if the
  // Redis settings changed (tests switch QUEUE_PREFIX).
  let shown: Queue | undefined;
  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith(QUEUES_UI)) return;
    const runs = sharedQueue(RUNS_QUEUE) as Queue;
    if (runs === shown) return;
    shown = runs;
    setQueues([runs, sharedQueue(PACKS_QUEUE) as Queue, sharedQueue(PUBLICATIONS_QUEUE) as Queue].map((q) => new BullMQAdapter(q)));
  });
  await app.register(board.registerPlugin(), { prefix: QUEUES_UI });
}
