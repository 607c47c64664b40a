/**
 * Pack downloads against nginx, same file, same run: wrk on GET /communes/{code}/pack.zip served by
 * the app (buildServer(), default plug-ins: CORS, helmet, rate limit, compression) and on the very
 * same version file served by nginx (Debian package `nginx`, started here on a free port with a
 * config in a temporary directory, one worker process, sendfile on), for a ≈ 10 KB pack and a
 * ≈ 500 KB pack, at 50 and 1,000 connections. Writes the ratio app / nginx (goal: ≥ 0.5, no time-out).
 *
 *   npx tsx bench/serve.ts [--write]             # prints the markdown section; --write puts it in BENCHMARKS.md
 *   BENCH_DURATION=3 BENCH_CONNECTIONS=50,1000 npx tsx bench/serve.ts
 *   BENCH_ONLY=small npx tsx bench/serve.ts          # the 10 KB pack only (small) or the 500 KB one (large): for a profile
 *
 * Needs wrk and nginx (apt-get install -y wrk nginx). Uses its own database (dotation_bench_serve:
 * referential + embedded populations, created when empty) and a temporary PACKS_DIR holding the
 * packs of 35238 (≈ 10 KB) and 35062 (≈ 500 KB), ZIPs of random bytes published with the store's
 * publishVersion (the server serves what the manifest names; the bytes do not matter).
 */
import { ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { resetSettings } from '../config/settings';
import { WRK, WrkResult, machine, runWrk, writeBenchmarkSection } from './measure';

const ADMIN = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DB = 'dotation_bench_serve';
const SMALL = '35238';
const LARGE = '35062';
const NGINX = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'].find((f) => fs.existsSync(f));

interface Row {
  pack: string;
  bytes: number;
  connections: number;
  ours: WrkResult;
  nginx: WrkResult;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** nginx on 127.0.0.1:`port`, root = PACKS_DIR, one worker (the app is one Node process), sendfile on, no access log. */
async function startNginx(root: string, port: number, dir: string): Promise<ChildProcess> {
  for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  default_type application/zip;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    root ${root};
    location / { }
  }
}
`,
  );
  const proc = spawn(NGINX!, ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`nginx exited (${proc.exitCode}): ${stderr}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return proc;
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill('SIGKILL');
  throw new Error(`nginx did not listen on ${port}: ${stderr}`);
}

async function main(): Promise<void> {
  if (!WRK) throw new Error('wrk is not installed (apt-get install -y wrk)');
  if (!NGINX) throw new Error('nginx is not installed (apt-get install -y nginx)');
  const duration = Number(process.env.BENCH_DURATION ?? 10);
  const connectionsList = (process.env.BENCH_CONNECTIONS ?? '50,1000').split(',').map(Number);
  const started = new Date();
  const admin = new Client({ connectionString: ADMIN });
  await admin.connect();
  if (!(await admin.query('select 1 from pg_database where datname = $1', [DB])).rowCount) await admin.query(`create database ${DB}`);
  await admin.end();
  const url = Object.assign(new URL(ADMIN), { pathname: `/${DB}` }).toString();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-bench-serve-'));
  fs.chmodSync(tmp, 0o755); // nginx's worker runs as an unprivileged user: it must be able to read the packs
  const packsDir = path.join(tmp, 'packs');
  // The app as deployed: every plug-in on; the rate limit high enough for one load generator on one address.
  Object.assign(process.env, {
    DATABASE_URL: url,
    PACKS_DIR: packsDir,
    MIRROR_DIR: '',
    NETWORK: 'never',
    LOG_LEVEL: 'silent',
    RATE_LIMIT_MAX: '1000000000',
  });
  resetSettings();
  const { migrate } = await import('../src/db/migrate');
  const { pool, closePools } = await import('../src/db/pool');
  await migrate(url);
  if (!(await pool().query(`select count(*)::int as n from population_legale`)).rows[0].n) {
    const { runSource } = await import('../src/engine/runner');
    for (const id of ['cog', 'populations']) await runSource(id, { trigger: 'cli', log: () => undefined });
  }
  // Two packs of the sizes of the goal, of random (incompressible) bytes: the server serves what the
  // manifest names, whatever the bytes; a real pack of 35238 with every source is ≈ 0.1–1 MB.
  const { publishVersion } = await import('../src/packs/store');
  const { zipFiles } = await import('../src/packs/zip');
  const VERSION = '2026.1';
  for (const [code, kb, nom] of [
    [SMALL, 10, 'Rennes'],
    [LARGE, 500, 'Le Rheu'],
  ] as const) {
    const zip = await zipFiles([{ name: 'bruit.bin', data: crypto.randomBytes(kb * 1024 - 150) }]);
    await publishVersion(
      packsDir,
      code,
      zip,
      {
        version: VERSION,
        sha256: crypto.createHash('sha256').update(zip).digest('hex'),
        bytes: zip.length,
        createdAt: new Date().toISOString(),
        dataHash: 'bench',
        millesime: '2026',
        files: [],
      },
      1,
      null,
      nom,
    );
  }

  const { buildServer, LISTEN_BACKLOG } = await import('../src/server/app');
  const app = await buildServer({ logger: false });
  await app.listen({ port: 0, host: '127.0.0.1', backlog: LISTEN_BACKLOG });
  const ours = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const nginxPort = await freePort();
  const nginx = await startNginx(packsDir, nginxPort, path.join(tmp, 'nginx'));
  const theirs = `http://127.0.0.1:${nginxPort}`;
  const rows: Row[] = [];
  try {
    // BENCH_ONLY=small or large: one of the two packs (a profile of one size); the report is written for both only.
    const only = process.env.BENCH_ONLY;
    for (const code of only === 'small' ? [SMALL] : only === 'large' ? [LARGE] : [SMALL, LARGE]) {
      const version = VERSION;
      const a = await fetch(`${ours}/communes/${code}/pack.zip`);
      const b = await fetch(`${theirs}/${code}/${version}.zip`);
      const [ba, bb] = [Buffer.from(await a.arrayBuffer()), Buffer.from(await b.arrayBuffer())];
      if (a.status !== 200 || b.status !== 200 || !ba.equals(bb))
        throw new Error(`${code}: app ${a.status} and nginx ${b.status} do not serve the same bytes`);
      const pack = `${code} (${(ba.length / 1024).toFixed(1)} KB)`;
      for (const connections of connectionsList) {
        // Alternate who goes first, so a drift of the machine's load does not always favour the same side.
        const first = rows.length % 2 === 0;
        // Each side first gets one second of the same load, not counted (JIT, connection set-up of a thousand clients).
        const measured = async (url: string) => {
          await runWrk(url, connections, 1);
          return runWrk(url, connections, duration);
        };
        const runOurs = () => measured(`${ours}/communes/${code}/pack.zip`);
        const runNginx = () => measured(`${theirs}/${code}/${version}.zip`);
        const x = first ? await runOurs() : await runNginx();
        const y = first ? await runNginx() : await runOurs();
        const row = { pack, bytes: ba.length, connections, ours: first ? x : y, nginx: first ? y : x };
        rows.push(row);
        console.error(
          `${pack}, ${connections} connections: app ${row.ours.requestsPerSec} req/s (p99 ${row.ours.p99Ms} ms, ${row.ours.timeouts} time-outs), nginx ${row.nginx.requestsPerSec} req/s (p99 ${row.nginx.p99Ms} ms) → ${(row.ours.requestsPerSec / row.nginx.requestsPerSec).toFixed(2)}×`,
        );
      }
    }
  } finally {
    nginx.kill('SIGQUIT');
    await app.close();
    await closePools();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const loadavg = os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ');
  const ratio = (r: Row) => r.ours.requestsPerSec / r.nginx.requestsPerSec;
  const goal = rows.every((r) => ratio(r) >= 0.5 && r.ours.timeouts === 0 && r.ours.socketErrors === 0 && r.ours.non2xx === 0);
  const md = `
## Pack downloads against nginx (bench/serve.ts)

Measured on ${started.toISOString().slice(0, 10)}, one run, with \`npx tsx bench/serve.ts\`: wrk (one thread, 2 s time-out), ${duration} s per side and scenario after 1 s of the same load not counted, the app and nginx taking turns on the same file in the same run.

- Machine: ${machine()}. Load average at the end: ${loadavg} (this bench's own load included). Client, app and nginx share the machine.
- App: \`buildServer()\` (one Node process, every plug-in on: CORS, helmet, rate limit, compression), \`GET /communes/{code}/pack.zip\`: answered below node:http by the pack lane (src/server/pack-lane.ts: wrk's kept-alive HTTP/1.1 connections are read there first) with the fast path's decision (src/server/pack-fast.ts: the plug-ins' headers, the rate limiter and the metrics kept) from the route's caches — the commune from the referential in memory, the manifest \`latest.json\` (cached by inode), precomputed headers, the version file's bytes from memory (≤ 1 MB; larger ones are streamed from disk by the route).
- nginx: Debian's, one worker process, \`sendfile on\`, no access log, \`GET /{code}/{version}.zip\` on the very same version file.
- Packs: ${SMALL} and ${LARGE}, a ZIP of ≈ 10 KB and one of ≈ 500 KB of random bytes, published with the store's \`publishVersion\` (the route serves what the manifest names, whatever the bytes).
- Goal (issue 13): app ≥ 0.5× nginx for both sizes at 50 and 1,000 connections, no time-out — **${goal ? 'met' : 'not met'}** in this run.

| Pack | Connections | App req/s | nginx req/s | Ratio | App p50 / p99 (ms) | nginx p50 / p99 (ms) | App time-outs / socket errors / non-2xx | nginx time-outs / socket errors |
|---|---:|---:|---:|---:|---:|---:|---|---|
${rows.map((r) => `| ${r.pack} | ${r.connections.toLocaleString('en-US')} | ${r.ours.requestsPerSec.toLocaleString('en-US')} | ${r.nginx.requestsPerSec.toLocaleString('en-US')} | ${ratio(r).toFixed(2)}× | ${r.ours.p50Ms} / ${r.ours.p99Ms} | ${r.nginx.p50Ms} / ${r.nginx.p99Ms} | ${r.ours.timeouts} / ${r.ours.socketErrors} / ${r.ours.non2xx} | ${r.nginx.timeouts} / ${r.nginx.socketErrors} |`).join('\n')}
`;
  if (process.argv.includes('--write') && !process.env.BENCH_ONLY) writeBenchmarkSection('serve', md.trim());
  console.log(md);
  process.exit(goal ? 0 : 3);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
