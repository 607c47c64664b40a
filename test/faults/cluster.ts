import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * The throwaway services of the fault-injection suite (`npm run test:faults`): a PostgreSQL
 * cluster made by initdb on a free port and a redis-server on another, both under one temporary
 * directory, so the suite can stop, kill and restart them without touching the machine's own.
 * The global setup writes their description to the file named by DOTATION_FAULTS_STATE.
 */
export interface Cluster {
  dir: string;
  pgBin: string;
  pgData: string;
  pgPort: number;
  pgLog: string;
  /** OS user running PostgreSQL (postgres when the suite runs as root: initdb refuses root). */
  pgUser: string | null;
  redisPort: number;
  redisDir: string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Directory of initdb/pg_ctl: PATH first, then Debian's versioned directory. */
export function findPgBin(): string {
  for (const d of (process.env.PATH ?? '').split(path.delimiter))
    if (d && fs.existsSync(path.join(d, 'pg_ctl'))) return path.dirname(fs.realpathSync(path.join(d, 'pg_ctl')));
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base) ? fs.readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (fs.existsSync(path.join(base, v, 'bin', 'pg_ctl'))) return path.join(base, v, 'bin');
  throw new Error('test:faults needs PostgreSQL server binaries (initdb, pg_ctl): install postgresql');
}

/** Runs a PostgreSQL binary as the cluster's OS user. */
export function pgRun(c: Pick<Cluster, 'pgBin' | 'pgUser'>, bin: string, args: string[]): string {
  const exe = path.join(c.pgBin, bin);
  const [cmd, argv] = c.pgUser ? ['runuser', ['-u', c.pgUser, '--', exe, ...args]] : [exe, args];
  return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function readCluster(): Cluster {
  const file = process.env.DOTATION_FAULTS_STATE;
  if (!file) throw new Error('DOTATION_FAULTS_STATE is not set: run the fault suite with npm run test:faults');
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Cluster;
}

export function pgStart(c: Cluster): void {
  pgRun(c, 'pg_ctl', [
    '-D',
    c.pgData,
    '-l',
    c.pgLog,
    '-w',
    '-t',
    '60',
    '-o',
    // fsync off: a throwaway cluster on a busy machine (an immediate stop still recovers: the OS keeps the pages).
    `-p ${c.pgPort} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${c.dir} -c fsync=off -c full_page_writes=off -c max_connections=200`,
    'start',
  ]);
}

/** Stops PostgreSQL; `immediate` is a crash (no checkpoint, every session cut, recovery at the next start). */
export function pgStop(c: Cluster, mode: 'fast' | 'immediate' = 'fast'): void {
  pgRun(c, 'pg_ctl', ['-D', c.pgData, '-m', mode, '-w', '-t', '60', 'stop']);
}

export function pgRunning(c: Cluster): boolean {
  const r = spawnSync(path.join(c.pgBin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(c.pgPort)]);
  return r.status === 0;
}

/** Starts redis-server detached (append-only file on: a restart keeps the queue, as a production Redis would). */
export async function redisStart(c: Cluster): Promise<void> {
  const p = spawn(
    'redis-server',
    [
      '--port',
      String(c.redisPort),
      '--bind',
      '127.0.0.1',
      '--dir',
      c.redisDir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
      '--logfile',
      path.join(c.redisDir, 'redis.log'),
    ],
    { detached: true, stdio: 'ignore' },
  );
  p.unref();
  for (let i = 0; i < 100; i++) {
    if (redisUp(c)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`redis-server did not start on port ${c.redisPort} (see ${c.redisDir}/redis.log)`);
}

export function redisUp(c: Cluster): boolean {
  const r = spawnSync('redis-cli', ['-p', String(c.redisPort), 'ping'], { encoding: 'utf8' });
  return r.stdout?.trim() === 'PONG';
}

/** Stops redis-server (its append-only file is kept: what a restart of a production Redis keeps). */
export async function redisStop(c: Cluster, save = true): Promise<void> {
  spawnSync('redis-cli', ['-p', String(c.redisPort), 'shutdown', save ? 'save' : 'nosave']);
  for (let i = 0; i < 100 && redisUp(c); i++) await new Promise((r) => setTimeout(r, 100));
}
