import os from 'node:os';
import path from 'node:path';
import type { freshDatabase } from '../helpers/db';
import { closePools, pool } from '../../src/db/pool';
import { runSource } from '../../src/engine/runner';
import { closeQueues, enqueueRun, runsQueue } from '../../src/queue/queue';
import { closeRedisConnections } from '../../src/queue/connection';
import { resetSettings } from '../../config/settings';
import { Cluster, pgRunning, pgStart, pgStop, readCluster, redisStart, redisStop, redisUp } from './cluster';
import { bigBan35, Child, digest, dotation, faultDatabase, REPO, runnerPid, shadowTables, stagingTables, waitFor } from './helpers';

/**
 * Workers that survive (issue 13, items 2 and 3), against the suite's own PostgreSQL and Redis:
 * kill -9 of a worker mid-COPY, PostgreSQL stopped `-m immediate` mid-job, Redis restarted
 * mid-run. Each case: published data unchanged by the failed attempt, no leaked table, a
 * truthful `runs` row within seconds, the worker process alive (or its death reported).
 */
let c: Cluster;
let db: Awaited<ReturnType<typeof freshDatabase>>;
let big: string;
const children: Child[] = [];

const BAN_ROWS = Number(process.env.DOTATION_FAULTS_BAN_ROWS ?? 1_500_000);
const fixtureBan = path.join(REPO, 'test/fixtures/ban/adresses-35.csv.gz');
/** The BAN states no edition: each run is given one, as an operator would with --millesime. */
const BAN_DAY = '2024-06-01';

function worker(extra: NodeJS.ProcessEnv = {}): Child {
  const w = dotation(['worker', '--concurrency', '1'], { ...db.env, ...extra });
  children.push(w);
  return w;
}

const published = () => digest(pool(), `(select id, code_commune, lon, lat from adresses where departement = '35') `, 'id');
const banRuns = async () =>
  (await pool().query(`select id, status, attempt, error, job_id from runs where source = 'ban' order by id`)).rows as {
    id: string;
    status: string;
    attempt: number;
    error: string | null;
    job_id: string | null;
  }[];

beforeAll(async () => {
  c = readCluster();
  db = await faultDatabase();
  big = await bigBan35(path.join(os.tmpdir(), `dotation-faults-ban-${BAN_ROWS}`, 'adresses-35.csv.gz'), BAN_ROWS);
  // What is published before each fault: the fixture's département 35.
  const first = await runSource('ban', { file: fixtureBan, millesime: BAN_DAY, trigger: 'test', log: () => undefined });
  expect(first.status).toBe('succeeded');
});

afterEach(async () => {
  const state = expect.getState();
  if (state.assertionCalls !== state.numPassingAsserts || process.env.DOTATION_FAULTS_VERBOSE)
    for (const w of children) console.log(`--- worker ${w.proc.pid} output:\n${w.out().slice(-6000)}`);
  for (const w of children.splice(0)) if (w.alive()) w.proc.kill('SIGKILL');
  if (!pgRunning(c)) pgStart(c);
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

/** Waits until a BAN run is copying into its shadow tables, and returns its run id and the pid running it. */
async function midCopy(): Promise<{ runId: number; pid: number }> {
  return waitFor(
    'a BAN run copying into its shadow tables',
    async () => {
      const { rows } = await pool().query(
        `select r.id, (select count(*) from pg_stat_activity a where a.query ilike 'copy %adresses_n' || r.id || '%') as copying
           from runs r where r.source = 'ban' and r.status = 'running' order by r.id desc limit 1`,
      );
      if (!rows[0] || Number(rows[0].copying) === 0) return null;
      const pid = await runnerPid(pool(), 'ban');
      return pid ? { runId: Number(rows[0].id), pid } : null;
    },
    120_000,
    50,
  );
}

test('kill -9 of a worker mid-COPY: another worker marks the run interrupted within seconds and drops its shadow tables; the retry publishes', async () => {
  const before = await published();
  // Worker A takes the job; worker B (another machine sharing the database and queue) starts once A is copying.
  const a = worker();
  await waitFor('worker A ready', () => /processing 'runs'/.test(a.out()), 60_000);
  await enqueueRun('ban', { file: big, millesime: BAN_DAY, force: true, trigger: 'test', attempts: 2, backoffMs: 1000 });
  const { runId, pid } = await midCopy();
  expect(pid).toBe(a.proc.pid);
  const b = worker();
  await waitFor('worker B ready', () => /processing 'runs'/.test(b.out()), 60_000);
  await waitFor('shadow tables with rows', async () => (await shadowTables(pool())).length > 0, 30_000);
  expect((await banRuns()).find((r) => Number(r.id) === runId)!.status).toBe('running');

  a.proc.kill('SIGKILL');
  expect(await a.exited).toBe('SIGKILL');
  const killedAt = Date.now();
  // B's reaper (every 5 s) sees the lease gone: interrupted, tables dropped in the same step.
  await waitFor(
    'the run marked interrupted',
    async () => (await banRuns()).find((r) => Number(r.id) === runId)?.status === 'interrupted',
    15_000,
  );
  const markedIn = (Date.now() - killedAt) / 1000;
  expect(markedIn).toBeLessThan(15);
  const run = (await banRuns()).find((r) => Number(r.id) === runId)!;
  expect(run.error).toMatch(/lease released/);
  // B says so once the tables are dropped (the same step, right after the update).
  await waitFor('worker B to report the interrupted run', () =>
    new RegExp(`run ${runId} \\(ban\\) left running by a stopped process: marked interrupted, its tables dropped`).test(b.out()),
  );
  expect(await tablesLikeRun(runId)).toEqual([]);
  expect(await published()).toEqual(before);

  // The job, stalled with A, is retried by B (BullMQ's stalled check: up to about a minute) and publishes the file.
  const retried = await waitFor(
    'the retry of the job to succeed',
    async () => (await banRuns()).find((r) => Number(r.id) > runId && r.status === 'succeeded'),
    150_000,
    500,
  );
  expect(retried.job_id).toBe(run.job_id);
  expect((await published()).rows).toBeGreaterThan(before.rows);
  expect(await shadowTables(pool())).toEqual([]);
  expect(await stagingTables(pool())).toEqual([]);
  expect(b.alive()).toBe(true);
  console.log(`kill -9 mid-COPY: marked interrupted ${markedIn.toFixed(1)} s after the kill`);
});

const tablesLikeRun = async (runId: number) => [
  ...(await shadowTables(pool())).filter((t) => t.includes(`adresses_n${runId}_`)),
  ...(await stagingTables(pool())).filter((t) => t.includes(`_${runId}_`)),
];

test('PostgreSQL stopped -m immediate mid-job: the worker lives on, records the failure once PostgreSQL is back, and the retry publishes', async () => {
  // Start from the fixture again, so "unchanged" means something.
  expect(
    (
      await runSource('ban', {
        file: fixtureBan,
        millesime: BAN_DAY,
        trigger: 'test',
        force: true,
        allowShrink: true,
        log: () => undefined,
      })
    ).status,
  ).toBe('succeeded');
  const before = await published();
  const w = worker();
  await waitFor('the worker ready', () => /processing 'runs'/.test(w.out()), 60_000);
  const job = await enqueueRun('ban', { file: big, millesime: BAN_DAY, force: true, trigger: 'test', attempts: 3, backoffMs: 1000 });
  const { runId } = await midCopy();
  await closePools(); // the test's own pool would only hold dead connections
  pgStop(c, 'immediate');
  await new Promise((r) => setTimeout(r, 3000));
  expect(w.alive()).toBe(true); // an unhandled 'error' on a checked-out client used to kill it here
  await waitFor('the worker to say it waits for PostgreSQL', () => /PostgreSQL unreachable/.test(w.out()), 30_000);
  pgStart(c);
  resetSettings();

  // The failed attempt is recorded as such once PostgreSQL is back, with its cause (a reaper may
  // first mark it interrupted, its lease being gone; the worker then records why).
  const failed = await waitFor(
    'the first attempt recorded failed',
    async () => (await banRuns()).find((x) => Number(x.id) === runId && x.status === 'failed'),
    60_000,
    200,
  );
  expect(failed.error).toMatch(/database connection lost during the run/);
  expect(await tablesLikeRun(runId)).toEqual([]);
  const duringRetry = await published();
  expect(duringRetry).toEqual(before);

  const retried = await waitFor(
    'the retry to succeed',
    async () => (await banRuns()).find((r) => Number(r.id) > runId && r.job_id === job.id && r.status === 'succeeded'),
    180_000,
    500,
  );
  expect(retried.attempt).toBeGreaterThan(1);
  expect(w.alive()).toBe(true);
  expect(await shadowTables(pool())).toEqual([]);
  expect(await stagingTables(pool())).toEqual([]);
  expect((await published()).rows).toBeGreaterThan(before.rows);
});

test('Redis restarted mid-run: the run goes on and succeeds once, the job completes, the worker lives on', async () => {
  expect(
    (
      await runSource('ban', {
        file: fixtureBan,
        millesime: BAN_DAY,
        trigger: 'test',
        force: true,
        allowShrink: true,
        log: () => undefined,
      })
    ).status,
  ).toBe('succeeded');
  const w = worker();
  await waitFor('the worker ready', () => /processing 'runs'/.test(w.out()), 60_000);
  const job = await enqueueRun('ban', { file: big, millesime: BAN_DAY, force: true, trigger: 'test', attempts: 2, backoffMs: 1000 });
  const { runId } = await midCopy();
  await redisStop(c);
  await new Promise((r) => setTimeout(r, 3000));
  expect(w.alive()).toBe(true);
  await redisStart(c);
  const done = await waitFor(
    'the run to end',
    async () => {
      const r = (await banRuns()).find((x) => Number(x.id) === runId);
      return r && r.status !== 'running' ? r : null;
    },
    180_000,
    500,
  );
  expect(done.status).toBe('succeeded');
  await waitFor('the job completed in BullMQ', async () => (await runsQueue().getJob(job.id!))?.finishedOn, 60_000, 500);
  expect(await (await runsQueue().getJob(job.id!))!.getState()).toBe('completed');
  // One run for the job: the restart did not make BullMQ run it twice.
  expect((await banRuns()).filter((r) => r.job_id === job.id)).toHaveLength(1);
  expect(w.alive()).toBe(true);
  expect(w.out()).toMatch(/\[redis\] .* unreachable .*retrying until it is back/);
  expect(w.out()).toMatch(/\[redis\] .* is back after \d+ s/);
  expect(await shadowTables(pool())).toEqual([]);
});
