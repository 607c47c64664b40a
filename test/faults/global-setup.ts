import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Cluster, findPgBin, freePort, pgRun, pgStart, redisStart } from './cluster';

/**
 * Starts the suite's own PostgreSQL cluster (initdb on a free port) and redis-server, then builds
 * the template database as the main suite does (test/global-setup.ts), pointed at them.
 */
export default async function faultsSetup(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-faults-'));
  const root = process.getuid?.() === 0;
  const c: Cluster = {
    dir,
    pgBin: findPgBin(),
    pgData: path.join(dir, 'pg'),
    pgPort: await freePort(),
    pgLog: path.join(dir, 'pg.log'),
    pgUser: root ? 'postgres' : null,
    redisPort: await freePort(),
    redisDir: path.join(dir, 'redis'),
  };
  fs.mkdirSync(c.redisDir);
  fs.chmodSync(dir, 0o777); // the postgres user writes its data, log and socket here
  if (root) execFileSync('chown', ['postgres', dir]);
  pgRun(c, 'initdb', ['-D', c.pgData, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']);
  pgStart(c);
  await redisStart(c);
  const state = path.join(dir, 'cluster.json');
  fs.writeFileSync(state, JSON.stringify(c, null, 2));
  Object.assign(process.env, {
    DOTATION_FAULTS_STATE: state,
    TEST_ADMIN_DATABASE_URL: `postgres://postgres@127.0.0.1:${c.pgPort}/postgres`,
    REDIS_URL: `redis://127.0.0.1:${c.redisPort}`,
  });
  // The main suite's template builder, on these services (its env helper reads the variables above).
  const { default: globalSetup } = await import('../global-setup');
  await globalSetup();
}
