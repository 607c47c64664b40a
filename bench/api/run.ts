import autocannon from 'autocannon';
import { ChildProcess, fork } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { Client } from 'pg';
import { WRK, machine, runWrk, writeBenchmarkSection } from '../measure';

/**
 * HTTP bench of the public API: autocannon at 50 connections on one zone of the API Territoire,
 * the commune summary /communes/35238, a /communes list query and a catalog page. Runs against BENCH_DATABASE_URL (default: a private
 * database `dotation_bench_api`, created, migrated and loaded with the referential and the
 * embedded populations when empty). When no pack was built there, pack_builds rows are seeded
 * for one département so the catalog page has datasets to render (no manifests: no checksums).
 * The server runs in a child process, as in production: autocannon in the same event loop would
 * measure its own HTTP parsing (it capped 27 KB answers at ~650 req/s).
 *
 *   npx tsx bench/api/run.ts            # prints the markdown section, a table and the JSON
 *   npx tsx bench/api/run.ts --write    # also writes the "API" section of BENCHMARKS.md
 *   BENCH_DURATION=20 npx tsx bench/api/run.ts
 */
export interface BenchResult {
  name: string;
  url: string;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  bytesPerSec: number;
  /** The same route under wrk (C client, Debian package `wrk`), when installed: autocannon parses every body in JavaScript and caps large answers. */
  wrk?: { requestsPerSec: number; p50Ms: number; p99Ms: number; non2xx: number };
}

const ROUTES = [
  { name: 'zone', path: '/api/1/spatial/zone/fr:commune:35238' },
  { name: 'commune summary', path: '/communes/35238' },
  { name: 'communes list', path: '/communes?codeDepartement=35&fields=nom,code,population,codesPostaux' },
  { name: 'catalog page', path: '/catalog.jsonld?page=1' },
  { name: 'catalog page (gzip)', path: '/catalog.jsonld?page=1', headers: { 'accept-encoding': 'gzip' } },
] as { name: string; path: string; headers?: Record<string, string> }[];

async function prepareDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = u.pathname.slice(1);
  const admin = new Client({ connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString() });
  await admin.connect();
  const exists = (await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount;
  if (!exists) await admin.query(`create database "${name}"`);
  await admin.end();
  process.env.DATABASE_URL = url;
  process.env.NETWORK = 'never';
  process.env.MIRROR_DIR = '';
  process.env.LOG_LEVEL = 'silent';
  const { resetSettings } = await import('../../config/settings');
  resetSettings();
  const { migrate } = await import('../../src/db/migrate');
  await migrate(url);
  const { pool } = await import('../../src/db/pool');
  const n = (await pool().query(`select count(*)::int as n from communes`)).rows[0].n;
  if (!n) {
    const { runSource } = await import('../../src/engine/runner');
    await runSource('cog', { trigger: 'cli', log: () => undefined });
    await runSource('populations', { trigger: 'cli', log: () => undefined });
  }
  const packs = (await pool().query(`select count(*)::int as n from pack_builds`)).rows[0].n;
  if (!packs) {
    await pool().query(`insert into pack_builds (code, fingerprint, version, sha256, bytes, millesime)
                        select code, 'bench', 'bench', repeat('0', 64), 0, 'bench' from communes where departement = '35' and type = 'commune-actuelle'`);
  }
}

function run(url: string, connections: number, duration: number, headers?: Record<string, string>): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration, pipelining: 1, headers }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** Child side: serves the API on an ephemeral port and sends the port to the parent. */
async function serveChild(): Promise<void> {
  const { buildServer } = await import('../../src/server/app');
  const app = await buildServer({ logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.send!({ port: (app.server.address() as AddressInfo).port });
  process.on('message', async (m) => {
    if (m === 'stop') {
      await app.close();
      process.exit(0);
    }
  });
}

function startChild(databaseUrl: string): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [], {
      env: { ...process.env, BENCH_API_CHILD: '1', DATABASE_URL: databaseUrl, NETWORK: 'never', MIRROR_DIR: '', LOG_LEVEL: 'silent' },
      execArgv: ['--import', 'tsx'],
    });
    child.once('message', (m: { port: number }) => resolve({ child, port: m.port }));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
}

/** Runs the scenarios one after the other against a server in a child process; returns requests/s and latencies. */
export async function bench(opts: { connections?: number; duration?: number; databaseUrl?: string } = {}): Promise<BenchResult[]> {
  const connections = opts.connections ?? 50;
  const duration = opts.duration ?? Number(process.env.BENCH_DURATION ?? 10);
  const databaseUrl = opts.databaseUrl ?? process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/dotation_bench_api';
  await prepareDatabase(databaseUrl);
  const { closePools } = await import('../../src/db/pool');
  await closePools();
  const { child, port } = await startChild(databaseUrl);
  const base = `http://127.0.0.1:${port}`;
  const out: BenchResult[] = [];
  try {
    for (const r of ROUTES) {
      // Warm-up: loads the referential cache and JIT-compiles the path.
      const warm = await fetch(base + r.path, { headers: r.headers });
      if (!warm.ok) throw new Error(`${r.path}: HTTP ${warm.status} before the bench`);
      await warm.arrayBuffer();
      // 2 s of load first, not counted: JIT and first-render costs stay out of the figures.
      await run(base + r.path, connections, 2, r.headers);
      const res = await run(base + r.path, connections, duration, r.headers);
      out.push({
        name: r.name,
        url: r.path,
        requestsPerSec: Math.round(res.requests.average),
        p50Ms: res.latency.p50,
        p99Ms: res.latency.p99,
        non2xx: res.non2xx,
        errors: res.errors,
        bytesPerSec: Math.round(res.throughput.average),
        wrk: WRK ? await runWrk(base + r.path, connections, duration, r.headers) : undefined,
      });
    }
  } finally {
    child.removeAllListeners('exit');
    child.send('stop');
    await new Promise((r) => child.once('exit', r));
  }
  return out;
}

const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

/** The "API" section of BENCHMARKS.md. */
export function markdown(rows: BenchResult[], loadBefore: string, loadAfter: string, duration: number): string {
  const date = new Date().toISOString().slice(0, 10);
  return [
    '## API',
    '',
    `Measured by \`npx tsx bench/api/run.ts --write\` (bench/api/run.ts) on ${date}: autocannon, 50 connections, ${duration} s per route after 2 s of warm-up load, server in a child process on 127.0.0.1.`,
    '',
    `- Machine: ${machine()}.`,
    `- Conditions: load average ${loadBefore} before, ${loadAfter} after (1/5/15 min, this bench's own load included); PostgreSQL on the same host; the client on the same 2 cores as the server.`,
    `- Clients: autocannon (JavaScript) then, ${rows.some((r) => r.wrk) ? 'right after it' : 'when installed (not here)'}, wrk (C, Debian package \`wrk\`, one thread) on the same route for the same duration. autocannon parses every answer in JavaScript, so on large answers it measures itself: the wrk columns show what the server does.`,
    '- Database: dotation_bench_api (referential + embedded populations; pack_builds seeded for département 35 when empty).',
    '',
    '| Route | URL | autocannon req/s | p50 ms | p99 ms | MB/s | non-2xx | errors | wrk req/s | wrk p50 ms | wrk p99 ms |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.name} | \`${r.url}\` | ${r.requestsPerSec.toLocaleString('en')} | ${r.p50Ms} | ${r.p99Ms} | ${(r.bytesPerSec / 1e6).toFixed(1)} | ${r.non2xx} | ${r.errors} | ${r.wrk ? r.wrk.requestsPerSec.toLocaleString('en') : '–'} | ${r.wrk?.p50Ms ?? '–'} | ${r.wrk?.p99Ms ?? '–'} |`,
    ),
    '',
    'Goal (issue 6): ≥ 2,000 req/s and p99 < 50 ms on the JSON routes at 50 connections.',
  ].join('\n');
}

if (require.main === module && process.env.BENCH_API_CHILD) {
  serveChild().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else if (require.main === module) {
  const loadBefore = load();
  const duration = Number(process.env.BENCH_DURATION ?? 10);
  bench({ duration })
    .then((rows) => {
      const md = markdown(rows, loadBefore, load(), duration);
      if (process.argv.includes('--write')) writeBenchmarkSection('api', md);
      console.log(md);
      console.table(
        rows.map((r) => ({
          route: r.name,
          'req/s': r.requestsPerSec,
          'p50 ms': r.p50Ms,
          'p99 ms': r.p99Ms,
          non2xx: r.non2xx,
          errors: r.errors,
          'wrk req/s': r.wrk?.requestsPerSec,
          'wrk p99 ms': r.wrk?.p99Ms,
        })),
      );
      console.log(JSON.stringify(rows));
      process.exit(0);
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
