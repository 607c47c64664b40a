import type { Pool } from 'pg';

/**
 * One pack build writing PACKS_DIR at a time, across processes and machines sharing the database:
 * an inline build (`dotation packs build`, `dotation start`) holds this PostgreSQL advisory lock
 * for its whole duration (released by PostgreSQL if the process dies), and a fan-out is refused
 * while it is held (src/queue/packs.ts). The fan-out's own children build without it.
 */
const LOCK_CLASS = 0x646f7461; // 'dota'
const LOCK_OBJECT = 1;
const LOCK_SQL = `${LOCK_CLASS}, ${LOCK_OBJECT}`;

export interface InlineBuildHolder {
  pid: number;
  application: string;
  since: string;
}

/** Who holds the inline build lock, or null. */
export async function inlineBuildHolder(db: Pool): Promise<InlineBuildHolder | null> {
  const { rows } = await db.query(
    `select a.pid, coalesce(nullif(a.application_name, ''), '?') as application, to_char(a.backend_start at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC' as since
       from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted and l.database = (select oid from pg_database where datname = current_database())
        and l.classid = ${LOCK_CLASS} and l.objid = ${LOCK_OBJECT} and l.objsubid = 2
      limit 1`,
  );
  return rows[0] ? { pid: Number(rows[0].pid), application: rows[0].application, since: rows[0].since } : null;
}

/** A fan-out build whose départements are being built now (its run's heartbeat is fresh). */
async function runningFanOut(db: Pool): Promise<number | null> {
  const { rows } = await db.query(
    `select id from runs where source = 'packs' and status = 'running' and heartbeat_at > now() - interval '60 seconds' order by id limit 1`,
  );
  return rows[0] ? Number(rows[0].id) : null;
}

/**
 * Runs `fn` holding the inline build lock. When another inline build holds it, or a fan-out is
 * building (its run's heartbeat is fresh), says so through `log` and waits for it to end (the
 * build then finds most packs unchanged). A fan-out still only queued is not seen here: no new one
 * can be enqueued while the lock is held, but one queued before starts when a worker takes it.
 */
export async function withInlineBuildLock<T>(
  db: Pool,
  log: (m: string) => void,
  fn: () => Promise<T>,
  opts: { pollMs?: number } = {},
): Promise<T> {
  const client = await db.connect();
  try {
    const {
      rows: [got],
    } = await client.query(`select pg_try_advisory_lock(${LOCK_SQL}) as ok`);
    if (!got.ok) {
      const h = await inlineBuildHolder(db);
      log(
        `another pack build is running${h ? ` (database session ${h.pid}, ${h.application}, since ${h.since})` : ''}: waiting for it to end`,
      );
      await client.query(`select pg_advisory_lock(${LOCK_SQL})`);
    }
    try {
      for (let said = false, f = await runningFanOut(db); f; f = await runningFanOut(db)) {
        if (!said) log(`a fan-out pack build is running (run ${f}; see 'dotation runs'): waiting for it to end`);
        said = true;
        await new Promise((r) => setTimeout(r, opts.pollMs ?? 5000));
      }
      return await fn();
    } finally {
      await client.query(`select pg_advisory_unlock(${LOCK_SQL})`).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}
