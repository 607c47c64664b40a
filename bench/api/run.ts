import autocannon from 'autocannon';
import { ChildProcess, fork } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { Client } from 'pg';

/**
 * HTTP bench of the public API: autocannon at 50 connections on one zone of the API Territoire,
 * the commune summary /communes/35238, a /communes list query and a catalog page. Runs against BENCH_DATABASE_URL (default: a private
 * database `dotation_bench_api`, created, migrated and loaded with the referential and the
 * embedded populations when empty). When no pack was built there, pack_builds rows are seeded
 * for one département so the catalog page has datasets to render (no manifests: no checksums).
 * The server runs in a child process, as in production: autocannon in the same event loop would
 * measure its own HTTP parsing (it capped 27 KB answers at ~650 req/s).
 *
 *   npx tsx bench/api/run.ts            # prints a table and the JSON
 *   BENCH_DURATION=20 npx tsx bench/api/run.ts
 */
export interface BenchResult { name: string; url: string; requestsPerSec: number; p99Ms: number; p50Ms: number; non2xx: number; errors: number; bytesPerSec: number }

const ROUTES = [
  { name: 'zone', path: '/api/1/spatial/zone/fr:commune:35238' },
  { name: 'commune summary', path: '/communes/35238' },
  { name: 'communes list', path: '/communes?codeDepartement=35&fields=nom,code,population,codesPostaux' },
  { name: 'catalog page', path: '/catalog.jsonld?page=1' },
];

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

function run(url: string, connections: number, duration: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration, pipelining: 1 }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** Child side: serves the API on an ephemeral port and sends the port to the parent. */
async function serveChild(): Promise<void> {
  const { buildServer } = await import('../../src/server/app');
  const app = await buildServer({ logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.send!({ port: (app.server.address() as AddressInfo).port });
  process.on('message', async (m) => {
    if (m === 'stop') { await app.close(); process.exit(0); }
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
      const warm = await fetch(base + r.path);
      if (!warm.ok) throw new Error(`${r.path}: HTTP ${warm.status} before the bench`);
      await warm.arrayBuffer();
      const res = await run(base + r.path, connections, duration);
      out.push({
        name: r.name, url: r.path, requestsPerSec: Math.round(res.requests.average), p50Ms: res.latency.p50, p99Ms: res.latency.p99,
        non2xx: res.non2xx, errors: res.errors, bytesPerSec: Math.round(res.throughput.average),
      });
    }
  } finally {
    child.removeAllListeners('exit');
    child.send('stop');
    await new Promise((r) => child.once('exit', r));
  }
  return out;
}

/** Load average and cores, to print beside the figures (the machine may be shared). */
export function machine(): string {
  return `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GB, Node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`;
}

if (require.main === module && process.env.BENCH_API_CHILD) {
  serveChild().catch((err) => { console.error(err); process.exit(1); });
} else if (require.main === module) {
  console.log(`before: ${machine()}`);
  bench().then((rows) => {
    console.log(`after: ${machine()}`);
    console.table(rows.map((r) => ({ route: r.name, 'req/s': r.requestsPerSec, 'p50 ms': r.p50Ms, 'p99 ms': r.p99Ms, non2xx: r.non2xx, errors: r.errors })));
    console.log(JSON.stringify(rows));
    process.exit(0);
  }).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
