import { Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { settings } from '../../config/settings';
import { closePools } from '../db/pool';
import { markInterruptedRuns, runSource } from '../engine/runner';
import { isRetryable } from '../engine/errors';
import { closeRedis, redisConnection } from './connection';
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

/** Processes one 'runs' job: the same `runSource` as `dotation run --inline`, recorded in the runs table. */
async function processRunJob(job: Job<RunJobData, RunJobResult>): Promise<RunJobResult> {
  const { source, file, resource, millesime, force } = job.data;
  const r = await runSource(source, {
    trigger: 'worker',
    jobId: job.id,
    attempt: job.attemptsMade + 1,
    file,
    resource,
    millesime,
    force,
    log: settings().LOG_LEVEL === 'silent' ? () => undefined : undefined,
    onProgress: (p) => {
      job.updateProgress(p).catch(() => undefined);
    },
  }).catch((err: unknown) => {
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
  const interrupted = await markInterruptedRuns();
  if (interrupted) log(`${interrupted} run(s) left running by a stopped process marked interrupted`);

  const conn: Redis = redisConnection(s.REDIS_URL);
  const worker = new Worker<RunJobData, RunJobResult>(RUNS_QUEUE, processRunJob, {
    connection: conn,
    prefix: s.QUEUE_PREFIX,
    concurrency: opts.concurrency ?? s.WORKER_CONCURRENCY,
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
  worker.on('error', (err) => log(`worker error: ${err.message}`));

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
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
  await worker.waitUntilReady();
  log(`processing '${RUNS_QUEUE}' (prefix ${s.QUEUE_PREFIX}, concurrency ${worker.opts.concurrency})`);
  if (packs) log(`processing '${PACKS_QUEUE}' (prefix ${s.QUEUE_PREFIX}, concurrency ${packs.worker.opts.concurrency})`);
  if (publications) log(`processing '${PUBLICATIONS_QUEUE}' (prefix ${s.QUEUE_PREFIX})`);
  return { worker, packs, publications, close };
}
