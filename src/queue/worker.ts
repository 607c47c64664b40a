import { Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { settings } from '../../config/settings';
import type { Pool, PoolClient } from 'pg';
import { closePools, isConnectionError, pool, transaction, waitForDatabase } from '../db/pool';
import { sourceRegistry } from '../../config/sources';
import { dropRunLeftovers, reapDeadRuns, sweepLeftovers } from '../engine/lease';
import { runSource } from '../engine/runner';
import { isRetryable } from '../engine/errors';
import { closeRedis, isRedisConnectionError, redisConnection, redisLabel } from './connection';
import { closeQueues, RUNS_QUEUE, RunJobData } from './queue';
import { PACKS_QUEUE, PacksWorker, startPacksWorker } from './packs';
import { PUBLICATIONS_QUEUE, PublicationsWorker, startPublicationsWorker } from './publications';
import { logTo, logger } from '../log';

interface RunJobResult {
  runId: number;
  status: 'succeeded' | 'unchanged' | 'failed';
  millesime: string | null;
  read: number;
  loaded: number;
  rejected: number;
  published: number;
}

export interface WorkerOptions {
  /** Jobs run at once (default settings().WORKER_CONCURRENCY). */
  concurrency?: number;
  /** Pack jobs (one département each) run at once (default: `concurrency`). */
  packsConcurrency?: number;
  /** Also consume the 'packs' queue (default true). */
  packs?: boolean;
  /** Also consume the 'publications' queue, to data.gouv.fr (default true). */
  publications?: boolean;
  /** Close gracefully and exit on SIGTERM/SIGINT (default true; tests pass false). */
  handleSignals?: boolean;
  log?: (m: string) => void;
}

export interface RunWorker {
  worker: Worker<RunJobData, RunJobResult>;
  /** The worker of the 'packs' queue (fan-out pack builds), unless `packs: false`. */
  packs?: PacksWorker;
  publications?: PublicationsWorker;
  /** Waits for the jobs in progress, then closes the worker and its Redis connection. */
  close: () => Promise<void>;
}

/** How often a worker looks for runs whose process died (src/engine/lease.ts). */
const REAP_EVERY_MS = 5000;
/** Every this many looks, it also sweeps the leftovers of finished runs (about once a minute). */
const SWEEP_EVERY_TICKS = 12;

/**
 * A job that failed because PostgreSQL went away (stopped, restarting) waits here until it is
 * back, records the failure its run could not record, and only then fails, so that BullMQ's
 * retry runs against a live database instead of burning the attempts while it is down.
 */
async function afterConnectionLoss(err: unknown, source: string, log: (m: string) => void): Promise<void> {
  if (!isConnectionError(err)) return;
  const db = pool();
  log(`${source}: the database connection was lost during the run (${(err as Error).message})`);
  if (!(await waitForDatabase(db, { log }))) return;
  const runId = (err as { unrecordedRunId?: number }).unrecordedRunId;
  if (runId !== undefined) {
    const record = (q: Pool | PoolClient) =>
      q.query(
        `update runs set status = 'failed', finished_at = coalesce(finished_at, now()), error = $2
          where id = $1 and status in ('running', 'interrupted')`,
        [runId, `database connection lost during the run: ${(err as Error).message}`],
      );
    // The status and the drop of the run's leftovers in one transaction: whoever sees the run
    // 'failed' finds its tables gone (the leftovers of a run still 'running' are never dropped).
    const client = await db.connect().catch(() => null);
    const together = client
      ? await transaction(client, async () => {
          await record(client);
          await dropRunLeftovers(client, source, runId);
        }).then(
          () => true,
          () => false,
        )
      : false;
    client?.release();
    // A drop that failed inside (caught there) turns the COMMIT into a rollback: check what holds.
    const held =
      together &&
      (await db.query(`select 1 from runs where id = $1 and status = 'failed'`, [runId]).then(
        (r) => r.rowCount === 1,
        () => false,
      ));
    if (!held) {
      await record(db).catch(() => undefined);
      await dropRunLeftovers(db, source, runId);
    }
  }
}

/** Processes one 'runs' job: the same `runSource` as `dotation run --inline`, recorded in the runs table. */
async function processRunJob(job: Job<RunJobData, RunJobResult>, log: (m: string) => void): Promise<RunJobResult> {
  const { source, file, resource, millesime, force, allowShrink } = job.data;
  const r = await runSource(source, {
    trigger: 'worker',
    jobId: job.id,
    attempt: job.attemptsMade + 1,
    file,
    resource,
    millesime,
    force,
    allowShrink,
    log: settings().LOG_LEVEL === 'silent' ? () => undefined : undefined,
    onProgress: (p) => {
      job.updateProgress(p).catch(() => undefined);
    },
  }).catch(async (err: unknown) => {
    // PostgreSQL went away: wait for it, record the failure, then let BullMQ retry.
    await afterConnectionLoss(err, source, log);
    // runSource has already recorded the failed attempt. A content error (a bad file, a count that
    // does not add up) gives the same result every time: no retry. Anything else is retried with backoff.
    if (isRetryable(err)) throw err;
    throw new UnrecoverableError(`${(err as Error).name}: ${(err as Error).message}`);
  });
  return {
    runId: r.runId,
    status: r.status,
    millesime: r.millesime,
    read: r.read,
    loaded: r.loaded,
    rejected: r.rejected,
    published: r.published,
  };
}

/**
 * Starts a worker of the 'runs' queue. Runs left 'running' by a killed process are first marked
 * interrupted. One log line per job start and end.
 */
export async function startWorker(opts: WorkerOptions = {}): Promise<RunWorker> {
  const s = settings();
  const log = opts.log ?? logTo('worker');
  let ticks = 0;
  const reap = async () => {
    const dead = await reapDeadRuns(pool());
    for (const r of dead) log(`run ${r.id} (${r.source}) left running by a stopped process: marked interrupted, its tables dropped`);
    // Now and then, tables of finished runs that could not drop their own (the database was away).
    if (ticks++ % SWEEP_EVERY_TICKS === 0) {
      const n = await sweepLeftovers(pool(), sourceRegistry());
      if (n) log(`${n} staging table(s) of finished runs dropped`);
    }
  };
  // PostgreSQL down at start does not stop the worker: jobs wait for it (see afterConnectionLoss).
  await reap().catch((err) => log(`cannot look for interrupted runs yet: ${(err as Error).message}`));
  const reaper = setInterval(() => void reap().catch(() => undefined), REAP_EVERY_MS);
  reaper.unref();

  const conn: Redis = redisConnection(s.REDIS_URL);
  const worker = new Worker<RunJobData, RunJobResult>(RUNS_QUEUE, (job) => processRunJob(job, log), {
    connection: conn,
    prefix: s.QUEUE_PREFIX,
    concurrency: opts.concurrency ?? s.WORKER_CONCURRENCY,
  });
  // At once: BullMQ reports Redis errors through this event while it waits for Redis.
  worker.on('error', (err) => {
    if (!isRedisConnectionError(err)) log(`worker error: ${err.message}`);
  });
  const packs =
    (opts.packs ?? true)
      ? await startPacksWorker({ concurrency: opts.packsConcurrency ?? opts.concurrency ?? s.WORKER_CONCURRENCY, log })
      : undefined;
  const publications = (opts.publications ?? true) ? await startPublicationsWorker({ log }) : undefined;
  const started = new Map<string, number>();
  const label = (job: Job<RunJobData>) => `job ${job.id} ${job.data.source} (attempt ${job.attemptsMade + 1}/${job.opts.attempts ?? 1})`;
  worker.on('active', (job) => {
    started.set(String(job.id), Date.now());
    log(`${label(job)} started`);
  });
  const elapsed = (job: Job) => {
    const t0 = started.get(String(job.id));
    started.delete(String(job.id));
    return t0 === undefined ? '' : ` in ${((Date.now() - t0) / 1000).toFixed(1)}s`;
  };
  worker.on('completed', (job, r) => log(`job ${job.id} ${job.data.source} ${r.status}${elapsed(job)} (run ${r.runId})`));
  worker.on('failed', (job, err) => {
    if (!job) {
      log(`a job failed: ${err.message}`);
      return;
    }
    // attemptsMade already counts this attempt here.
    const retry =
      err instanceof UnrecoverableError || err.name === 'UnrecoverableError'
        ? ', not retried (content error)'
        : job.attemptsMade < (job.opts.attempts ?? 1)
          ? ', will retry'
          : ', no attempt left';
    log(`job ${job.id} ${job.data.source} attempt ${job.attemptsMade} failed${elapsed(job)}${retry}: ${err.message}`);
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      clearInterval(reaper);
      await Promise.all([worker.close(), packs?.close(), publications?.close()]);
      await closeRedis(conn);
    })();
    return closing;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: waiting for the jobs in progress, then stopping`);
    close()
      .then(() => closeQueues())
      .then(() => closePools())
      .then(
        () => process.exit(0),
        (err) => {
          logger().error(`worker shutdown: ${(err as Error).message}`);
          process.exit(1);
        },
      );
  };
  if (opts.handleSignals ?? true) {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  if (conn.status !== 'ready') log(`waiting for Redis at ${redisLabel(s.REDIS_URL)}`);
  await worker.waitUntilReady();
  log(`processing '${RUNS_QUEUE}' (prefix ${s.QUEUE_PREFIX}, concurrency ${worker.opts.concurrency})`);
  if (packs) log(`processing '${PACKS_QUEUE}' (prefix ${s.QUEUE_PREFIX}, concurrency ${packs.worker.opts.concurrency})`);
  if (publications) log(`processing '${PUBLICATIONS_QUEUE}' (prefix ${s.QUEUE_PREFIX})`);
  return { worker, packs, publications, close };
}
