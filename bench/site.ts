import { ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { WRK, machine, runWrk, writeBenchmarkSection } from './measure';

/**
 * HTTP bench of the public site under wrk (C client, Debian package `wrk`), 50 connections: the
 * commune page, the search answer the home page's suggestions ask for (geo.api route, by name
 * with boost=population), the results page of the form without JavaScript, and the home page.
 * Database BENCH_DATABASE_URL (default: a private `dotation_bench_site`, created, migrated and
 * loaded with the referential and populations, from MIRROR_DIR when set, else the embedded
 * package); Rennes' pack is built into a private PACKS_DIR. The server runs in a child process.
 *
 *   npx tsx bench/site.ts              # prints the markdown section and the JSON
 *   npx tsx bench/site.ts --write      # also writes the "Site" section of BENCHMARKS.md
 *   BENCH_DURATION=3 npx tsx bench/site.ts
 */
interface Row {
  name: string;
  url: string;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
}

const ROUTES = [
  { name: 'commune page', path: '/communes/35238/page' },
  {
    name: 'search answer (suggestions)',
    path: '/communes?nom=renn&boost=population&type=commune-actuelle,arrondissement-municipal&fields=nom,code,codesPostaux,departement,population&limit=8',
  },
  { name: 'results page', path: '/recherche?q=renn' },
  { name: 'home page', path: '/' },
];

const PACKS_DIR = process.env.BENCH_PACKS_DIR ?? path.join(os.tmpdir(), 'dotation-bench-site', 'packs');

async function prepare(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new Client({ connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString() });
  await admin.connect();
  if (!(await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount) await admin.query(`create database "${name}"`);
  await admin.end();
  Object.assign(process.env, { DATABASE_URL: url, NETWORK: 'never', LOG_LEVEL: 'silent', PACKS_DIR });
  const { resetSettings } = await import('../config/settings');
  resetSettings();
  const { migrate } = await import('../src/db/migrate');
  await migrate(url);
  const { pool } = await import('../src/db/pool');
  if (!(await pool().query(`select count(*)::int as n from communes`)).rows[0].n) {
    const { runSource } = await import('../src/engine/runner');
    await runSource('cog', { trigger: 'cli', log: () => undefined });
    await runSource('populations', { trigger: 'cli', log: () => undefined });
  }
  if (!fs.existsSync(path.join(PACKS_DIR, '35238', 'latest.json'))) {
    const { buildPacks } = await import('../src/packs/build');
    await buildPacks({ communes: ['35238'], force: true, log: () => undefined });
  }
}

async function serveChild(): Promise<void> {
  const { buildServer } = await import('../src/server/app');
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
      // The rate limit (3000 requests per client and minute by default) would answer 429 to the load generator.
      env: {
        ...process.env,
        BENCH_SITE_CHILD: '1',
        DATABASE_URL: databaseUrl,
        PACKS_DIR,
        NETWORK: 'never',
        LOG_LEVEL: 'silent',
        RATE_LIMIT_MAX: '0',
      },
      execArgv: ['--import', 'tsx'],
    });
    child.once('message', (m: { port: number }) => resolve({ child, port: m.port }));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
}

async function bench(duration: number): Promise<Row[]> {
  if (!WRK) throw new Error('bench/site.ts needs wrk (apt-get install wrk)');
  const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/dotation_bench_site';
  await prepare(databaseUrl);
  const { closePools } = await import('../src/db/pool');
  await closePools();
  const { child, port } = await startChild(databaseUrl);
  const base = `http://127.0.0.1:${port}`;
  const out: Row[] = [];
  try {
    for (const r of ROUTES) {
      const warm = await fetch(base + r.path);
      if (!warm.ok) throw new Error(`${r.path}: HTTP ${warm.status} before the bench`);
      await warm.arrayBuffer();
      // 2 s of load first, not counted: JIT and first render stay out of the figures.
      await runWrk(base + r.path, 50, 2);
      const w = await runWrk(base + r.path, 50, duration);
      out.push({ name: r.name, url: r.path, requestsPerSec: w.requestsPerSec, p50Ms: w.p50Ms, p99Ms: w.p99Ms, non2xx: w.non2xx });
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

function markdown(rows: Row[], loadBefore: string, loadAfter: string, duration: number): string {
  return [
    '## Site',
    '',
    `Measured by \`npx tsx bench/site.ts --write\` (bench/site.ts) on ${new Date().toISOString().slice(0, 10)}: wrk (Debian package), 50 connections, ${duration} s per route after 2 s of warm-up load, server in a child process on 127.0.0.1; pages cached as bytes once rendered (src/server/http/cache.ts).`,
    '',
    `- Machine: ${machine()}.`,
    `- Conditions: load average ${loadBefore} before, ${loadAfter} after (1/5/15 min); PostgreSQL on the same host; client and server on the same cores.`,
    '',
    '| Route | URL | req/s | p50 ms | p99 ms | non-2xx |',
    '|---|---|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name} | \`${r.url}\` | ${r.requestsPerSec.toLocaleString('en')} | ${r.p50Ms} | ${r.p99Ms} | ${r.non2xx} |`),
    '',
    'Goal (issue 12): the commune page and the search answer at p99 < 20 ms, 50 connections, on a quiet machine.',
  ].join('\n');
}

if (require.main === module && process.env.BENCH_SITE_CHILD) {
  serveChild().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else if (require.main === module) {
  const loadBefore = load();
  const duration = Number(process.env.BENCH_DURATION ?? 10);
  bench(duration)
    .then((rows) => {
      const md = markdown(rows, loadBefore, load(), duration);
      if (process.argv.includes('--write')) writeBenchmarkSection('site', md);
      console.log(md);
      console.log(JSON.stringify(rows));
      process.exit(0);
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
