import { Job, Queue } from 'bullmq';
import { settings } from '../../config/settings';
import { closeSharedQueue, readyQueue, sharedQueue } from './connection';

/** The BullMQ queue of source runs. */
export const RUNS_QUEUE = 'runs';

export type RunTrigger = 'cli' | 'schedule' | 'start' | 'api' | 'test';

export interface RunJobData {
  source: string;
  file?: string;
  resource?: string;
  /** Edition stated by the operator for a hand-copied file. */
  millesime?: string;
  force?: boolean;
  /** Publish even what the publication guard would refuse (`--allow-shrink`). */
  allowShrink?: boolean;
  /** Who asked for the run (the runs table records trigger 'worker' with the job id). */
  trigger: RunTrigger;
  enqueuedAt: string;
}

export interface EnqueueOptions {
  file?: string;
  resource?: string;
  millesime?: string;
  force?: boolean;
  /** Publish even what the publication guard would refuse (`--allow-shrink`). */
  allowShrink?: boolean;
  trigger: RunTrigger;
  /** Deterministic id: BullMQ adds nothing when a job with this id already exists. */
  jobId?: string;
  /** Defaults to settings().RUN_ATTEMPTS. */
  attempts?: number;
  /** First retry delay of the exponential backoff (default 30 s). */
  backoffMs?: number;
  /** How long to wait for Redis before failing with RedisUnavailableError (default 5 s; HTTP routes: REQUEST_WAIT_MS). */
  redisWaitMs?: number;
}

/** Completed jobs kept in Redis (the runs table is the durable ledger). */
const KEEP_COMPLETED = { count: 500, age: 14 * 24 * 3600 };

/** The 'runs' queue for the current settings (REDIS_URL, QUEUE_PREFIX), opened on first use. */
export function runsQueue(): Queue<RunJobData> {
  return sharedQueue<RunJobData, unknown>(RUNS_QUEUE) as Queue<RunJobData>;
}

/** Enqueues one run of `source`; a worker (`dotation worker`) processes it. */
export async function enqueueRun(source: string, opts: EnqueueOptions): Promise<Job<RunJobData>> {
  const data: RunJobData = {
    source,
    trigger: opts.trigger,
    enqueuedAt: new Date().toISOString(),
    ...(opts.file !== undefined && { file: opts.file }),
    ...(opts.resource !== undefined && { resource: opts.resource }),
    ...(opts.millesime !== undefined && { millesime: opts.millesime }),
    ...(opts.force !== undefined && { force: opts.force }),
    ...(opts.allowShrink && { allowShrink: true }),
  };
  const queue = await readyQueue<RunJobData, unknown>(
    RUNS_QUEUE,
    `the run of ${source} was not enqueued (start Redis, or run it here with --inline)`,
    opts.redisWaitMs,
  );
  return (queue as Queue<RunJobData>).add(source, data, {
    jobId: opts.jobId,
    attempts: opts.attempts ?? settings().RUN_ATTEMPTS,
    backoff: { type: 'exponential', delay: opts.backoffMs ?? 30_000 },
    removeOnComplete: KEEP_COMPLETED,
    // Failed jobs stay for inspection (the runs table keeps each attempt's error too).
    removeOnFail: false,
  });
}

/** Closes the queue and its Redis connection (end of CLI commands, tests). */
export async function closeQueues(): Promise<void> {
  await closeSharedQueue(RUNS_QUEUE);
}
