import http from 'node:http';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queue } from 'bullmq';
import { pool } from '../db/pool';
import { sharedQueue } from '../queue/connection';
import { RUNS_QUEUE } from '../queue/queue';
import { PACKS_QUEUE } from '../queue/packs';
import { PUBLICATIONS_QUEUE } from '../queue/publications';

/**
 * Prometheus metrics (prom-client), one registry for the process, read at `GET /metrics`.
 *
 * Run figures come from the `runs` ledger at scrape time, not from counters kept in memory: runs
 * happen in worker processes, on any number of machines, and the ledger is the one place that
 * sees them all and survives restarts, so one scrape of any API process gives the whole fleet
 * without double counting. The ledger is never pruned, so its totals only grow (counters).
 * Queue depth is asked of Redis at scrape time; HTTP latency is this process's own.
 */
const registry = new Registry();
let started = false;

/** Finished statuses (counted by dotation_runs_total); 'queued' and 'running' are in progress. */
const FINISHED = ['succeeded', 'unchanged', 'failed', 'interrupted', 'refused'];
/** Upper bounds of the run duration buckets, in seconds (a second to half a day: a BAN load takes hours). */
const RUN_BUCKETS = [1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400, 43200];
/** SQL counting the runs of each duration bucket (the bounds are the numeric constants above). */
const BUCKET_COUNTS = RUN_BUCKETS.map((le) => `count(*) filter (where d <= ${Number(le)})`).join(', ');
/** Upper bounds of the HTTP latency buckets, in seconds. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** A scrape never waits longer than this on PostgreSQL or Redis: it reports them down instead. */
const SCRAPE_TIMEOUT_MS = 2000;

/** The queues the workers consume (dotation worker): source runs, pack builds, publications to data.gouv.fr. */
const QUEUES = [RUNS_QUEUE, PACKS_QUEUE, PUBLICATIONS_QUEUE];
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed'] as const;

interface LedgerRow {
  source: string;
  status: string;
  runs: number;
  read: number;
  loaded: number;
  rejected: number;
  published: number;
  seconds: number;
  buckets: number[];
}
interface Ledger {
  finished: LedgerRow[];
  inProgress: { source: string; status: string; runs: number }[];
  lastSuccess: { source: string; at: number }[];
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${SCRAPE_TIMEOUT_MS} ms`)), SCRAPE_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function readLedger(): Promise<Ledger> {
  const db = pool();
  const [finished, inProgress, lastSuccess] = await Promise.all([
    db.query(
      `select source, status, count(*)::int as runs,
              coalesce(sum(rows_read), 0)::float8 as read, coalesce(sum(rows_loaded), 0)::float8 as loaded,
              coalesce(sum(rows_rejected), 0)::float8 as rejected, coalesce(sum(rows_published), 0)::float8 as published,
              coalesce(sum(d), 0)::float8 as seconds,
              array[${BUCKET_COUNTS}]::int[] as buckets
         from (select *, greatest(extract(epoch from finished_at - started_at), 0)::float8 as d
                 from runs where status = any($1::text[]) and finished_at is not null) r
        group by source, status order by source, status`,
      [FINISHED],
    ),
    db.query(`select source, status, count(*)::int as runs from runs where status in ('queued', 'running') group by 1, 2`),
    db.query(
      `select source, extract(epoch from max(finished_at))::float8 as at from runs where status in ('succeeded', 'unchanged') group by 1`,
    ),
  ]);
  return { finished: finished.rows, inProgress: inProgress.rows, lastSuccess: lastSuccess.rows };
}

/**
 * What one scrape reads, once, shared by the metrics below: the ledger (PostgreSQL) and the
 * queues' job counts (Redis). `metricsText()` takes a new one for every scrape; null = no answer.
 */
interface Snapshot {
  ledger: Promise<Ledger | null>;
  queues: Promise<Record<string, number>[] | null>;
}
let snapshot: Snapshot | undefined;
function takeSnapshot(): Snapshot {
  return {
    ledger: withTimeout(readLedger(), 'PostgreSQL').catch(() => null),
    queues: withTimeout(Promise.all(QUEUES.map((q) => (sharedQueue(q) as Queue).getJobCounts(...QUEUE_STATES))), 'Redis').catch(() => null),
  };
}
const currentLedger = () => (snapshot ??= takeSnapshot()).ledger;
const currentQueueCounts = () => (snapshot ??= takeSnapshot()).queues;

const DURATION_HELP = 'Duration of finished runs (started to finished), by source and final status';

/** A histogram whose buckets are counted by PostgreSQL over the ledger (not observed in this process). */
class LedgerDurations extends Histogram<'source' | 'status'> {
  override async get() {
    return this.getForPromString();
  }

  /** What the registry calls for the text format (prom-client's lib/registry.js), `get()` for JSON. */
  async getForPromString() {
    const l = await currentLedger();
    const name = 'dotation_run_duration_seconds';
    const values = (l?.finished ?? []).flatMap((r) => {
      const labels = { source: r.source, status: r.status };
      return [
        ...RUN_BUCKETS.map((le, i) => ({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: Number(r.buckets[i]) })),
        { metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: r.runs },
        { metricName: `${name}_sum`, labels, value: r.seconds },
        { metricName: `${name}_count`, labels, value: r.runs },
      ];
    });
    // What the registry reads (lib/registry.js): the typings call `type` an enum and want `collect`; at run time it is the string.
    return { name, help: DURATION_HELP, type: 'histogram', values, aggregator: 'sum' } as unknown as Awaited<
      ReturnType<Histogram<'source' | 'status'>['get']>
    >;
  }
}

new Gauge({
  name: 'dotation_metrics_backend_up',
  help: 'Whether this scrape could read the backend (database: the runs ledger; redis: the queues): 1 yes, 0 no',
  labelNames: ['backend'],
  registers: [registry],
  async collect() {
    const [l, q] = await Promise.all([currentLedger(), currentQueueCounts()]);
    this.set({ backend: 'database' }, l ? 1 : 0);
    this.set({ backend: 'redis' }, q ? 1 : 0);
  },
});

new Counter({
  name: 'dotation_runs_total',
  help: 'Finished runs in the ledger, by source and final status (a fan-out pack build is source "packs")',
  labelNames: ['source', 'status'],
  registers: [registry],
  async collect() {
    const l = await currentLedger();
    this.reset();
    for (const r of l?.finished ?? []) this.inc({ source: r.source, status: r.status }, r.runs);
  },
});

new Gauge({
  name: 'dotation_runs_in_progress',
  help: 'Runs queued or running now, by source and status',
  labelNames: ['source', 'status'],
  registers: [registry],
  async collect() {
    const l = await currentLedger();
    this.reset();
    for (const r of l?.inProgress ?? []) this.set({ source: r.source, status: r.status }, r.runs);
  },
});

new Counter({
  name: 'dotation_run_rows_total',
  help: 'Rows of finished runs, by source and kind: read, loaded, rejected (quarantined), published',
  labelNames: ['source', 'kind'],
  registers: [registry],
  async collect() {
    const l = await currentLedger();
    this.reset();
    const sums = new Map<string, Record<'read' | 'loaded' | 'rejected' | 'published', number>>();
    for (const r of l?.finished ?? []) {
      const s = sums.get(r.source) ?? { read: 0, loaded: 0, rejected: 0, published: 0 };
      for (const k of ['read', 'loaded', 'rejected', 'published'] as const) s[k] += r[k];
      sums.set(r.source, s);
    }
    for (const [source, s] of sums) for (const [kind, n] of Object.entries(s)) this.inc({ source, kind }, n);
  },
});

new Gauge({
  name: 'dotation_run_last_success_timestamp_seconds',
  help: 'End of the last run that succeeded or found its inputs unchanged, by source (Unix time)',
  labelNames: ['source'],
  registers: [registry],
  async collect() {
    const l = await currentLedger();
    this.reset();
    for (const r of l?.lastSuccess ?? []) this.set({ source: r.source }, r.at);
  },
});

new LedgerDurations({
  name: 'dotation_run_duration_seconds',
  help: DURATION_HELP,
  labelNames: ['source', 'status'],
  buckets: RUN_BUCKETS,
  registers: [registry],
});

new Gauge({
  name: 'dotation_queue_jobs',
  help: 'Jobs of each BullMQ queue by state (waiting, active, delayed, prioritized, waiting-children, failed)',
  labelNames: ['queue', 'state'],
  registers: [registry],
  async collect() {
    const counts = await currentQueueCounts();
    this.reset();
    QUEUES.forEach((queue, i) => {
      if (counts) for (const state of QUEUE_STATES) this.set({ queue, state }, counts[i][state] ?? 0);
    });
  },
});

const httpDuration = new Histogram({
  name: 'dotation_http_request_duration_seconds',
  help: 'Time to answer HTTP requests in this process, by method, route pattern and status code',
  labelNames: ['method', 'route', 'status_code'],
  buckets: HTTP_BUCKETS,
  registers: [registry],
});

/**
 * Times every answer of `app` into dotation_http_request_duration_seconds. The route label is the
 * route's pattern (`/communes/:code/pack.zip`), never the URL, so the series stay few; requests
 * that match no route are "unmatched".
 */
export function installHttpMetrics(app: FastifyInstance): void {
  if (!started) {
    started = true;
    // Process metrics (CPU, memory, event loop lag, handles) of this process.
    collectDefaultMetrics({ register: registry });
  }
  app.addHook('onResponse', (req, reply, done) => {
    httpDuration.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });
}

/**
 * For answers timed outside Fastify's lifecycle (the pack downloads' fast path,
 * src/server/pack-fast.ts): the observer of one (method, route, status) series of the same
 * histogram, with the same labels as the hook above would give it; made once per series (prom-client's
 * child), so an answer does not build and hash a labels object.
 */
const httpObservers = new Map<string, (seconds: number) => void>();
export function httpObserver(method: string, route: string, statusCode: number): (seconds: number) => void {
  const key = `${method} ${statusCode} ${route}`;
  let o = httpObservers.get(key);
  if (!o) {
    if (httpObservers.size >= 1000) httpObservers.clear();
    o = httpDuration.labels(method, route, String(statusCode)).observe;
    httpObservers.set(key, o);
  }
  return o;
}

/** The exposition (Prometheus text format 0.0.4) and its content type. */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  snapshot = takeSnapshot();
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/**
 * A second listener answering only `GET /metrics`, without a token (METRICS_PORT): for a scraper
 * on a private network. Anything else answers 404.
 */
export async function startMetricsServer(port: number, host: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('seul GET /metrics est servi ici\n');
      return;
    }
    metricsText().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`métriques indisponibles : ${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
