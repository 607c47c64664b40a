import { Client } from 'pg';
import type { Pool, PoolClient } from 'pg';
import { getPipeline } from '../../config/sources';
import { ident } from '../db/pool';
import { dropStaging } from './staging';

/**
 * Liveness of runs. A run's process holds a session advisory lock (class RUN_LOCK_CLASS, the run
 * id) on a connection of its own for the whole run, and beats on it (heartbeat_at, progress).
 * The lock goes with the session: the moment the process dies or PostgreSQL restarts, any
 * reaper (`reapDeadRuns`: each worker every few seconds, `dotation runs`, the start of a run)
 * sees a 'running' run nobody holds, marks it interrupted and drops its staging tables and
 * whatever else its pipeline left outside them (`Pipeline.dropLeftovers`: the BAN's shadow
 * tables), instead of waiting for a stale heartbeat and the next run of the source.
 */
const RUN_LOCK_CLASS = 0x72756e73; // 'runs'

/** A run without a lease (a pack fan-out) or an unreachable session is judged by its heartbeat. */
const STALE_SECONDS = 120;

export interface LeaseRow {
  source: string;
  trigger: string;
  jobId: string | null;
  attempt: number;
  options: Record<string, unknown>;
}

export class RunLease {
  /** True once the lease connection failed: the run can no longer prove it is alive, it must not publish. */
  lost = false;
  /** A beat is in flight. */
  private beating = false;

  private constructor(
    private readonly client: Client,
    readonly runId: number,
  ) {}

  /** Records a 'running' run and takes its lock, in one transaction: no reaper ever sees it unheld. */
  static async open(url: string, row: LeaseRow): Promise<RunLease> {
    // The process is named in pg_stat_activity: which worker runs what, and which one to look at.
    const client = new Client({ connectionString: url, application_name: `dotation run ${row.source} pid ${process.pid}`.slice(0, 63) });
    let lease: RunLease | undefined;
    client.on('error', (err) => {
      if (lease) lease.lost = true;
      void err; // the run notices through `lost` (and its own connections fail too)
    });
    await client.connect();
    try {
      await client.query('begin');
      const {
        rows: [run],
      } = await client.query(
        `insert into runs (source, status, trigger, job_id, attempt, options, lease) values ($1, 'running', $2, $3, $4, $5, true) returning id`,
        [row.source, row.trigger, row.jobId, row.attempt, JSON.stringify(row.options)],
      );
      await client.query(`select pg_advisory_lock(${RUN_LOCK_CLASS}, $1::int)`, [run.id]);
      await client.query('commit');
      lease = new RunLease(client, Number(run.id));
      return lease;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  }

  /** Heartbeat with the progress figures (errors only mark the lease lost). */
  beat(progress: Record<string, unknown>): void {
    // One beat at a time: on a busy database a beat may outlast the interval, and pg queues (and
    // from pg 9 refuses) a query sent while the client's previous one is still running.
    if (this.lost || this.beating) return;
    this.beating = true;
    this.client.query(`update runs set heartbeat_at = now(), progress = $2 where id = $1`, [this.runId, JSON.stringify(progress)]).then(
      () => {
        this.beating = false;
      },
      () => {
        this.lost = true;
      },
    );
  }

  /** Ends the session, which releases the lock (after the run's final status is written). */
  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

/**
 * Marks interrupted every 'running' run whose process is gone: a leased run whose lock nobody
 * holds, or any run without a heartbeat for `staleSeconds`. Drops what each one left behind.
 * Several reapers at once are harmless (each run is taken by one UPDATE). Returns the runs reaped.
 */
export async function reapDeadRuns(db: Pool, staleSeconds = STALE_SECONDS): Promise<{ id: number; source: string }[]> {
  const { rows } = await db.query(
    `update runs r set status = 'interrupted', finished_at = now(),
        error = coalesce(r.error, case when r.lease and r.heartbeat_at >= now() - make_interval(secs => $1)
                 then 'its process stopped or lost its database session during the run (lease released)'
                 else 'process stopped during the run (no heartbeat)' end)
      where r.status = 'running'
        and ((r.lease and not exists (
               select 1 from pg_locks l
                where l.locktype = 'advisory' and l.granted and l.classid = ${RUN_LOCK_CLASS}::oid
                  and l.objid = r.id::oid and l.objsubid = 2
                  and l.database = (select oid from pg_database where datname = current_database())))
             or r.heartbeat_at < now() - make_interval(secs => $1))
      returning r.id, r.source`,
    [staleSeconds],
  );
  const reaped = rows.map((r) => ({ id: Number(r.id), source: r.source as string }));
  for (const r of reaped) await dropRunLeftovers(db, r.source, r.id);
  return reaped;
}

/**
 * Drops the staging tables of runs that are no longer running, and every pipeline's leftovers of
 * such runs: what a run could not drop itself (PostgreSQL went away before its cleanup, a
 * failure recorded by the worker after the database came back). Returns the tables dropped.
 */
export async function sweepLeftovers(
  db: Pool,
  sources: Iterable<[string, { dropLeftovers?: (db: Pool) => Promise<void> }]> = [],
): Promise<number> {
  const { rows } = await db.query(
    `select t.tablename from pg_tables t
       join runs r on r.id = substring(t.tablename from '^[a-z0-9_]+?_([0-9]+)_')::bigint
      where t.schemaname = 'staging' and r.status not in ('running', 'queued')
        and left(t.tablename, length(r.source) + 1) = regexp_replace(lower(r.source), '[^a-z0-9_]', '_', 'g') || '_'`,
  );
  for (const r of rows) await db.query(`drop table if exists staging.${ident(r.tablename)}`).catch(() => undefined);
  for (const [, p] of sources) await p.dropLeftovers?.(db).catch(() => undefined);
  return rows.length;
}

/** Drops a run's staging tables and its pipeline's other leftovers (errors are not fatal: the next reaper retries). */
export async function dropRunLeftovers(db: Pool | PoolClient, source: string, runId: number): Promise<void> {
  await dropStaging(db, source, runId).catch(() => undefined);
  let drop: ((db: Pool | PoolClient, runId: number) => Promise<void>) | undefined;
  try {
    drop = getPipeline(source).dropLeftovers;
  } catch {
    return; // not a source (a pack build)
  }
  await drop?.(db, runId).catch(() => undefined);
}
