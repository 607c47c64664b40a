import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { pgRun, readCluster, redisStop } from './cluster';

/** Stops the suite's PostgreSQL and Redis and removes their directory (kept when DOTATION_FAULTS_KEEP is set). */
export default async function faultsTeardown(): Promise<void> {
  const c = readCluster();
  try {
    pgRun(c, 'pg_ctl', ['-D', c.pgData, '-m', 'immediate', '-w', 'stop']);
  } catch {
    /* already stopped */
  }
  await redisStop(c, false);
  spawnSync('umount', ['-l', `${c.dir}/packs-full`]);
  if (!process.env.DOTATION_FAULTS_KEEP) fs.rmSync(c.dir, { recursive: true, force: true });
}
