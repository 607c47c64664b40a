import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { freshDatabase } from '../helpers/db';
import { pool } from '../../src/db/pool';
import { closeQueues, enqueueRun, runsQueue } from '../../src/queue/queue';
import { closeRedisConnections } from '../../src/queue/connection';
import { Cluster, readCluster, redisStart, redisStop, redisUp } from './cluster';
import { Child, dotation, faultDatabase, waitFor } from './helpers';

/**
 * Services away (issue 13, items 2, 3 and probe 5-6): Redis down for a producer, the scheduler
 * and a worker; a full PACKS_DIR during a pack build.
 */
let c: Cluster;
let db: Awaited<ReturnType<typeof freshDatabase>>;
const children: Child[] = [];

beforeAll(async () => {
  c = readCluster();
  db = await faultDatabase();
});
afterEach(async () => {
  for (const w of children.splice(0)) if (w.alive()) w.proc.kill('SIGKILL');
  if (!redisUp(c)) await redisStart(c);
});
afterAll(async () => {
  await runsQueue()
    .obliterate({ force: true })
    .catch(() => undefined);
  await closeQueues();
  await closeRedisConnections();
  await db.cleanup();
});

function run(args: string[], env: NodeJS.ProcessEnv = {}, opts: { fileSizeLimitKb?: number } = {}): Child {
  const ch = dotation(args, { ...db.env, ...env }, opts);
  children.push(ch);
  return ch;
}

test('Redis down: enqueue and the scheduler fail within seconds (exit 69, a clear message); a worker waits, says so, and works once Redis is back', async () => {
  await redisStop(c);
  const t0 = Date.now();
  const enq = run(['run', 'populations']);
  const sched = run(['scheduler']);
  const worker = run(['worker', '--concurrency', '1']);
  expect(await enq.exited).toBe(69);
  expect(await sched.exited).toBe(69);
  // Process start (tsx) included; the wait for Redis itself is 5 s.
  expect((Date.now() - t0) / 1000).toBeLessThan(30);
  expect(enq.out()).toMatch(
    /Redis is not reachable at redis:\/\/127\.0\.0\.1:\d+ \(.*ECONNREFUSED.*\) after 5 s: the run of populations was not enqueued \(start Redis, or run it here with --inline\)/,
  );
  expect(sched.out()).toMatch(/Redis is not reachable .* the scheduler did not start/);

  await waitFor(
    'the worker to say Redis is unreachable',
    () => /\[redis\] .* unreachable .*retrying until it is back/.test(worker.out()),
    30_000,
  );
  await new Promise((r) => setTimeout(r, 2000));
  expect(worker.alive()).toBe(true);
  // Said once per connection, not at every retry.
  expect(worker.out().match(/unreachable/g)!.length).toBeLessThanOrEqual(6);

  await redisStart(c);
  await waitFor('the worker ready', () => /processing 'runs'/.test(worker.out()), 60_000);
  const job = await enqueueRun('populations', { trigger: 'test', force: true });
  await waitFor('the job done', async () => (await runsQueue().getJob(job.id!))?.finishedOn, 120_000, 500);
  const { rows } = await pool().query(`select status from runs where job_id = $1`, [job.id]);
  expect(rows.map((r) => r.status)).toEqual(['succeeded']);
});

/** Mounts a small tmpfs; false when mounting is not permitted here (then another honest way is used). */
function mountTmpfs(dir: string, size: string): boolean {
  fs.mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0;
}

test('a full PACKS_DIR: packs build exits non-zero, leaves no .tmp file, and every manifest points at a whole ZIP; the next build completes', async () => {
  const packs = path.join(c.dir, 'packs-full');
  const mounted = mountTmpfs(packs, '160k');
  let build: Child;
  if (mounted) {
    build = run(['packs', 'build', '--departement', '2A'], { PACKS_DIR: packs });
  } else {
    // No mount here (not root, no CAP_SYS_ADMIN): a file-size limit makes big writes fail the same
    // way (EFBIG instead of ENOSPC, SIGXFSZ ignored), which exercises the same write-failure path.
    console.log('test:faults: mount -t tmpfs not permitted; using RLIMIT_FSIZE (ulimit -f) instead of a full disk');
    fs.mkdirSync(packs, { recursive: true });
    build = run(['packs', 'build', '--departement', '2A'], { PACKS_DIR: packs }, { fileSizeLimitKb: 4 });
  }
  try {
    const code = await build.exited;
    expect(build.out()).toMatch(/\d+ pack\(s\) built, \d+ unchanged, \d+ failed/);
    expect(build.out()).toMatch(mounted ? /ENOSPC|no space left/i : /EFBIG|file too large/i);
    expect(code).not.toBe(0);
    const leftovers: string[] = [];
    const manifests: string[] = [];
    for (const dir of fs.readdirSync(packs)) {
      for (const f of fs.readdirSync(path.join(packs, dir))) {
        if (f.endsWith('.tmp')) leftovers.push(`${dir}/${f}`);
        if (f === 'latest.json') manifests.push(dir);
      }
    }
    expect(leftovers).toEqual([]);
    expect(manifests.length).toBeGreaterThan(0); // some packs were built before the disk filled
    for (const code of manifests) {
      const m = JSON.parse(fs.readFileSync(path.join(packs, code, 'latest.json'), 'utf8'));
      const v = m.versions[0];
      const zip = fs.readFileSync(path.join(packs, code, v.file));
      expect([code, crypto.createHash('sha256').update(zip).digest('hex')]).toEqual([code, v.sha256]);
    }
  } finally {
    if (mounted) execFileSync('umount', ['-l', packs]);
  }
  // Room again (the same directory, on the ordinary disk now): the build completes.
  fs.rmSync(packs, { recursive: true, force: true });
  const again = run(['packs', 'build', '--departement', '2A'], { PACKS_DIR: packs });
  expect(await again.exited).toBe(0);
});
