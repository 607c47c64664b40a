/**
 * Serving a cached pack under load: autocannon, 50 connections, 10 s, on GET /communes/35238/pack.zip,
 * without and with If-None-Match (the client already holds the latest version: 304).
 *
 *   npx tsx bench/serve.ts [--write]           # prints the markdown section; --write puts it in BENCHMARKS.md
 *   BENCH_DURATION=20 BENCH_CONNECTIONS=100 npx tsx bench/serve.ts
 *
 * Uses its own database (dotation_bench_serve: referential + embedded populations, created when
 * empty) and a temporary PACKS_DIR holding the pack of 35238; buildServer() on 127.0.0.1, random port.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import { Client } from 'pg';
import { resetSettings } from '../config/settings';
import { WRK, WrkResult, machine, runWrk, writeBenchmarkSection } from './measure';

const ADMIN = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DB = 'dotation_bench_serve';
const CODE = '35238';

interface Result {
  scenario: string;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  statuses: string;
  errors: number;
  mbPerSec: number;
  wrk?: WrkResult;
}

function run(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

async function main(): Promise<void> {
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
  const duration = Number(process.env.BENCH_DURATION ?? 10);
  const started = new Date();
  const admin = new Client({ connectionString: ADMIN });
  await admin.connect();
  if (!(await admin.query('select 1 from pg_database where datname = $1', [DB])).rowCount) await admin.query(`create database ${DB}`);
  await admin.end();
  const url = Object.assign(new URL(ADMIN), { pathname: `/${DB}` }).toString();
  const packsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-bench-serve-'));
  Object.assign(process.env, { DATABASE_URL: url, PACKS_DIR: packsDir, MIRROR_DIR: '', NETWORK: 'never', LOG_LEVEL: 'silent' });
  resetSettings();
  const { migrate } = await import('../src/db/migrate');
  const { pool, closePools } = await import('../src/db/pool');
  await migrate(url);
  if (!(await pool().query(`select count(*)::int as n from population_legale`)).rows[0].n) {
    const { runSource } = await import('../src/engine/runner');
    for (const id of ['cog', 'populations']) await runSource(id, { trigger: 'cli', log: () => undefined });
  }
  const { buildPacks } = await import('../src/packs/build');
  await pool().query(`delete from pack_builds where code = $1`, [CODE]);
  const r = await buildPacks({ communes: [CODE], log: () => undefined });
  if (r.built !== 1) throw new Error(`pack of ${CODE} not built: ${JSON.stringify(r)}`);

  const { buildServer } = await import('../src/server/app');
  const app = await buildServer({ logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const target = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/communes/${CODE}/pack.zip`;
  const out: Result[] = [];
  try {
    const warm = await fetch(target);
    if (warm.status !== 200) throw new Error(`${target}: HTTP ${warm.status}`);
    const bytes = (await warm.arrayBuffer()).byteLength;
    const etag = warm.headers.get('etag')!;
    const scenarios: [string, Record<string, string>][] = [
      [`GET pack.zip (200, ${(bytes / 1024).toFixed(1)} KB)`, {}],
      ['GET pack.zip with If-None-Match (304)', { 'if-none-match': etag }],
    ];
    for (const [scenario, headers] of scenarios) {
      const res = await run({ url: target, connections, duration, pipelining: 1, headers });
      const statuses = Object.entries(res.statusCodeStats ?? {})
        .map(([code, s]) => `${code}: ${s.count ?? 0}`)
        .join(', ');
      // wrk (C, another process) right after: autocannon runs in the server's own event loop here.
      const wrk = WRK ? await runWrk(target, connections, duration, headers) : undefined;
      out.push({
        scenario,
        requestsPerSec: Math.round(res.requests.average),
        p50Ms: res.latency.p50,
        p99Ms: res.latency.p99,
        statuses,
        errors: res.errors + res.timeouts,
        mbPerSec: res.throughput.average / 1024 / 1024,
        wrk,
      });
      console.error(`${scenario}: ${Math.round(res.requests.average)} req/s, p99 ${res.latency.p99} ms (${statuses})`);
    }
  } finally {
    await app.close();
    await closePools();
    fs.rmSync(packsDir, { recursive: true, force: true });
  }
  const loadavg = os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ');
  const md = `
## Serving a cached pack (bench/serve.ts)

Measured on ${started.toISOString().slice(0, 10)}, one run, with \`npx tsx bench/serve.ts\`: autocannon ${connections} connections, ${duration} s per scenario,
\`GET /communes/${CODE}/pack.zip\` on \`buildServer()\` listening on 127.0.0.1 (same host as the load generator and PostgreSQL; one Node process).

- Machine: ${machine()}. Load average at the end: ${loadavg} (this bench's own load included).
- Clients: autocannon runs in the server's own process (it shares the event loop: pessimistic); wrk (C, Debian package \`wrk\`, one thread, its own process) runs right after on the same scenario${WRK ? '' : ' — not installed here'}.
- Each request resolves the commune (PostgreSQL), reads the manifest \`latest.json\`, stats the ZIP, then streams it (200) or answers 304 on a matching ETag.

| Scenario | autocannon req/s | p50 (ms) | p99 (ms) | MB/s | Status codes | Errors | wrk req/s | wrk p50 (ms) | wrk p99 (ms) |
|---|---:|---:|---:|---:|---|---:|---:|---:|---:|
${out.map((x) => `| ${x.scenario} | ${x.requestsPerSec.toLocaleString('en-US')} | ${x.p50Ms} | ${x.p99Ms} | ${x.mbPerSec.toFixed(1)} | ${x.statuses} | ${x.errors} | ${x.wrk ? x.wrk.requestsPerSec.toLocaleString('en-US') : '–'} | ${x.wrk?.p50Ms ?? '–'} | ${x.wrk?.p99Ms ?? '–'} |`).join('\n')}
`;
  if (process.argv.includes('--write')) writeBenchmarkSection('serve', md.trim());
  console.log(md);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
