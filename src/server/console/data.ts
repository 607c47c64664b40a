import type { Job, Queue } from 'bullmq';
import { sourceRegistry } from '../../../config/sources';
import { pool } from '../../db/pool';
import { sharedQueue } from '../../queue/connection';
import { RUNS_QUEUE } from '../../queue/queue';
import { PACKS_QUEUE } from '../../queue/packs';
import { nextSlots } from '../../queue/scheduler';

/**
 * What the operator console reads: the runs ledger, the quarantine, the pack build ledger
 * (pack_build_*), and the jobs still waiting in the queues. Plain queries; the pages
 * (src/server/console/pages.ts) only render what these return.
 */

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'unchanged', 'failed', 'interrupted', 'refused'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Rows of a page of runs, of quarantine. */
export const PER_PAGE = 50;

export interface Run {
  id: number;
  source: string;
  status: RunStatus;
  trigger: string;
  jobId: string | null;
  attempt: number;
  millesime: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  heartbeatAt: Date;
  bytes: number;
  /** Final counts once finished; while running, the last heartbeat's figures (every 2 s). */
  read: number;
  loaded: number;
  rejected: number;
  published: number;
  /** The last heartbeat's figures (a run) or the fan-out's (a pack build: départements done / total…). */
  progress: Record<string, number>;
  error: string | null;
  options: Record<string, unknown>;
}

const RUN_COLUMNS = `id, source, status, trigger, job_id, attempt, millesime, started_at, finished_at, heartbeat_at, bytes,
  rows_read, rows_loaded, rows_rejected, rows_published, progress, error, options`;

function toRun(r: Record<string, unknown>): Run {
  const progress = (r.progress ?? {}) as Record<string, number>;
  const running = r.status === 'running' && r.source !== 'packs';
  // A running run writes its counts only at the end: until then they are in its heartbeat's progress.
  const n = (col: string, key: string) => (running && progress[key] !== undefined ? Number(progress[key]) : Number(r[col]));
  return {
    id: Number(r.id),
    source: String(r.source),
    status: r.status as RunStatus,
    trigger: String(r.trigger),
    jobId: (r.job_id as string | null) ?? null,
    attempt: Number(r.attempt),
    millesime: (r.millesime as string | null) ?? null,
    startedAt: r.started_at as Date,
    finishedAt: (r.finished_at as Date | null) ?? null,
    heartbeatAt: r.heartbeat_at as Date,
    bytes: Number(r.bytes),
    read: n('rows_read', 'read'),
    loaded: n('rows_loaded', 'loaded'),
    rejected: n('rows_rejected', 'rejected'),
    published: n('rows_published', 'published'),
    progress,
    error: (r.error as string | null) ?? null,
    options: (r.options ?? {}) as Record<string, unknown>,
  };
}

export interface SourceOverview {
  id: string;
  title: string;
  producer: string;
  schedule: string;
  nextSlot: Date | null;
  lastRun: Run | null;
  /** Latest published edition (chronological, `latest_edition`), with its row count and date. */
  edition: { millesime: string; rows: number; publishedAt: Date } | null;
}

/** Every declared source with its schedule, next slot, last run and published edition. */
export async function sourcesOverview(): Promise<SourceOverview[]> {
  const db = pool();
  const [runs, editions] = await Promise.all([
    db.query(`select distinct on (source) ${RUN_COLUMNS} from runs order by source, id desc`),
    db.query(
      `select p.source, p.millesime, p.rows, p.published_at from published_datasets p
        where p.millesime = latest_edition(p.source)`,
    ),
  ]);
  const last = new Map(runs.rows.map((r) => [String(r.source), toRun(r)]));
  const edition = new Map(
    editions.rows.map((r) => [
      String(r.source),
      { millesime: String(r.millesime), rows: Number(r.rows), publishedAt: r.published_at as Date },
    ]),
  );
  return [...sourceRegistry().values()].map(({ source: s }) => ({
    id: s.id,
    title: s.title,
    producer: s.producer,
    schedule: s.schedule,
    nextSlot: nextSlots(s.schedule, 1)[0] ?? null,
    lastRun: last.get(s.id) ?? null,
    edition: edition.get(s.id) ?? null,
  }));
}

export interface RunFilter {
  source?: string;
  status?: RunStatus;
  page: number;
}

/** A page of runs, newest first, and how many match. */
export async function listRuns(f: RunFilter): Promise<{ runs: Run[]; total: number }> {
  const where = `($1::text is null or source = $1) and ($2::text is null or status = $2)`;
  const params = [f.source ?? null, f.status ?? null];
  const db = pool();
  const [rows, count] = await Promise.all([
    db.query(`select ${RUN_COLUMNS} from runs where ${where} order by id desc limit ${PER_PAGE} offset $3`, [
      ...params,
      (f.page - 1) * PER_PAGE,
    ]),
    db.query(`select count(*)::int as n from runs where ${where}`, params),
  ]);
  return { runs: rows.rows.map(toRun), total: count.rows[0].n };
}

export async function getRun(id: number): Promise<Run | null> {
  const { rows } = await pool().query(`select ${RUN_COLUMNS} from runs where id = $1`, [id]);
  return rows[0] ? toRun(rows[0]) : null;
}

export interface RunFile {
  resource: string;
  origin: string;
  url: string | null;
  path: string;
  sha256: string;
  bytes: number;
  edition: string | null;
}

/** The input files of a run (provenance). */
export async function runFiles(id: number): Promise<RunFile[]> {
  const { rows } = await pool().query(
    `select resource, origin, url, path, sha256, bytes, edition from provenance where run_id = $1 order by resource, id`,
    [id],
  );
  return rows.map((r) => ({ ...r, bytes: Number(r.bytes) }) as RunFile);
}

/** What the runs page's script polls: the state of the runs it shows, and whether newer runs began. */
export async function runsState(ids: number[], after: number): Promise<{ runs: Run[]; newer: number }> {
  const db = pool();
  const [rows, newer] = await Promise.all([
    db.query(`select ${RUN_COLUMNS} from runs where id = any($1::bigint[]) order by id desc`, [ids]),
    db.query(`select count(*)::int as n from runs where id > $1`, [after]),
  ]);
  return { runs: rows.rows.map(toRun), newer: newer.rows[0].n };
}

export interface QuarantineRow {
  file: string;
  line: number | null;
  reason: string;
  raw: string | null;
}

/** A page of a run's rejected rows, in file and line order. */
export async function quarantinePage(runId: number, page: number): Promise<{ rows: QuarantineRow[]; total: number }> {
  const db = pool();
  const [rows, count] = await Promise.all([
    db.query(
      `select file, line, reason, left(raw, 2000) as raw from quarantine where run_id = $1
        order by file, line nulls last, id limit ${PER_PAGE} offset $2`,
      [runId, (page - 1) * PER_PAGE],
    ),
    db.query(`select count(*)::int as n from quarantine where run_id = $1`, [runId]),
  ]);
  return {
    rows: rows.rows.map((r) => ({ file: r.file, line: r.line === null ? null : Number(r.line), reason: r.reason, raw: r.raw })),
    total: count.rows[0].n,
  };
}

export interface WaitingJob {
  queue: string;
  id: string;
  name: string;
  state: string;
  enqueuedAt: Date;
  attempts: number;
}

/** Jobs not yet taken by a worker (waiting, delayed for a retry, prioritized) of the runs and packs queues. */
export async function waitingJobs(): Promise<WaitingJob[] | { error: string }> {
  const states = ['waiting', 'delayed', 'prioritized'] as const;
  try {
    const lists = await withTimeout(
      Promise.all(
        [RUNS_QUEUE, PACKS_QUEUE].map(async (name) => {
          const q = sharedQueue(name) as Queue;
          const jobs: Job[] = (await q.getJobs([...states], 0, 49)).filter(Boolean);
          return Promise.all(
            jobs.map(async (j) => ({
              queue: name,
              id: String(j.id),
              name: j.name,
              state: await j.getState(),
              enqueuedAt: new Date(j.timestamp),
              attempts: j.attemptsMade,
            })),
          );
        }),
      ),
      3000,
    );
    return lists.flat().sort((a, b) => b.enqueuedAt.getTime() - a.enqueuedAt.getTime());
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis n’a pas répondu en ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export interface DepartementBuild {
  departement: string;
  status: 'succeeded' | 'failed';
  attempt: number;
  worker: string;
  communes: number;
  built: number;
  unchanged: number;
  failed: number;
  seconds: number | null;
  error: string | null;
  finishedAt: Date;
}

export interface FailedCommune {
  departement: string;
  code: string;
  attempt: number;
  error: string | null;
}

/** A fan-out pack build (a 'packs' run): each département's child, and the communes that failed. */
export async function packBuild(
  runId: number,
): Promise<{ run: Run; buildId: string | null; departements: DepartementBuild[]; failedCommunes: FailedCommune[] } | null> {
  const run = await getRun(runId);
  if (!run || run.source !== 'packs') return null;
  const db = pool();
  const { rows: deps } = await db.query(
    `select build_id, departement, status, attempt, worker, communes, built, unchanged, failed, seconds, error, finished_at
       from pack_build_departements where run_id = $1 order by departement`,
    [runId],
  );
  const buildId: string | null = deps[0]?.build_id ?? (run.jobId?.startsWith('packs.') ? run.jobId.slice('packs.'.length) : null);
  const { rows: failed } = buildId
    ? await db.query(
        `select departement, code, attempt, error from pack_build_communes where build_id = $1 and status = 'failed'
          order by departement, code, attempt limit 500`,
        [buildId],
      )
    : { rows: [] };
  return {
    run,
    buildId,
    departements: deps.map((d) => ({
      departement: d.departement,
      status: d.status,
      attempt: d.attempt,
      worker: d.worker,
      communes: d.communes,
      built: d.built,
      unchanged: d.unchanged,
      failed: d.failed,
      seconds: d.seconds === null ? null : Number(d.seconds),
      error: d.error,
      finishedAt: d.finished_at,
    })),
    failedCommunes: failed.map((c) => ({ departement: c.departement, code: c.code, attempt: c.attempt, error: c.error })),
  };
}
