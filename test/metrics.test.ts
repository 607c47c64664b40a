import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { freshDatabase } from './helpers/db';
import { resetSettings } from '../config/settings';
import { runSource } from '../src/engine/runner';
import { buildServer } from '../src/server/app';
import { startMetricsServer } from '../src/server/metrics';
import { closeQueues, enqueueRun, runsQueue } from '../src/queue/queue';
import { closeRedisConnections } from '../src/queue/connection';
import { closePacksQueue } from '../src/queue/packs';
import { closePublicationsQueue } from '../src/queue/publications';

/**
 * GET /metrics (prom-client): behind the operator token, an exposition that a Prometheus text
 * parser reads, run figures that move after a run (read from the runs ledger), queue depth from
 * Redis, HTTP latency by route pattern; the METRICS_PORT listener without a token.
 */
// A parser of the Prometheus text format ported from the Prometheus Python client: it throws on any
// line that is not the format. It flattens labelled histograms, so the samples are read below too.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const parsePrometheus = require('parse-prometheus-text-format') as (text: string) => { name: string; type: string }[];

interface Scrape {
  /** Family name → TYPE, from the parser. */
  types: Map<string, string>;
  /** Every sample line: metric name (with its _bucket/_sum/_count suffix), labels, value. */
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

function read(text: string): Scrape {
  const types = new Map(parsePrometheus(text).map((f) => [f.name, f.type]));
  const samples = text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(l);
      if (!m) throw new Error(`not a sample line: ${l}`);
      const labels = Object.fromEntries(
        [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]),
      );
      return { name: m[1], labels, value: Number(m[3]) };
    });
  return { types, samples };
}

const TOKEN = 'metrics-token-for-tests-0123456789';
let db: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;

beforeAll(async () => {
  db = await freshDatabase({ OPERATOR_TOKEN: TOKEN });
  app = await buildServer();
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await runsQueue()
    .obliterate({ force: true })
    .catch(() => undefined);
  await Promise.all([closeQueues(), closePacksQueue(), closePublicationsQueue()]);
  await closeRedisConnections();
  await db.cleanup();
});

async function scrape(): Promise<Scrape> {
  const res = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return read(res.body);
}

const matches = (labels: Record<string, string>, want: Record<string, string>) => Object.entries(want).every(([k, v]) => labels[k] === v);
/** The value of one series (0 when absent). */
function value(s: Scrape, name: string, labels: Record<string, string>): number {
  return s.samples.find((x) => x.name === name && matches(x.labels, labels))?.value ?? 0;
}
/** A histogram series: its cumulative buckets by `le`, sum and count. */
function histogram(s: Scrape, name: string, labels: Record<string, string>) {
  const buckets = s.samples
    .filter((x) => x.name === `${name}_bucket` && matches(x.labels, labels))
    .map((x) => [x.labels.le, x.value] as const);
  return { buckets, sum: value(s, `${name}_sum`, labels), count: value(s, `${name}_count`, labels) };
}

describe('/metrics', () => {
  test('needs the operator token', async () => {
    expect((await app.inject({ url: '/metrics' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    // Not a public route: no CORS header.
    const res = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}`, origin: 'https://x.example' } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  test('the exposition parses, with the documented families and types', async () => {
    const m = await scrape();
    expect(Object.fromEntries([...m.types].filter(([k]) => k.startsWith('dotation_')))).toEqual({
      dotation_metrics_backend_up: 'GAUGE',
      dotation_runs_total: 'COUNTER',
      dotation_runs_in_progress: 'GAUGE',
      dotation_run_rows_total: 'COUNTER',
      dotation_run_last_success_timestamp_seconds: 'GAUGE',
      dotation_run_duration_seconds: 'HISTOGRAM',
      dotation_queue_jobs: 'GAUGE',
      dotation_http_request_duration_seconds: 'HISTOGRAM',
    });
    // Process metrics of prom-client too.
    expect(m.types.get('process_resident_memory_bytes')).toBe('GAUGE');
    expect(value(m, 'dotation_metrics_backend_up', { backend: 'database' })).toBe(1);
    expect(value(m, 'dotation_metrics_backend_up', { backend: 'redis' })).toBe(1);
  });

  test('counters move after a run: runs by source and status, rows read/loaded/rejected, durations', async () => {
    const before = await scrape();
    const r = await runSource('populations', { trigger: 'test', log: () => undefined }); // embedded default
    expect(r.status).toBe('succeeded');
    const after = await scrape();
    const labels = { source: 'populations', status: 'succeeded' };
    expect(value(after, 'dotation_runs_total', labels) - value(before, 'dotation_runs_total', labels)).toBe(1);
    for (const [kind, n] of [
      ['read', r.read],
      ['loaded', r.loaded],
      ['rejected', r.rejected],
      ['published', r.published],
    ] as const) {
      const l = { source: 'populations', kind };
      expect(value(after, 'dotation_run_rows_total', l) - value(before, 'dotation_run_rows_total', l)).toBe(n);
    }
    expect(r.read).toBeGreaterThan(0);
    const h = histogram(after, 'dotation_run_duration_seconds', labels);
    const h0 = histogram(before, 'dotation_run_duration_seconds', labels);
    expect(h.count - h0.count).toBe(1);
    expect(h.buckets.map(([le]) => le)).toEqual(['1', '5', '15', '60', '300', '900', '1800', '3600', '7200', '14400', '43200', '+Inf']);
    expect(h.buckets.at(-1)![1]).toBe(h.count);
    // Buckets are cumulative.
    const counts = h.buckets.map(([, n]) => n);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(h.sum).toBeGreaterThan(h0.sum);
    expect(value(after, 'dotation_run_last_success_timestamp_seconds', { source: 'populations' })).toBeGreaterThan(Date.now() / 1000 - 600);
  });

  test('queue depth per queue and state, and HTTP latency by route pattern', async () => {
    const job = await enqueueRun('cog', { trigger: 'test' });
    const m = await scrape();
    expect(value(m, 'dotation_queue_jobs', { queue: 'runs', state: 'waiting' })).toBe(1);
    expect(m.samples.some((x) => x.name === 'dotation_queue_jobs' && matches(x.labels, { queue: 'packs', state: 'failed' }))).toBe(true);
    await job.remove();
    await app.inject({ url: '/communes/35238' });
    await app.inject({ url: '/no/such/route' });
    const again = await scrape();
    const routes = new Set(
      again.samples.filter((x) => x.name === 'dotation_http_request_duration_seconds_count').map((x) => x.labels.route),
    );
    expect(routes).toContain('/metrics');
    expect(routes).toContain('/communes/:code');
    expect(routes).toContain('unmatched');
    expect([...routes].some((r) => r.includes('35238'))).toBe(false);
    expect(value(again, 'dotation_http_request_duration_seconds_count', { route: 'unmatched', status_code: '404' })).toBeGreaterThanOrEqual(
      1,
    );
  });

  test('Redis away: the scrape still answers within seconds and says so', async () => {
    const saved = process.env.REDIS_URL;
    process.env.REDIS_URL = 'redis://127.0.0.1:9';
    resetSettings();
    try {
      const m = await scrape();
      expect(value(m, 'dotation_metrics_backend_up', { backend: 'redis' })).toBe(0);
      expect(value(m, 'dotation_metrics_backend_up', { backend: 'database' })).toBe(1);
    } finally {
      await Promise.all([closeQueues(), closePacksQueue(), closePublicationsQueue()]);
      if (saved === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = saved;
      resetSettings();
    }
  });

  test('METRICS_PORT: a second listener serves /metrics without a token, and nothing else', async () => {
    const server = await startMetricsServer(0, '127.0.0.1');
    try {
      const port = (server.address() as AddressInfo).port;
      const get = (path: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) =>
          http
            .get({ host: '127.0.0.1', port, path }, (res) => {
              let body = '';
              res.on('data', (c) => (body += c));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            })
            .on('error', reject),
        );
      const ok = await get('/metrics');
      expect(ok.status).toBe(200);
      expect(read(ok.body).types.get('dotation_runs_total')).toBe('COUNTER');
      expect((await get('/operator/runs')).status).toBe(404);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
