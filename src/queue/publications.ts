import { Job, UnrecoverableError, Worker } from 'bullmq';
import { settings } from '../../config/settings';
import { pool } from '../db/pool';
import { pendingTargets, publishCommune, PublicationStoppedError, PublishResult } from '../publish/publish';
import type { ClientOptions } from '../publish/datagouv';
import { closeRedis, closeSharedQueue, isRedisConnectionError, redisConnection, sharedQueue } from './connection';

/**
 * The 'publications' queue: one job per (commune, pack version) to publish on data.gouv.fr.
 * Failures are retried with exponential backoff (RUN_ATTEMPTS attempts); a refused key (401/403)
 * is not retried: the commune's publication stops, with a French message naming it, until a new
 * key is registered. Every attempt is a row of `publication_runs` (the operator's view).
 */
export const PUBLICATIONS_QUEUE = 'publications';

interface PublicationJobData {
  code: string;
  /** The version this job was enqueued for (the latest version is what gets published). */
  version: string;
  trigger: 'build' | 'cli' | 'api' | 'register' | 'test';
}

export interface EnqueuePublicationOptions {
  trigger: PublicationJobData['trigger'];
  /** Attempts (default RUN_ATTEMPTS) and first retry delay (default publicationRetry.backoffMs). */
  attempts?: number;
  backoffMs?: number;
  /** A fresh job even when one for this version exists (a manual run, a new key). */
  fresh?: boolean;
}

/** First retry delay of a failed publication, doubled at each attempt (tests shorten it). */
export const publicationRetry = { backoffMs: 30_000 };

function queue() {
  return sharedQueue<PublicationJobData, PublishResult>(PUBLICATIONS_QUEUE);
}

export async function enqueuePublication(code: string, version: string, opts: EnqueuePublicationOptions): Promise<string | undefined> {
  // One job per commune and version: a second build of the same version adds nothing.
  const jobId = `publish.${code}.${version}${opts.fresh ? `.${Date.now()}` : ''}`;
  const job = await queue().add(
    'publish',
    { code, version, trigger: opts.trigger },
    {
      jobId,
      attempts: opts.attempts ?? settings().RUN_ATTEMPTS,
      backoff: { type: 'exponential', delay: opts.backoffMs ?? publicationRetry.backoffMs },
      removeOnComplete: { count: 1000, age: 14 * 24 * 3600 },
      removeOnFail: { count: 5000 },
    },
  );
  return job.id;
}

/**
 * Enqueues the communes whose latest version is not published yet (all, or among `codes`).
 * Called after every pack build; a commune without registration costs one indexed lookup.
 */
export async function enqueuePendingPublications(codes?: string[], opts: Partial<EnqueuePublicationOptions> = {}): Promise<number> {
  const pending = await pendingTargets(settings(), codes);
  for (const p of pending) await enqueuePublication(p.code, p.version, { trigger: 'build', ...opts });
  return pending.length;
}

async function processPublication(
  job: Job<PublicationJobData, PublishResult>,
  client: ClientOptions | undefined,
  log: (m: string) => void,
): Promise<PublishResult> {
  const db = pool();
  const {
    rows: [run],
  } = await db.query(
    `insert into publication_runs (code, version, status, trigger, job_id, attempt) values ($1, $2, 'running', $3, $4, $5) returning id`,
    [job.data.code, job.data.version, job.data.trigger, job.id, job.attemptsMade + 1],
  );
  const end = (status: string, writes: number, error: string | null, version?: string | null) =>
    db.query(
      `update publication_runs set status = $2, writes = $3, error = $4, version = coalesce($5, version), finished_at = now() where id = $1`,
      [run.id, status, writes, error, version ?? null],
    );
  try {
    const r = await publishCommune(job.data.code, { client, log });
    await end(r.status === 'nothing' ? 'unchanged' : r.status, r.writes, null, r.version);
    return r;
  } catch (err) {
    const stopped = err instanceof PublicationStoppedError;
    await end(stopped ? 'stopped' : 'failed', 0, (err as Error).message);
    // A refused key is not retried: only a new key helps.
    if (stopped) throw new UnrecoverableError((err as Error).message);
    throw err;
  }
}

export interface PublicationsWorker {
  worker: Worker<PublicationJobData, PublishResult>;
  close: () => Promise<void>;
}

/** Consumes the 'publications' queue (started by `dotation worker`). */
export async function startPublicationsWorker(opts: {
  concurrency?: number;
  log: (m: string) => void;
  /** Tests shorten the waits of a 429. */
  client?: ClientOptions;
}): Promise<PublicationsWorker> {
  const s = settings();
  const conn = redisConnection(s.REDIS_URL);
  const worker = new Worker<PublicationJobData, PublishResult>(
    PUBLICATIONS_QUEUE,
    (job) => processPublication(job, opts.client, opts.log),
    {
      connection: conn,
      prefix: s.QUEUE_PREFIX,
      concurrency: opts.concurrency ?? 1,
    },
  );
  worker.on('failed', (job, err) => {
    if (!job) return;
    const retry = !(err instanceof UnrecoverableError) && job.attemptsMade < (job.opts.attempts ?? 1) ? ', nouvel essai prévu' : '';
    opts.log(`publication ${job.data.code} (essai ${job.attemptsMade}) en échec${retry} : ${err.message}`);
  });
  worker.on('error', (err) => {
    // Redis connection errors are reported once by the connection itself (src/queue/connection.ts).
    if (!isRedisConnectionError(err)) opts.log(`publications worker error: ${err.message}`);
  });
  await worker.waitUntilReady();
  let closing: Promise<void> | undefined;
  return {
    worker,
    close: () =>
      (closing ??= (async () => {
        await worker.close();
        await closeRedis(conn);
      })()),
  };
}

export async function closePublicationsQueue(): Promise<void> {
  await closeSharedQueue(PUBLICATIONS_QUEUE);
}
