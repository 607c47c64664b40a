import crypto from 'node:crypto';
import os from 'node:os';
import { FlowProducer, Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { settings } from '../../config/settings';
import { pool, transaction } from '../db/pool';
import { buildPacks, CommuneOutcome } from '../packs/build';
import { inlineBuildHolder } from '../packs/lock';
import { closeRedis, closeSharedQueue, isRedisConnectionError, redisConnection, redisReady, sharedQueue } from './connection';
import type { RunTrigger } from './queue';
import { logTo } from '../log';

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
 *
 * One build at a time: `enqueuePacksBuild` refuses (PacksBuildActiveError, CLI exit code 75) while
 * a parent 'packs-build' job of the queue is not finished (waiting for its children, waiting,
 * active, delayed for a retry). The parent job's state in BullMQ is the only truth, so nothing
 * can stay locked by a dead process: a crashed worker's child is stalled and retried by another
 * worker (the build goes on), and a build whose jobs are gone from Redis no longer counts. The
 * check and the enqueue run under a short Redis mutex (SET NX with a lease, released by its owner)
 * so that two operators, or machines, starting a build at the same instant get one build.
 *
 * Retention: when a build ends, the ledger rows (`pack_build_communes`, `pack_build_departements`)
 * of all but the last PACK_BUILDS_KEPT builds are deleted (builds still queued or running are kept).
 */
export const PACKS_QUEUE = 'packs';
const PACKS_BUILD_JOB = 'packs-build';
const PACKS_DEPARTEMENT_JOB = 'packs-departement';

interface PacksBuildData {
  kind: 'build';
  buildId: string;
  runId: number;
  departements: string[];
  communes: number;
  trigger: string;
  enqueuedAt: string;
}

interface PacksDepartementData {
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

interface PacksDepartementResult {
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
  /** How long to wait for Redis before failing with RedisUnavailableError (default 5 s; HTTP routes: REQUEST_WAIT_MS). */
  redisWaitMs?: number;
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
const parentJobId = (buildId: string) => `packs.${buildId}`;
export const childJobId = (buildId: string, dep: string) => `packs.${buildId}.${dep}`;
const workerName = () => `${os.hostname()}:${process.pid}`;

/** Parent job states of a build that has not ended. */
const ACTIVE_STATES = ['waiting-children', 'wait', 'active', 'delayed', 'prioritized'] as const;
/** Lease of the enqueue mutex: the longest a (dead) enqueuer can hold it. */
const ENQUEUE_LEASE_MS = 60_000;
/** How long a second enqueuer waits for the mutex before refusing. */
const ENQUEUE_WAIT_MS = 15_000;
/** Redis key of the enqueue mutex; outside the queue's key space (`<prefix>:packs:<job id>`). */
const packsEnqueueLockKey = (prefix = settings().QUEUE_PREFIX) => `${prefix}:packs-enqueue-lock`;

/** The build that is already queued or running when another one is asked for. */
export interface ActivePacksBuild {
  jobId: string;
  buildId: string;
  runId: number | null;
  /** The parent job's state in BullMQ. */
  state: string;
  /** The run's status (`runs` row), when its row exists. */
  status: string | null;
  startedAt: Date | null;
  progress: Record<string, number> | null;
}

/** Refusal to start a build while another one has not ended (CLI exit code 75). */
export class PacksBuildActiveError extends Error {
  readonly exitCode = 75;
  constructor(
    readonly active: ActivePacksBuild | null,
    message: string,
  ) {
    super(message);
    this.name = 'PacksBuildActiveError';
  }
}

function describeActive(a: ActivePacksBuild): string {
  const run = a.runId === null ? 'no run row' : `run ${a.runId}, ${a.status ?? 'unknown'}`;
  const since = a.startedAt ? ` since ${a.startedAt.toISOString().slice(0, 19).replace('T', ' ')} UTC` : '';
  const p = a.progress;
  const progress = p && p.departementsTotal !== undefined ? `, ${p.departementsDone ?? 0}/${p.departementsTotal} départements done` : '';
  return `packs build ${a.jobId} (${run}${since}${progress}; job ${a.state})`;
}

/**
 * The unfinished builds of the 'packs' queue (normally at most one): parent jobs whose state is not
 * completed or failed, oldest first, with their run row.
 */
async function activePacksBuilds(queue: Queue = packsQueue() as unknown as Queue): Promise<ActivePacksBuild[]> {
  const jobs = (await queue.getJobs([...ACTIVE_STATES])).filter((j) => j?.name === PACKS_BUILD_JOB && j.id);
  const seen = new Set<string>();
  const out: ActivePacksBuild[] = [];
  for (const job of jobs) {
    if (seen.has(job.id!)) continue;
    seen.add(job.id!);
    const state = await job.getState();
    if (state === 'completed' || state === 'failed' || state === 'unknown') continue; // ended (or removed) meanwhile
    const {
      rows: [run],
    } = await pool().query(
      `select id, status, started_at, progress from runs where source = 'packs' and job_id = $1 order by id desc limit 1`,
      [job.id],
    );
    out.push({
      jobId: job.id!,
      buildId: (job.data as PacksBuildData).buildId,
      state,
      runId: run ? Number(run.id) : null,
      status: run?.status ?? null,
      startedAt: run?.started_at ?? null,
      progress: run?.progress ?? null,
    });
  }
  return out.sort((a, b) => (a.runId ?? 0) - (b.runId ?? 0));
}

const RELEASE_LUA = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * Holds the enqueue mutex while `fn` runs: SET NX PX (a lease, so a process that dies holding it
 * blocks the others for ENQUEUE_LEASE_MS at most), released only by its owner.
 */
async function withEnqueueLock<T>(conn: Redis, fn: () => Promise<T>): Promise<T> {
  const key = packsEnqueueLockKey();
  const token = `${crypto.randomBytes(8).toString('hex')} ${workerName()}`;
  const t0 = Date.now();
  while ((await conn.set(key, token, 'PX', ENQUEUE_LEASE_MS, 'NX')) !== 'OK') {
    if (Date.now() - t0 > ENQUEUE_WAIT_MS) {
      const holder = await conn.get(key);
      throw new PacksBuildActiveError(
        null,
        `packs build: another packs build is being started right now${holder ? ` (by ${holder.split(' ')[1]})` : ''}; see 'dotation runs'`,
      );
    }
    await new Promise((r) => setTimeout(r, 100 + Math.floor(Math.random() * 100)));
  }
  try {
    return await fn();
  } finally {
    await conn.eval(RELEASE_LUA, 1, key, token).catch(() => undefined);
  }
}

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
 * Throws PacksBuildActiveError, recording nothing, while another build of the queue has not ended.
 */
export async function enqueuePacksBuild(opts: EnqueuePacksOptions): Promise<EnqueuedPacksBuild> {
  const s = settings();
  const db = pool(s.DATABASE_URL);
  const { rows } = await db.query(
    `select coalesce(departement, left(code, 2)) as dep, array_agg(code order by code) as codes from communes
      where type = any($1::text[]) and ($2::text[] is null or code = any($2::text[]))
        and ($3::text[] is null or coalesce(departement, left(code, 2)) = any($3::text[]))
      group by 1 order by 1`,
    [PACK_TYPES, opts.communes?.length ? opts.communes : null, opts.departements?.length ? opts.departements : null],
  );
  if (!rows.length) throw new Error('packs build: no commune actuelle or arrondissement municipal matches');
  const deps = rows.map((r) => r.dep as string);
  for (const d of deps) if (!/^[0-9A-Za-z]{2,3}$/.test(d)) throw new Error(`packs build: unexpected département code '${d}'`);
  const communes = rows.reduce((n, r) => n + (r.codes as string[]).length, 0);
  const conn = redisConnection(s.REDIS_URL, { producer: true });
  const queue = new Queue<PacksJobData, PacksJobResult>(PACKS_QUEUE, { connection: conn, prefix: s.QUEUE_PREFIX });
  queue.on('error', () => undefined);
  try {
    await redisReady(conn, 'the packs build was not enqueued (start Redis, or build here without --queue)', opts.redisWaitMs);
    return await withEnqueueLock(conn, async () => {
      const inline = await inlineBuildHolder(db);
      if (inline) {
        throw new PacksBuildActiveError(
          null,
          `packs build refused: a pack build is running in another process (database session ${inline.pid}, ${inline.application}, since ${inline.since}); one build at a time. Start the fan-out once it has ended`,
        );
      }
      const [active] = await activePacksBuilds(queue as unknown as Queue);
      if (active) {
        throw new PacksBuildActiveError(
          active,
          `packs build refused: ${describeActive(active)} has not ended; one build at a time. Follow it with 'dotation runs'; start a new one once it has ended`,
        );
      }
      return await addBuild(opts, rows, deps, communes, conn);
    });
  } finally {
    await queue.close().catch(() => undefined);
    await closeRedis(conn);
  }
}

/** Records the run and adds the flow (called under the enqueue mutex). */
async function addBuild(
  opts: EnqueuePacksOptions,
  rows: { dep: string; codes: string[] }[],
  deps: string[],
  communes: number,
  conn: Redis,
): Promise<EnqueuedPacksBuild> {
  const s = settings();
  const db = pool(s.DATABASE_URL);
  const progress = {
    departementsTotal: deps.length,
    departementsDone: 0,
    departementsFailing: 0,
    communesTotal: communes,
    built: 0,
    unchanged: 0,
    failed: 0,
  };
  const {
    rows: [run],
  } = await db.query(`insert into runs (source, status, trigger, options, progress) values ('packs', 'queued', $1, $2, $3) returning id`, [
    opts.trigger,
    JSON.stringify({ communes: opts.communes, departements: opts.departements, force: opts.force }),
    JSON.stringify(progress),
  ]);
  const runId = Number(run.id);
  const buildId = `${runId}-${crypto.randomBytes(3).toString('hex')}`;
  const jobId = parentJobId(buildId);
  await db.query(`update runs set job_id = $2 where id = $1`, [runId, jobId]);

  const attempts = opts.attempts ?? s.RUN_ATTEMPTS;
  const backoff = { type: 'exponential', delay: opts.backoffMs ?? 30_000 };
  const flow = new FlowProducer({ connection: conn, prefix: s.QUEUE_PREFIX });
  try {
    await flow.add({
      name: PACKS_BUILD_JOB,
      queueName: PACKS_QUEUE,
      data: {
        kind: 'build',
        buildId,
        runId,
        departements: deps,
        communes,
        trigger: opts.trigger,
        enqueuedAt: new Date().toISOString(),
      } satisfies PacksBuildData,
      opts: { jobId, attempts, backoff, removeOnComplete: KEEP_COMPLETED, removeOnFail: false },
      children: rows.map((r) => ({
        name: PACKS_DEPARTEMENT_JOB,
        queueName: PACKS_QUEUE,
        data: {
          kind: 'departement',
          buildId,
          runId,
          departement: r.dep,
          ...(!!opts.communes?.length && { communes: r.codes as string[] }),
          ...(opts.force !== undefined && { force: opts.force }),
          ...(opts.recheck !== undefined && { recheck: opts.recheck }),
          ...(!!opts.failFirstAttempts?.[r.dep] && { failFirstAttempts: opts.failFirstAttempts[r.dep] }),
        } satisfies PacksDepartementData,
        // A child that fails for good goes to the parent's failed dependencies: the parent still runs and closes the build as failed.
        opts: {
          jobId: childJobId(buildId, r.dep),
          attempts,
          backoff,
          ignoreDependencyOnFailure: true,
          removeOnComplete: KEEP_COMPLETED,
          removeOnFail: false,
        },
      })),
    });
  } catch (err) {
    await db
      .query(`update runs set status = 'failed', finished_at = now(), error = $2 where id = $1`, [
        runId,
        `enqueue: ${(err as Error).message}`,
      ])
      .catch(() => undefined);
    throw err;
  } finally {
    await flow.close().catch(() => undefined);
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
          [
            buildId,
            departement,
            job.id,
            attempt,
            worker,
            r.outcomes.map((o) => o.code),
            r.outcomes.map((o) => o.status),
            r.outcomes.map((o) => o.version ?? null),
            r.outcomes.map((o) => o.error ?? null),
          ],
        );
      }
      await client.query(
        `insert into pack_build_departements (build_id, run_id, departement, status, job_id, attempt, worker, communes, built, unchanged, failed, seconds, error)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         on conflict (build_id, departement) do update set status = excluded.status, job_id = excluded.job_id, attempt = excluded.attempt,
           worker = excluded.worker, communes = excluded.communes, built = excluded.built, unchanged = excluded.unchanged,
           failed = excluded.failed, seconds = excluded.seconds, error = excluded.error, finished_at = now()`,
        [
          buildId,
          runId,
          departement,
          r.status,
          job.id,
          attempt,
          worker,
          r.communes,
          r.built,
          r.unchanged,
          r.failed,
          r.seconds.toFixed(2),
          r.error ?? null,
        ],
      );
      await client.query(PROGRESS_SQL, [runId, buildId]);
    });
  } finally {
    client.release();
  }
}

/** One département: buildPacks for its communes, ledger rows, progress. Throws (→ retry of this child only) when a pack failed. */
async function processDepartement(job: Job<PacksDepartementData>): Promise<PacksDepartementResult> {
  const { runId, buildId, departement, communes, force, recheck, failFirstAttempts } = job.data;
  const db = pool();
  const t0 = Date.now();
  // The run is 'running' from its first child on (back to running if a stale check marked it interrupted).
  await db.query(
    `update runs set status = 'running', heartbeat_at = now(), finished_at = null
                   where id = $1 and status in ('queued', 'running', 'interrupted')`,
    [runId],
  );
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
      departements: [departement],
      communes,
      // Every département of the fan-out is one build in the national change feed.
      buildId,
      force,
      recheck,
      concurrency: 1,
      onCommune: (o) => outcomes.push(o),
      log: logTo(`packs ${departement}`),
      progress: {
        start(_l, t) {
          total = t ?? 0;
        },
        update(done) {
          job.updateProgress({ done, total }).catch(() => undefined);
        },
        stop() {},
      },
    });
    const seconds = (Date.now() - t0) / 1000;
    const n = report.built + report.unchanged + report.failed;
    if (report.failed) {
      const first = report.errors[0];
      const error = `${report.failed} of ${n} pack(s) failed in ${departement}; first: ${first?.code}: ${first?.error}`;
      await recordChild(job, {
        status: 'failed',
        outcomes,
        communes: n,
        built: report.built,
        unchanged: report.unchanged,
        failed: report.failed,
        seconds,
        error,
      });
      throw new Error(error);
    }
    await recordChild(job, {
      status: 'succeeded',
      outcomes,
      communes: n,
      built: report.built,
      unchanged: report.unchanged,
      failed: 0,
      seconds,
    });
    return { departement, communes: n, built: report.built, unchanged: report.unchanged, failed: 0, worker: workerName(), seconds };
  } catch (err) {
    const message = (err as Error).message;
    if (!/ pack\(s\) failed in /.test(message)) {
      const built = outcomes.filter((o) => o.status === 'built').length;
      const unchanged = outcomes.filter((o) => o.status === 'unchanged').length;
      await recordChild(job, {
        status: 'failed',
        outcomes,
        communes: outcomes.length,
        built,
        unchanged,
        failed: outcomes.length - built - unchanged,
        seconds: (Date.now() - t0) / 1000,
        error: message,
      }).catch(() => undefined);
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
  const {
    rows: [ledger],
  } = await db.query(
    `select count(distinct code) filter (where status = 'built')::int as built from pack_build_communes where build_id = $1`,
    [buildId],
  );
  const unchanged = done.reduce((n, v) => n + v.unchanged, 0);
  const failedPacks = done.reduce((n, v) => n + v.failed, 0);
  const { rows: failedRows } = await db.query(
    `select coalesce(sum(failed), 0)::int as failed, coalesce(sum(communes), 0)::int as communes from pack_build_departements where build_id = $1 and status = 'failed'`,
    [buildId],
  );
  const result: PacksBuildResult = {
    runId,
    buildId,
    status: failedDeps.length ? 'failed' : 'succeeded',
    departements: departements.length,
    failedDepartements: failedDeps,
    built: ledger.built,
    unchanged,
    failed: failedPacks + failedRows[0].failed,
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
           millesime = latest_edition('cog')
         where id = $1`,
        [runId, result.status, communes, result.built + unchanged, result.failed, result.built, error, job.attemptsMade + 1],
      );
    });
  } finally {
    client.release();
  }
  // Retention of the ledger: a failure here is logged, it does not fail the build.
  await prunePackBuildLedger().catch((err) => {
    logTo('packs', 'warn')(`ledger retention: ${(err as Error).message}`);
  });
  return result;
}

/**
 * Deletes the ledger rows (`pack_build_communes`, `pack_build_departements`) of every build but the
 * last `kept` ones (by run id) and those whose run is still queued or running. Returns the builds
 * and commune rows deleted. Called when a build ends.
 */
export async function prunePackBuildLedger(kept = settings().PACK_BUILDS_KEPT): Promise<{ builds: number; communeRows: number }> {
  if (!Number.isInteger(kept) || kept < 1) throw new Error(`prunePackBuildLedger: kept must be a positive integer (got ${kept})`);
  const client = await pool().connect();
  try {
    return await transaction(client, async () => {
      const { rows } = await client.query(
        `with builds as (
           select build_id, max(run_id) as run_id from pack_build_departements group by build_id
         ), recent as (
           select build_id from builds order by run_id desc nulls last, build_id desc limit $1
         ), unfinished as (
           select substr(job_id, length('packs.') + 1) as build_id from runs
            where source = 'packs' and status in ('queued', 'running') and job_id like 'packs.%'
         )
         select build_id from builds where build_id not in (select build_id from recent union select build_id from unfinished)`,
        [kept],
      );
      const old = rows.map((r) => r.build_id as string);
      if (!old.length) return { builds: 0, communeRows: 0 };
      const c = await client.query(`delete from pack_build_communes where build_id = any($1::text[])`, [old]);
      await client.query(`delete from pack_build_departements where build_id = any($1::text[])`, [old]);
      return { builds: old.length, communeRows: c.rowCount ?? 0 };
    });
  } finally {
    client.release();
  }
}

async function processPacksJob(job: Job<PacksJobData, PacksJobResult>): Promise<PacksJobResult> {
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
    connection: conn,
    prefix: s.QUEUE_PREFIX,
    concurrency: opts.concurrency,
  });
  worker.on('error', (err) => {
    if (!isRedisConnectionError(err)) opts.log(`packs worker error: ${err.message}`);
  });
  const what = (job: Job<PacksJobData>) =>
    job.data.kind === 'build' ? `build (run ${job.data.runId})` : `département ${job.data.departement}`;
  worker.on('active', (job) => opts.log(`job ${job.id} ${what(job)} started (attempt ${job.attemptsMade + 1}/${job.opts.attempts ?? 1})`));
  worker.on('completed', (job, r) => {
    if ('status' in r)
      opts.log(
        `job ${job.id} build ${r.status}: ${r.built} built, ${r.unchanged} unchanged, ${r.failed} failed${r.failedDepartements.length ? `; failed départements ${r.failedDepartements.join(', ')}` : ''}`,
      );
    else opts.log(`job ${job.id} département ${r.departement}: ${r.built} built, ${r.unchanged} unchanged in ${r.seconds.toFixed(1)}s`);
  });
  worker.on('failed', (job, err) => {
    if (!job) {
      opts.log(`a packs job failed: ${err.message}`);
      return;
    }
    const retry = job.attemptsMade < (job.opts.attempts ?? 1) ? ', will retry' : ', no attempt left';
    opts.log(`job ${job.id} ${what(job)} attempt ${job.attemptsMade} failed${retry}: ${err.message}`);
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
