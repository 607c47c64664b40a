import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { Client, type Pool } from 'pg';
import { freshDatabase } from '../helpers/db';
import { ADMIN_URL } from '../helpers/env';

export const REPO = path.resolve(__dirname, '..', '..');

/** A `dotation` child process, as `npx dotation …` starts it (node -r tsx/cjs src/cli.ts). */
export interface Child {
  proc: ChildProcess;
  out: () => string;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string>;
  alive: () => boolean;
}

export function dotation(args: string[], env: NodeJS.ProcessEnv, opts: { fileSizeLimitKb?: number } = {}): Child {
  const node = [process.execPath, '-r', 'tsx/cjs', 'src/cli.ts', ...args];
  // A file-size limit (ulimit -f, SIGXFSZ ignored so a write past it fails with EFBIG instead of killing).
  const [cmd, argv] =
    opts.fileSizeLimitKb === undefined
      ? [node[0], node.slice(1)]
      : ['bash', ['-c', `trap '' XFSZ; ulimit -f ${opts.fileSizeLimitKb}; exec "$@"`, 'bash', ...node]];
  const proc = spawn(cmd, argv, {
    cwd: REPO,
    env: { ...process.env, ...env, LOG_LEVEL: 'info', LOG_FORMAT: 'pretty' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  let done = false;
  const exited = new Promise<number | string>((resolve) =>
    proc.on('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? -1);
    }),
  );
  return { proc, out: () => out, exited, alive: () => !done };
}

/** Polls `fn` until it returns a truthy value; fails naming `what` after `ms`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false> | T, ms = 60_000, every = 100): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await Promise.resolve(fn()).catch(() => undefined);
    if (v) return v as T;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Tables whose name matches a LIKE pattern (any schema). */
async function tablesLike(db: Pool, like: string): Promise<string[]> {
  const { rows } = await db.query(
    `select n.nspname || '.' || c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and c.relname like $1 and n.nspname not in ('pg_catalog', 'information_schema') order by 1`,
    [like],
  );
  return rows.map((r) => r.t as string);
}

export async function stagingTables(db: Pool): Promise<string[]> {
  const { rows } = await db.query(`select tablename from pg_tables where schemaname = 'staging' order by 1`);
  return rows.map((r) => r.tablename as string);
}

/** BAN shadow tables (`adresses_n<run>_…`): never left once a run has ended. */
export const shadowTables = (db: Pool) => tablesLike(db, 'adresses\\_n%');

/** A digest of a published table (row count and md5 of its rows in order), to say it did not change. */
export async function digest(db: Pool, table: string, orderBy: string): Promise<{ rows: number; md5: string }> {
  const { rows } = await db.query(
    `select count(*)::int as rows, coalesce(md5(string_agg(t::text, '|' order by ${orderBy})), '') as md5 from ${table} t`,
  );
  return rows[0];
}

/**
 * A synthetic BAN file of département 35 with `n` addresses, in the upstream 23-column layout
 * (the lines of test/fixtures/ban/adresses-35.csv.gz that are valid, their ids numbered): big
 * enough for a kill or a stop to land during its COPY.
 */
export async function bigBan35(file: string, n: number): Promise<string> {
  if (fs.existsSync(file)) return file;
  const lines = zlib
    .gunzipSync(fs.readFileSync(path.join(REPO, 'test/fixtures/ban/adresses-35.csv.gz')))
    .toString('utf8')
    .split('\n');
  const header = lines[0];
  const rows = lines.slice(1, 7).filter((l) => l && !/99999|abc/.test(l) && l.split(';').length >= 23);
  async function* gen() {
    yield header + '\n';
    let buf = '';
    for (let i = 0; i < n; i++) {
      const r = rows[i % rows.length];
      buf += r.replace(/^[^;]*/, `35238_9${String(i).padStart(8, '0')}`) + '\n';
      if (buf.length > 1 << 20) {
        yield buf;
        buf = '';
      }
    }
    yield buf;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.part`;
  await pipeline(Readable.from(gen()), zlib.createGzip({ level: 1 }), fs.createWriteStream(tmp));
  fs.renameSync(tmp, file);
  return file;
}

/** The pid of the process running a run of `source` (its lease session names it), or null. */
export async function runnerPid(db: Pool, source: string): Promise<number | null> {
  const { rows } = await db.query(
    `select substring(application_name from ' pid ([0-9]+)$')::int as pid from pg_stat_activity where application_name like $1 limit 1`,
    [`dotation run ${source} pid %`],
  );
  return rows[0]?.pid ?? null;
}

/**
 * The calling file's database (test/helpers/db.ts), then a CHECKPOINT. Why: PostgreSQL 15 loses
 * the sequence values handed out since CREATE DATABASE … TEMPLATE when it crashes before its next
 * checkpoint (the copied sequence page says its values are already WAL-logged; found here: after
 * `pg_ctl stop -m immediate`, runs_id_seq went back and the next run's insert hit runs_pkey). A
 * production database is not a fresh template copy; the suite's must not be either.
 */
export async function faultDatabase(): Promise<Awaited<ReturnType<typeof freshDatabase>>> {
  const db = await freshDatabase();
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query('checkpoint');
  await admin.end();
  return db;
}
