import path from 'node:path';
import crypto from 'node:crypto';
import { freshDatabase } from './helpers/db';
import { resetSettings, settings } from '../config/settings';
import { pool } from '../src/db/pool';
import { listRuns } from '../src/cli';
import { closeQueues, enqueueRun, runsQueue } from '../src/queue/queue';
import { RunWorker, startWorker } from '../src/queue/worker';
import { scheduledRunJobId, SchedulerHandle, startScheduler } from '../src/queue/scheduler';
import { closeRedisConnections } from '../src/queue/connection';

let db: Awaited<ReturnType<typeof freshDatabase>>;
let worker: RunWorker | undefined;
const schedulers: SchedulerHandle[] = [];
const prefixes: string[] = [];

/** Polls the job's state until it is one of `states` (BullMQ retries happen in between). */
async function waitForState(jobId: string, states: string[], timeoutMs = 90_000): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    const job = await runsQueue().getJob(jobId);
    const state = job ? await job.getState() : 'missing';
    if (states.includes(state)) return state;
    if (Date.now() - t0 > timeoutMs) throw new Error(`job ${jobId} still '${state}' after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  db = await freshDatabase();
  prefixes.push(settings().QUEUE_PREFIX);
  worker = await startWorker({ concurrency: 1, handleSignals: false });
});

afterAll(async () => {
  await worker?.close();
  for (const s of schedulers) await s.stop();
  // Leave nothing behind in the shared Redis.
  for (const prefix of prefixes) {
    process.env.QUEUE_PREFIX = prefix;
    resetSettings();
    await runsQueue()
      .obliterate({ force: true })
      .catch(() => undefined);
    await closeQueues();
  }
  await closeRedisConnections();
  await db.cleanup();
});

describe('runs queue and worker', () => {
  test('a queued cog job is processed by the worker and recorded as a succeeded worker run', async () => {
    expect(settings().QUEUE_PREFIX).toMatch(/^dotation-test-/);
    const job = await enqueueRun('cog', { trigger: 'test' });
    expect(job.id).toBeTruthy();
    expect(await waitForState(job.id!, ['completed', 'failed'])).toBe('completed');
    const done = await runsQueue().getJob(job.id!);
    expect(done!.returnvalue.status).toBe('succeeded');
    const { rows } = await pool().query(`select id, source, status, trigger, attempt from runs where job_id = $1`, [job.id]);
    expect(rows).toEqual([{ id: done!.returnvalue.runId, source: 'cog', status: 'succeeded', trigger: 'worker', attempt: 1 }]);
  });

  test('a failing job is retried, then ends failed with one failed run per attempt', async () => {
    const missing = path.join('/nonexistent', `populations-${crypto.randomBytes(3).toString('hex')}.xlsx`);
    const job = await enqueueRun('populations', { file: missing, trigger: 'test', attempts: 2, backoffMs: 10 });
    expect(await waitForState(job.id!, ['completed', 'failed'])).toBe('failed');
    const failed = await runsQueue().getJob(job.id!);
    expect(failed!.attemptsMade).toBe(2);
    expect(failed!.failedReason).toContain('no such file');

    const runs = (await listRuns(50)).filter((r) => r.source === 'populations');
    expect(runs.map((r) => [r.status, r.trigger, r.attempt])).toEqual([
      ['failed', 'worker', 2],
      ['failed', 'worker', 1],
    ]);
    for (const r of runs) expect(String(r.error)).toContain('no such file');
    const { rows } = await pool().query(`select count(*)::int as n from runs where job_id = $1 and status = 'failed'`, [job.id]);
    expect(rows[0].n).toBe(2);
  });

  test('a FormatError run fails once, with no retry (a bad file gives the same result every time)', async () => {
    // Header without 'Exprimés' and 'Voix 1': detectLayout throws a FormatError before anything is staged.
    const bad = path.join(__dirname, 'fixtures', 'elections', 'europeennes-2024-colonnes-manquantes.csv');
    const job = await enqueueRun('elections', { file: bad, resource: 'europeennes-2024', trigger: 'test', attempts: 3, backoffMs: 10 });
    expect(await waitForState(job.id!, ['completed', 'failed'])).toBe('failed');
    const failed = await runsQueue().getJob(job.id!);
    expect(failed!.attemptsMade).toBe(1);
    expect(failed!.failedReason).toMatch(/^FormatError: .*missing columns? .*Exprimés/);
    const { rows } = await pool().query(`select status, attempt, error from runs where job_id = $1`, [job.id]);
    expect(rows).toEqual([{ status: 'failed', attempt: 1, error: expect.stringMatching(/missing columns? .*Exprimés/) }]);
  });
});

describe('scheduler', () => {
  test('the job id is the source and the slot to the minute, in UTC', () => {
    expect(scheduledRunJobId('cog', new Date('2027-01-05T03:00:27.512Z'))).toBe('run:cog:20270105T0300Z');
    expect(scheduledRunJobId('cog', new Date('2027-01-05T04:00:00+01:00'))).toBe('run:cog:20270105T0300Z');
    expect(scheduledRunJobId('cog', new Date('2027-01-05T03:01:00Z'))).not.toBe(scheduledRunJobId('cog', new Date('2027-01-05T03:00:59Z')));
    expect(scheduledRunJobId('populations', new Date('2027-01-05T03:00:00Z'))).toBe('run:populations:20270105T0300Z');
  });

  test('two schedulers firing the same slot enqueue exactly one job', async () => {
    // A queue of its own, out of the worker's reach: the jobs must stay queued to be counted.
    process.env.QUEUE_PREFIX = `${prefixes[0]}-sched`;
    resetSettings();
    prefixes.push(settings().QUEUE_PREFIX);

    const a = await startScheduler({ handleSignals: false, sources: ['cog'] });
    const b = await startScheduler({ handleSignals: false, sources: ['cog'] });
    schedulers.push(a, b);
    // The cron runs in Europe/Paris: '0 4 5 1,2,3 *' is 04:00 in Paris.
    const next = a.tasks.get('cog')!.getNextRun()!;
    const parisHour = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Paris',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(next);
    expect(parisHour).toBe('04:00');

    const slot = new Date('2027-01-05T03:00:00.000Z');
    const [ja, jb] = await Promise.all([a.fire('cog', slot), b.fire('cog', new Date(slot.getTime() + 41_500))]);
    expect(ja.id).toBe('run:cog:20270105T0300Z');
    expect(jb.id).toBe(ja.id);
    const jobs = await runsQueue().getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed']);
    expect(jobs.map((j) => [j.id, j.data.source, j.data.trigger])).toEqual([['run:cog:20270105T0300Z', 'cog', 'schedule']]);

    // The next slot is another run.
    await b.fire('cog', new Date('2027-02-05T03:00:00Z'));
    expect(await runsQueue().count()).toBe(2);
  });
});
