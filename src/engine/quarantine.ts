import type { Pool } from 'pg';

export interface RejectedRow {
  file: string;
  line?: number;
  raw?: string;
  reason: string;
}

/** Buffers rejected rows and writes them in batches to the `quarantine` table. */
export class Quarantine {
  private buffer: RejectedRow[] = [];
  count = 0;

  constructor(
    private readonly db: Pool,
    private readonly runId: number,
    private readonly source: string,
  ) {}

  async add(row: RejectedRow): Promise<void> {
    this.buffer.push(row);
    this.count++;
    if (this.buffer.length >= 500) await this.flush();
  }

  /**
   * Quarantines the rows an SQL check finds (`select file, line, raw, reason from …`),
   * for validation done in SQL after a COPY. Returns how many.
   */
  async addFromSql(select: string, params: unknown[] = []): Promise<number> {
    await this.flush();
    const shift = (sql: string) => sql.replace(/\$(\d+)/g, (_m, n) => `$${Number(n) + 2}`);
    const { rowCount } = await this.db.query(
      `insert into quarantine (run_id, source, file, line, raw, reason) select $1, $2, q.file, q.line, q.raw, q.reason from (${shift(select)}) q`,
      [this.runId, this.source, ...params],
    );
    this.count += rowCount ?? 0;
    return rowCount ?? 0;
  }

  async flush(): Promise<void> {
    if (!this.buffer.length) return;
    const rows = this.buffer;
    this.buffer = [];
    await this.db.query(
      `insert into quarantine (run_id, source, file, line, raw, reason)
       select $1, $2, f, l, r, why from unnest($3::text[], $4::bigint[], $5::text[], $6::text[]) as t(f, l, r, why)`,
      [
        this.runId,
        this.source,
        rows.map((r) => r.file),
        rows.map((r) => r.line ?? null),
        rows.map((r) => (r.raw ?? '').slice(0, 10000)),
        rows.map((r) => r.reason),
      ],
    );
  }
}
