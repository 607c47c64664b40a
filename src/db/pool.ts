import { Pool, PoolClient, types } from 'pg';
import { settings } from '../../config/settings';
import { logTo } from '../log';

// bigint counts (COUNT(*), SUM of integers) come back as JS numbers: our counts stay far below 2^53.
types.setTypeParser(20, (v) => Number(v));
// numeric stays a string: amounts must not lose precision on the way to the CSV.

const pools = new Map<string, Pool>();

/**
 * A checked-out client whose connection dies (PostgreSQL restarted, the backend terminated)
 * emits 'error': without a listener that event kills the process. The query in progress fails
 * on its own (the job fails and is retried); this only keeps the process alive and says why.
 * pg-pool then discards the client on release (it is no longer queryable).
 */
function onCheckedOutError(this: PoolClient, err: Error): void {
  lost.add(this);
  logTo('db', 'warn')(`database connection lost while in use: ${err.message}`);
}

/** Clients whose connection is gone or going (a FATAL message came before the socket closed). */
const lost = new WeakSet<object>();

/**
 * Watches a new client's connection for FATAL errors (57P01 administrator shutdown, 57P02 crash
 * shutdown…): the query in progress fails with that message a moment before the socket ends,
 * so a client released right then would go back to the pool still marked usable.
 */
function watchConnection(client: PoolClient): void {
  const con = (client as unknown as { connection?: NodeJS.EventEmitter }).connection;
  con?.on('errorMessage', (msg: { severity?: string }) => {
    if (msg.severity === 'FATAL' || msg.severity === 'PANIC') lost.add(client);
  });
}

/** A released client that lost its connection is ended, so the pool discards it instead of handing it out. */
function onRelease(_err: Error | undefined, client: PoolClient): void {
  client.off('error', onCheckedOutError);
  if (lost.has(client)) client.end().catch(() => undefined);
}

/**
 * One pool per database URL for the whole process (and one more per set of session options a
 * caller asks for: `-c name=value …`, PostgreSQL's startup options, see packs/build.ts). Every client checked out of it, whoever
 * checks it out (staging COPY, the BAN lanes, the publishing transaction, the pack build and
 * its lock), has an error listener while it is out; the pool has one while it is idle.
 */
export function pool(url = settings().DATABASE_URL, sessionOptions?: string): Pool {
  const key = sessionOptions ? `${url}\0${sessionOptions}` : url;
  let p = pools.get(key);
  if (!p) {
    p = new Pool({ connectionString: url, max: 8, application_name: 'dotation', ...(sessionOptions ? { options: sessionOptions } : {}) });
    p.on('error', (err) => logTo('db', 'error')(`idle database client error: ${err.message}`));
    p.on('connect', watchConnection);
    p.on('acquire', (client) => client.on('error', onCheckedOutError));
    p.on('release', onRelease);
    pools.set(key, p);
  }
  return p;
}

export async function closePools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.end()));
}

/** Runs `fn` in one transaction: committed if it resolves, rolled back otherwise. */
export async function transaction<T>(client: PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const out = await fn();
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Quotes an SQL identifier (table or column built from a name we control). */
export function ident(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/**
 * True for an error that says the database connection is gone or unavailable (PostgreSQL
 * stopped, restarting, unreachable), not that the work itself was wrong: such work is retried
 * once the database is back.
 */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = String(e?.code ?? '');
  if (/^(08|57P0)/.test(code)) return true; // connection exceptions, admin/crash shutdown, cannot connect now
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true;
  return /Connection terminated|not queryable|connection error|terminating connection|the database system is (starting up|shutting down|in recovery mode)/i.test(
    String(e?.message ?? ''),
  );
}

/**
 * Waits until the database answers (`select 1` every `everyMs`), saying once that it waits.
 * Returns false when it is still down after `timeoutMs`.
 */
export async function waitForDatabase(
  db: Pool,
  opts: { timeoutMs?: number; everyMs?: number; log?: (m: string) => void } = {},
): Promise<boolean> {
  const t0 = Date.now();
  let said = false;
  for (;;) {
    try {
      await db.query('select 1');
      if (said) opts.log?.(`PostgreSQL is back after ${Math.round((Date.now() - t0) / 1000)} s`);
      return true;
    } catch (err) {
      if (!said) opts.log?.(`PostgreSQL unreachable (${(err as Error).message}): waiting for it`);
      said = true;
      if (Date.now() - t0 > (opts.timeoutMs ?? 600_000)) return false;
      await new Promise((r) => setTimeout(r, opts.everyMs ?? 2000));
    }
  }
}
