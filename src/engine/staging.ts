import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { ident } from '../db/pool';

type CopyValue = string | number | boolean | null | undefined;

/** One staged row, keyed by staging column name; a column left out is NULL. */
export type StagingRow<C extends string = string> = Partial<Record<C, CopyValue>>;

/** Escapes one value for COPY's text format (\N is NULL). */
function copyText(v: CopyValue): string {
  if (v === null || v === undefined) return '\\N';
  const s = typeof v === 'string' ? v : String(v);
  if (!/[\\\n\r\t]/.test(s)) return s;
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
}

/** A row holding a key that is no column of its table: a mapper's typo, named at once. */
export class StagingRowError extends Error {
  override name = 'StagingRowError';
}

/**
 * Groups rows into ~64 KB chunks of COPY text, each row's values in the table's column order
 * (pg-copy-streams wants buffers, not one write per row).
 */
async function* copyChunks<C extends string>(
  table: StagingTable<C>,
  rows: AsyncIterable<StagingRow<C>> | Iterable<StagingRow<C>>,
  onRow?: () => void,
): AsyncGenerator<string> {
  const columns = table.columns;
  const known = new Set<string>(columns);
  let buf = '';
  for await (const row of rows) {
    for (const k in row)
      if (!known.has(k)) throw new StagingRowError(`${table.qualified}: row key '${k}' is not a column (columns: ${columns.join(', ')})`);
    let line = '';
    for (let i = 0; i < columns.length; i++) line += (i ? '\t' : '') + copyText(row[columns[i]]);
    buf += line + '\n';
    onRow?.();
    if (buf.length >= 65536) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

/** An UNLOGGED table in schema `staging`, private to one run, dropped when the run ends. */
export class StagingTable<C extends string = string> {
  constructor(
    readonly qualified: string,
    readonly columns: C[],
  ) {}

  /**
   * Streams rows (objects keyed by column name; a column left out is NULL, an unknown key fails)
   * into the table with COPY, respecting backpressure. Returns rows written.
   * Uses its own connection: a COPY holds the connection until it ends.
   */
  async copyRows(db: Pool, rows: AsyncIterable<StagingRow<C>> | Iterable<StagingRow<C>>): Promise<number> {
    let n = 0;
    const client = await db.connect();
    try {
      const sql = `COPY ${this.qualified} (${this.columns.map(ident).join(', ')}) FROM STDIN`;
      await pipeline(Readable.from(copyChunks(this, rows, () => n++)), client.query(copyFrom(sql)));
    } finally {
      client.release();
    }
    return n;
  }

  /**
   * Streams raw CSV bytes straight into COPY (the fast path for national files: the
   * backend parses, Node only moves bytes). Validation then happens in SQL.
   */
  async copyCsvBytes(db: Pool, bytes: Readable, opts: { delimiter: string; header: boolean; columns?: string[] }): Promise<void> {
    const client = await db.connect();
    try {
      const cols = (opts.columns ?? this.columns).map(ident).join(', ');
      const delim = opts.delimiter.replace(/'/g, "''");
      const sql = `COPY ${this.qualified} (${cols}) FROM STDIN WITH (FORMAT csv, DELIMITER '${delim}', HEADER ${opts.header})`;
      await pipeline(bytes, client.query(copyFrom(sql)));
    } finally {
      client.release();
    }
  }
}

/** Columns every staging table of input rows has: the code to re-code, and where the row came from. */
const STAGING_CONTRACT = ['code', 'fichier', 'line', 'raw'] as const;

/** A staging table declared without the contract's columns: a pipeline bug, named at once. */
export class StagingContractError extends Error {
  override name = 'StagingContractError';
}

/**
 * Fails when `columns` lacks a column of the staging contract (`code`, `fichier`, `line`, `raw`):
 * without them a rejected row could not be quarantined with its file, line and raw text.
 */
function checkStagingContract(name: string, columns: readonly string[]): void {
  const missing = STAGING_CONTRACT.filter((c) => !columns.includes(c));
  if (missing.length)
    throw new StagingContractError(
      `staging table '${name}' lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of the staging contract ` +
        `(${STAGING_CONTRACT.join(', ')}: the commune code as the file gives it, and the file, line and raw text a rejected row is quarantined with); ` +
        `a work table that holds no input rows is made with ctx.scratch()`,
    );
}

/**
 * Creates `staging.<source>_<run>_<name>` with the given columns (all nullable). With
 * `contract`, the columns must include those of the staging contract (checkStagingContract).
 */
export async function createStaging<C extends string>(
  db: Pool | PoolClient,
  source: string,
  runId: number,
  name: string,
  columns: Record<C, string>,
  opts: { contract: boolean },
): Promise<StagingTable<C>> {
  if (opts.contract) checkStagingContract(name, Object.keys(columns));
  const table = `${source}_${runId}_${name}`
    .replace(/[^a-z0-9_]/gi, '_')
    .toLowerCase()
    .slice(0, 63);
  const qualified = `staging.${ident(table)}`;
  await db.query(`DROP TABLE IF EXISTS ${qualified}`);
  await db.query(
    `CREATE UNLOGGED TABLE ${qualified} (${(Object.entries(columns) as [string, string][])
      .map(([c, t]) => `${ident(c)} ${t}`)
      .join(', ')})`,
  );
  return new StagingTable(qualified, Object.keys(columns) as C[]);
}

/** Drops every staging table of a run (or, with no run, of runs no longer running). */
export async function dropStaging(db: Pool | PoolClient, source: string, runId?: number): Promise<void> {
  const prefix = runId === undefined ? `${source}_` : `${source}_${runId}_`;
  const { rows } = await db.query(`select tablename from pg_tables where schemaname = 'staging' and left(tablename, length($1)) = $1`, [
    prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase(),
  ]);
  for (const r of rows) await db.query(`DROP TABLE IF EXISTS staging.${ident(r.tablename)}`);
}
