import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import Fastify, { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { settings } from '../../config/settings';
import { installErrorHandling } from './http/errors';
import { installSecurity, trustProxy } from './http/security';
import { installHttpMetrics, startMetricsServer } from './metrics';
import { logger } from '../log';
import { closePools } from '../db/pool';
import { closeRedisConnections } from '../queue/connection';
import { notFoundPage } from '../site/pages';
import { FastPath, FastPathOptions, packFastPath } from './pack-fast';

/**
 * The HTTP server. Every file of `src/server/routes/` exports a default Fastify plugin
 * `(app) => Promise<void>` and is registered here, so routes live beside their topic
 * (communes and packs, API Territoire, geo.api, catalog, operator side).
 */
export async function buildServer(
  opts: {
    /** Log requests (the CLI's server: unless LOG_LEVEL is silent). */
    logger?: boolean;
    /** false: without the pack downloads' fast path (tests compare the two); an object: its options (tests). */
    packFastPath?: boolean | Pick<FastPathOptions, 'acceptingMs'>;
  } = {},
): Promise<FastifyInstance> {
  const s = settings();
  // Pack downloads answered before Fastify's lifecycle when all they need is in memory
  // (src/server/pack-fast.ts); set once the plug-ins whose headers it reproduces are installed.
  // `packFastPath: false` builds the server without it (tests compare the two).
  let fast: FastPath | null = null;
  let closing = false;
  const app: FastifyInstance = Fastify({
    // Fastify's own HTTP/1 server (lib/server.js, same timeouts), with the fast path in front of its handler.
    serverFactory: (handler, options) => {
      const o = options as { keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number };
      const server = http.createServer((req, res) => (fast ? fast(req, res, handler) : handler(req, res)));
      server.keepAliveTimeout = o.keepAliveTimeout ?? 72_000;
      server.requestTimeout = o.requestTimeout ?? 0;
      server.setTimeout(o.connectionTimeout ?? 0);
      return server;
    },
    trustProxy: trustProxy(s.TRUST_PROXY),
    // The process's one logger (src/log.ts: LOG_LEVEL, LOG_FORMAT), named `http`.
    ...(opts.logger ? { loggerInstance: logger().child({ name: 'http' }) as FastifyBaseLogger } : { logger: false }),
    // Ids of the API Territoire contain '/', ':' and '@'; routes answer with and without a trailing slash.
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 500 },
  });
  // One error body ({message}, in French) for every route and for unknown routes (src/server/http/errors.ts);
  // a browser (Accept: text/html) gets the site's French 404 page instead.
  installErrorHandling(app, { notFoundPage: (p) => notFoundPage(`Aucune page n’existe à l’adresse ${p}.`) });
  // CORS, security headers, rate limit, compression (src/server/http/security.ts).
  const publicHeaders = await installSecurity(app, s);
  // HTTP latency by route into the Prometheus metrics (src/server/metrics.ts, served at /metrics).
  installHttpMetrics(app);
  if (opts.packFastPath !== false) {
    fast = packFastPath({
      headers: publicHeaders,
      log: opts.logger ? app.log : undefined,
      closing: () => closing,
      ...(typeof opts.packFastPath === 'object' ? opts.packFastPath : {}),
    });
    app.decorate('packFastPath', fast);
    // Connections are read by the fast path's lane first (pack-lane.ts), then by node:http.
    fast?.attach(app.server);
    app.addHook('preClose', (done) => {
      closing = true;
      fast?.close();
      done();
    });
  }
  const dir = path.join(__dirname, 'routes');
  for (const f of fs
    .readdirSync(dir)
    .filter((x) => x.endsWith('.ts') && !x.endsWith('.d.ts'))
    .sort()) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(dir, f)) as { default?: (app: FastifyInstance) => Promise<void> };
    if (typeof mod.default !== 'function') throw new Error(`src/server/routes/${f} must export a default plugin`);
    await app.register(mod.default);
  }
  return app;
}

/**
 * Pending connections the kernel keeps for the server (listen(2) backlog, capped by
 * net.core.somaxconn): Node's default, 511, drops SYNs when a thousand clients connect at once,
 * and each dropped one waits a second before retrying.
 */
export const LISTEN_BACKLOG = 4096;

/** @public started by the CLI (`dotation serve`, `dotation start`), which loads this module lazily. */
export async function startServer(): Promise<FastifyInstance> {
  const s = settings();
  const app = await buildServer({ logger: s.LOG_LEVEL !== 'silent' });
  await app.listen({ port: s.PORT, host: s.HOST, backlog: LISTEN_BACKLOG });
  if (s.METRICS_PORT) {
    // Metrics without a token, on a listener of their own (a private network's scraper).
    const metrics = await startMetricsServer(s.METRICS_PORT, s.METRICS_HOST);
    app.addHook('onClose', (_app, done) => void metrics.close(() => done()));
    app.log.info(`metrics on http://${s.METRICS_HOST}:${s.METRICS_PORT}/metrics (no token)`);
  }
  app.log.info(`serving on http://${s.HOST}:${s.PORT}, public URL ${s.PUBLIC_BASE_URL} (packs from ${s.PACKS_DIR})`);
  stopOnSignals(app);
  return app;
}

/** How long requests in flight may take to finish after SIGTERM before the process exits anyway. */
const STOP_GRACE_MS = 10_000;

/**
 * SIGTERM or SIGINT (a process manager stopping the service, Ctrl-C; under `npx`, relayed by
 * bin/dotation.js): stop accepting connections, let the requests in flight finish (idle keep-alive
 * connections are closed at once), close the database and Redis connections, exit 0. Past
 * STOP_GRACE_MS, exit 1.
 */
function stopOnSignals(app: FastifyInstance): void {
  let stopping = false;
  // The handlers stay: a second signal (Ctrl-C reaches npx and the server, then bin/dotation.js relays npx's end) is ignored.
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    app.log.info(`${signal}: stopping (requests in flight finish first)`);
    setTimeout(() => {
      app.log.error(`still stopping after ${STOP_GRACE_MS / 1000} s: exiting`);
      process.exit(1);
    }, STOP_GRACE_MS).unref();
    app
      .close()
      .then(() => Promise.all([closePools(), closeRedisConnections()]))
      .then(
        () => {
          app.log.info('stopped');
          process.exit(0);
        },
        (err: Error) => {
          app.log.error(`stopping: ${err.message}`);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
