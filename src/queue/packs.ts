import crypto from 'node:crypto';
import os from 'node:os';
import { FlowProducer, Job, Queue, Worker } from 'bullmq';
import { settings } from '../../config/settings';
import { pool, transaction } from '../db/pool';
import { buildPacks, CommuneOutcome } from '../packs/build';
import { closeRedis, closeSharedQueue, redisConnection, sharedQueue } from './connection';
import type { RunTrigger } from './queue';

/**
 * Pack builds fanned out on BullMQ.
 *
 *   parent 'packs-build'        job id packs.<buildId>          aggregates, closes the run
 *     child 'packs-departement' job id packs.<buildId>.<dep>    buildPacks() for one département
 *
 * A build is one row of `runs` (source 'packs', job_id = the parent's id): 'queued' when enqueued,
 * 'running' from the first child on, 'succeeded' or 'failed' when the parent has aggregated.
 * Its `progress` (départements done / total, packs built) is recomputed from the ledger
 * (`pack_build_departements`, `pack_build_communes`) each time a child ends.
 * Children retry alone (attempts + exponential backoff): a failed child never rebuilds the others,
 * and a child that fails for good (`ignoreDependencyOnFailure`) still lets the parent close the build,
 * as failed, naming the département. Any number of `dotation worker` processes, on any number of
 * machines sharing REDIS_URL, QUEUE_PREFIX, DATABASE_URL and PACKS_DIR, share the children:
 * BullMQ hands each job to one worker at a time.
 */
export const PACKS_QUEUE = 'packs';
export const PACKS_BUILD_JOB = 'packs-build';
export const PACKS_DEPARTEMENT_JOB = 'packs-departement';

export interface PacksBuildData {
  kind: 'build';
  buildId: string;
  runId: number;
  departements: string[];
  communes: number;
  trigger: string;
  enqueuedAt: string;
}

export interface PacksDepartementData {
  kind: 'departement';
  buildId: string;
  runId: number;
  departement: string;
  /** Only these communes of the département (`--commune`); absent: all of them at build time. */
  communes?: string[];
  force?: boolean;
  /** Re-read rows even when no source was republished (see BuildOptions.recheck). */
  recheck?: boolean;
  /** Fault injection (tests): the first N attempts of this child throw before building. */
  failFirstAttempts?: number;
}

export type PacksJobData = PacksBuildData | PacksDepartementData;

export interface PacksDepartementResult {
  departement: string;
  communes: number;
  built: number;
  unchanged: number;
  failed: number;
  worker: string;
  seconds: number;
}

export interface PacksBuildResult {
  runId: number;
  buildId: string;
  status: 'succeeded' | 'failed';
  departements: number;
  failedDepartements: string[];
  built: number;
  unchanged: number;
  failed: number;
}

export type PacksJobResult = PacksBuildResult | PacksDepartementResult;

export interface EnqueuePacksOptions {
  /** Only these communes (grouped into one child per département). */
  communes?: string[];
  /** Only these départements. */
  departements?: string[];
  force?: boolean;
  /** Re-read rows even when no source was republished (see BuildOptions.recheck). */
  recheck?: boolean;
  trigger: RunTrigger;
  /** Attempts of each child (default settings().RUN_ATTEMPTS). */
  attempts?: number;
  /** First retry delay of the exponential backoff (default 30 s). */
  backoffMs?: number;
  /** Fault injection (tests): département → number of first attempts that fail. */
  failFirstAttempts?: Record<string, number>;
}

export interface EnqueuedPacksBuild {
  buildId: string;
  runId: number;
  /** The parent job id (packs.<buildId>). */
  jobId: string;
  departements: string[];
  communes: number;
}

const PACK_TYPES = ['commune-actuelle', 'arrondissement-municipal'];
const KEEP_COMPLETED = { count: 5000, age: 14 * 24 * 3600 };
/** BullMQ refuses custom ids with more than two ':'; '.' separates the parts here. */
export const parentJobId = (buildId: string) => `packs.${buildId}`;
export const childJobId = (buildId: string, dep: string) => `packs.${buildId}.${dep}`;
const workerName = () => `${os.hostname()}:${process.pid}`;

/** The 'packs' queue for the current settings (inspection, tests), opened on first use. */
export function packsQueue(): Queue<PacksJobData, PacksJobResult> {
  return sharedQueue<PacksJobData, PacksJobResult>(PACKS_QUEUE);
}

export async function closePacksQueue(): Promise<void> {
  await closeSharedQueue(PACKS_QUEUE);
}

/**
 * Enqueues a fan-out build: records the run ('queued'), then adds the flow (parent + one child
 * per département) in one Redis transaction. Returns the parent job id.
 */
export async function enqueuePacksBuild(opts: EnqueuePacksOptions): Promise<EnqueuedPacksBuild> {
  const s = settings();
  const db = pool(s.DATABASE_URL);
  const { rows } = await db.query(
    `select coalesce(departement, left(code, 2)) as dep, array_agg(code order by code) as codes from communes
      where type = any($1::text[]) and ($2::text[] is null or code = any($2::text[]))
        and ($3::text[] is null or coalesce(departement, left(code, 2)) = any($3::text[]))
      group by 1 order by 1`,
    [PACK_TYPES, opts.communes?.length ? opts.communes : null, opts.departements?.length ? opts.departements : null]);
  if (!rows.length) throw new Error('packs build: no commune actuelle or arrondissement municipal matches');
  const deps = rows.map((r) => r.dep as string);
  for (const d of deps) if (!/^[0-9A-Za-z]{2,3}$/.test(d)) throw new Error(`packs build: unexpected département code '${d}'`);
  const communes = rows.reduce((n, r) => n + (r.codes as string[]).length, 0);
  const progress = { departementsTotal: deps.length, departementsDone: 0, departementsFailing: 0, communesTotal: communes, built: 0, unchanged: 0, failed: 0 };
  const { rows: [run] } = await db.query(
    `insert into runs (source, status, trigger, options, progress) values ('packs', 'queued', $1, $2, $3) returning id`,
    [opts.trigger, JSON.stringify({ communes: opts.communes, departements: opts.departements, force: opts.force }), JSON.stringify(progress)]);
  const runId = Number(run.id);
  const buildId = `${runId}-${crypto.randomBytes(3).toString('hex')}`;
  const jobId = parentJobId(buildId);
  await db.query(`update runs set job_id = $2 where id = $1`, [runId, jobId]);

  const attempts = opts.attempts ?? s.RUN_ATTEMPTS;
  const backoff = { type: 'exponential', delay: opts.backoffMs ?? 30_000 };
  const conn = redisConnection(s.REDIS_URL);
  const flow = new FlowProducer({ connection: conn, prefix: s.QUEUE_PREFIX });
  try {
    await flow.add({
      name: PACKS_BUILD_JOB, queueName: PACKS_QUEUE,
      data: { kind: 'build', buildId, runId, departements: deps, communes, trigger: opts.trigger, enqueuedAt: new Date().toISOString() } satisfies PacksBuildData,
      opts: { jobId, attempts, backoff, removeOnComplete: KEEP_COMPLETED, removeOnFail: false },
      children: rows.map((r) => ({
        name: PACKS_DEPARTEMENT_JOB, queueName: PACKS_QUEUE,
        data: {
          kind: 'departement', buildId, runId, departement: r.dep,
          ...(!!opts.communes?.length && { communes: r.codes as string[] }),
          ...(opts.force !== undefined && { force: opts.force }),
          ...(opts.recheck !== undefined && { recheck: opts.recheck }),
          ...(!!opts.failFirstAttempts?.[r.dep] && { failFirstAttempts: opts.failFirstAttempts[r.dep] }),
        } satisfies PacksDepartementData,
        // A child that fails for good goes to the parent's failed dependencies: the parent still runs and closes the build as failed.
        opts: { jobId: childJobId(buildId, r.dep), attempts, backoff, ignoreDependencyOnFailure: true, removeOnComplete: KEEP_COMPLETED, removeOnFail: false },
      })),
    });
  } catch (err) {
    await db.query(`update runs set status = 'failed', finished_at = now(), error = $2 where id = $1`, [runId, `enqueue: ${(err as Error).message}`]).catch(() => undefined);
    throw err;
  } finally {
    await flow.close().catch(() => undefined);
    await closeRedis(conn);
  }
  return { buildId, runId, jobId, departements: deps, communes };
}

/** Recomputes the run's progress from the ledger. Call inside a transaction holding the run row lock. */
const PROGRESS_SQL = `
  update runs r set heartbeat_at = now(), progress = r.progress || (
    select jsonb_build_object(
      'departementsDone', count(*) filter (where d.status = 'succeeded'),
      'departementsFailing', count(*) filter (where d.status = 'failed'),
      'built', (select count(distinct c.code) from pack_build_communes c where c.build_id = $2 and c.status = 'built'),
      'unchanged', coalesce(sum(d.unchanged), 0),
      'failed', coalesce(sum(d.failed), 0))
    from pack_build_departements d where d.build_id = $2)
  where r.id = $1`;

interface ChildRecord {
  status: 'succeeded' | 'failed';
  outcomes: CommuneOutcome[];
  communes: number;
  built: number;
  unchanged: number;
  failed: number;
  seconds: number;
  error?: string;
}

/** Writes the child's ledger rows and the run's progress in one transaction (serialised on the run row). */
async function recordChild(job: Job<PacksDepartementData>, r: ChildRecord): Promise<void> {
  const { buildId, runId, departement } = job.data;
  const attempt = job.attemptsMade + 1;
  const worker = workerName();
  const client = await pool().connect();
  try {
    await transaction(client, async () => {
      await client.query(`select 1 from runs where id = $1 for update`, [runId]);
      if (r.outcomes.length) {
        await client.query(
          `insert into pack_build_communes (build_id, departement, code, status, version, job_id, attempt, worker, error)
           select $1, $2, t.code, t.status, t.version, $3, $4, $5, t.error
             from unnest($6::text[], $7::text[], $8::text[], $9::text[]) as t(code, status, version, error)`,
          [buildId, departement, job.id, attempt, worker, r.outcomes.map((o) => o.code), r.outcomes.map((o) => o.status),
            r.outcomes.map((o) => o.version ?? null), r.outcomes.map((o) => o.error ?? null)]);
      }
      await client.query(
        `insert into pack_build_departements (build_id, run_id, departement, status, job_id, attempt, worker, communes, built, unchanged, failed, seconds, error)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         on conflict (build_id, departement) do update set status = excluded.status, job_id = excluded.job_id, attempt = excluded.attempt,
           worker = excluded.worker, communes = excluded.communes, built = excluded.built, unchanged = excluded.unchanged,
           failed = excluded.failed, seconds = excluded.seconds, error = excluded.error, finished_at = now()`,
        [buildId, runId, departement, r.status, job.id, attempt, worker, r.communes, r.built, r.unchanged, r.failed, r.seconds.toFixed(2), r.error ?? null]);
      await client.query(PROGRESS_SQL, [runId, buildId]);
    });
  } finally {
    client.release();
  }
}

/** One département: buildPacks for its communes, ledger rows, progress. Throws (→ retry of this child only) when a pack failed. */
async function processDepartement(job: Job<PacksDepartementData>): Promise<PacksDepartementResult> {
  const { runId, departement, communes, force, recheck, failFirstAttempts } = job.data;
  const db = pool();
  const t0 = Date.now();
  // The run is 'running' from its first child on (back to running if a stale check marked it interrupted).
  await db.query(`update runs set status = 'running', heartbeat_at = now(), finished_at = null
                   where id = $1 and status in ('queued', 'running', 'interrupted')`, [runId]);
  const heartbeat = setInterval(() => {
    db.query(`update runs set heartbeat_at = now() where id = $1 and status = 'running'`, [runId]).catch(() => undefined);
  }, 10_000);
  heartbeat.unref();
  const outcomes: CommuneOutcome[] = [];
  try {
    if (failFirstAttempts && job.attemptsMade < failFirstAttempts) {
      throw new Error(`injected failure of ${departement}, attempt ${job.attemptsMade + 1} (failFirstAttempts ${failFirstAttempts})`);
    }
    let total = 0;
    const report = await buildPacks({
      departements: [departement], communes, force, recheck, concurrency: 1,
      onCommune: (o) => outcomes.push(o),
      log: settings().LOG_LEVEL === 'silent' ? () => undefined : (m) => console.error(`[packs ${departement}] ${m}`),
      progress: {
        start(_l, t) { total = t ?? 0; },
        update(done) { job.updateProgress({ done, total }).catch(() => undefined); },
        stop() {},
      },
    });
    const seconds = (Date.now() - t0) / 1000;
    const n = report.built + report.unchanged + report.failed;
    if (report.failed) {
      const first = report.errors[0];
      const error = `${report.failed} of ${n} pack(s) failed in ${departement}; first: ${first?.code}: ${first?.error}`;
      await recordChild(job, { status: 'failed', outcomes, communes: n, built: report.built, unchanged: report.unchanged, failed: report.failed, seconds, error });
      throw new Error(error);
    }
    await recordChild(job, { status: 'succeeded', outcomes, communes: n, built: report.built, unchanged: report.unchanged, failed: 0, seconds });
    return { departement, communes: n, built: report.built, unchanged: report.unchanged, failed: 0, worker: workerName(), seconds };
  } catch (err) {
    const message = (err as Error).message;
    if (!/ pack\(s\) failed in /.test(message)) {
      const built = outcomes.filter((o) => o.status === 'built').length;
      const unchanged = outcomes.filter((o) => o.status === 'unchanged').length;
      await recordChild(job, { status: 'failed', outcomes, communes: outcomes.length, built, unchanged, failed: outcomes.length - built - unchanged,
        seconds: (Date.now() - t0) / 1000, error: message }).catch(() => undefined);
    }
    throw err;
  } finally {
    clearInterval(heartbeat);
  }
}

/** The département a child job key ('<prefix>:packs:packs.<buildId>.<dep>') stands for. */
function depOfKey(key: string): string {
  const id = key.slice(key.lastIndexOf(':') + 1);
  return id.split('.')[2] ?? id;
}

/** Runs once every child has ended: aggregates and closes the build's run. */
async function processBuild(job: Job<PacksBuildData>): Promise<PacksBuildResult> {
  const { runId, buildId, departements } = job.data;
  const values = await job.getChildrenValues<PacksDepartementResult>();
  const failures = await job.getIgnoredChildrenFailures();
  const done = Object.values(values);
  const failedDeps = Object.keys(failures).map(depOfKey).sort();
  const db = pool();
  const { rows: [ledger] } = await db.query(
    `select count(distinct code) filter (where status = 'built')::int as built from pack_build_communes where build_id = $1`, [buildId]);
  const unchanged = done.reduce((n, v) => n + v.unchanged, 0);
  const failedPacks = done.reduce((n, v) => n + v.failed, 0);
  const { rows: failedRows } = await db.query(
    `select coalesce(sum(failed), 0)::int as failed, coalesce(sum(communes), 0)::int as communes from pack_build_departements where build_id = $1 and status = 'failed'`, [buildId]);
  const result: PacksBuildResult = {
    runId, buildId, status: failedDeps.length ? 'failed' : 'succeeded', departements: departements.length, failedDepartements: failedDeps,
    built: ledger.built, unchanged, failed: failedPacks + failedRows[0].failed,
  };
  const communes = done.reduce((n, v) => n + v.communes, 0) + failedRows[0].communes;
  const error = failedDeps.length
    ? `${failedDeps.length} of ${departements.length} département(s) failed: ${failedDeps.map((d) => `${d} (${failures[Object.keys(failures).find((k) => depOfKey(k) === d)!]})`).join('; ')}`
    : null;
  const client = await db.connect();
  try {
    await transaction(client, async () => {
      await client.query(`select 1 from runs where id = $1 for update`, [runId]);
      await client.query(PROGRESS_SQL, [runId, buildId]);
      await client.query(
        `update runs set status = $2, finished_at = now(), heartbeat_at = now(), rows_read = $3, rows_loaded = $4, rows_rejected = $5,
           rows_published = $6, error = $7, attempt = greatest(attempt, $8),
           millesime = (select max(millesime) from published_datasets where source = 'cog')
         where id = $1`,
        [runId, result.status, communes, result.built + unchanged, result.failed, result.built, error, job.attemptsMade + 1]);
    });
  } finally {
    client.release();
  }
  return result;
}

export async function processPacksJob(job: Job<PacksJobData, PacksJobResult>): Promise<PacksJobResult> {
  if (job.data.kind === 'build') return processBuild(job as Job<PacksBuildData>);
  if (job.data.kind === 'departement') return processDepartement(job as Job<PacksDepartementData>);
  throw new Error(`packs queue: unknown job kind in ${job.name} ${job.id}`);
}

export interface PacksWorker {
  worker: Worker<PacksJobData, PacksJobResult>;
  close: () => Promise<void>;
}

/** A worker of the 'packs' queue on its own Redis connection (started by `startWorker`). */
export async function startPacksWorker(opts: { concurrency: number; log: (m: string) => void }): Promise<PacksWorker> {
  const s = settings();
  const conn = redisConnection(s.REDIS_URL);
  const worker = new Worker<PacksJobData, PacksJobResult>(PACKS_QUEUE, processPacksJob, {
    connection: conn, prefix: s.QUEUE_PREFIX, concurrency: opts.concurrency,
  });
  const what = (job: Job<PacksJobData>) => (job.data.kind === 'build' ? `build (run ${job.data.runId})` : `département ${job.data.departement}`);
  worker.on('active', (job) => opts.log(`job ${job.id} ${what(job)} started (attempt ${job.attemptsMade + 1}/${job.opts.attempts ?? 1})`));
  worker.on('completed', (job, r) => {
    if ('status' in r) opts.log(`job ${job.id} build ${r.status}: ${r.built} built, ${r.unchanged} unchanged, ${r.failed} failed${r.failedDepartements.length ? `; failed départements ${r.failedDepartements.join(', ')}` : ''}`);
    else opts.log(`job ${job.id} département ${r.departement}: ${r.built} built, ${r.unchanged} unchanged in ${r.seconds.toFixed(1)}s`);
  });
  worker.on('failed', (job, err) => {
    if (!job) { opts.log(`a packs job failed: ${err.message}`); return; }
    const retry = job.attemptsMade < (job.opts.attempts ?? 1) ? ', will retry' : ', no attempt left';
    opts.log(`job ${job.id} ${what(job)} attempt ${job.attemptsMade} failed${retry}: ${err.message}`);
  });
  worker.on('error', (err) => opts.log(`packs worker error: ${err.message}`));
  await worker.waitUntilReady();
  let closing: Promise<void> | undefined;
  return {
    worker,
    close: () => (closing ??= (async () => { await worker.close(); await closeRedis(conn); })()),
  };
}
