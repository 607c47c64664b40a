import type { LocalFile, RunContext } from './pipeline';
import { mixedEncodingNote, openText, Encoding } from './decode';
import { CsvDialect, readCsv, requireColumns } from './csv';
import type { StagingRow, StagingTable } from './staging';

/** A row the mapper refuses: goes to quarantine with the column and the reason. */
export interface Reject {
  reject: string;
  column?: string;
}
export const reject = (reason: string, column?: string): Reject => ({ reject: reason, column });
const isReject = (x: unknown): x is Reject => typeof x === 'object' && x !== null && 'reject' in x;

export interface CsvLoadSpec<K extends string, C extends string> {
  file: LocalFile;
  /** Entry of a zip archive (case-insensitive name or pattern). */
  entry?: string | RegExp;
  encoding?: Encoding;
  dialect: CsvDialect;
  /** Columns the header must have; a missing one fails the run before anything is staged. */
  required: readonly K[];
  staging: StagingTable<C>;
  /**
   * Maps one record to a staged row (an object keyed by staging column name), or rejects it.
   * `get` reads a required column. Returning an array of rows lets a wide record become several
   * long rows; null accepts the record and stages nothing (e.g. a total row).
   */
  row(get: (k: K) => string, line: number, values: string[], header: string[]): StagingRow<C> | StagingRow<C>[] | Reject | null;
  /** Rows whose width differs from the header's are rejected unless this is set. */
  allowWidthMismatch?: boolean;
}

/**
 * The Node path of the load engine, for small or irregular files: decode, parse with
 * csv-parse, validate and map each record, COPY the good ones into staging and quarantine
 * the others with their line number. Counts read / loaded / rejected in ctx.counters.
 * (National-size regular files should stream bytes into COPY instead: see StagingTable.copyCsvBytes.)
 */
export async function loadCsv<K extends string, C extends string>(
  ctx: RunContext,
  spec: CsvLoadSpec<K, C>,
): Promise<{ label: string; header: string[] }> {
  const opened = await openText(spec.file.path, {
    entry: spec.entry,
    encoding: spec.encoding,
    onBytes: (n) => ctx.progress.update(n),
  });
  ctx.progress.start(`load ${spec.file.resource}`, opened.size, 'bytes');
  const { header, rows } = await readCsv(opened.text, opened.label, spec.dialect);
  const idx = requireColumns(opened.label, header, spec.required);
  const label = opened.label;
  const stagesFile = (spec.staging.columns as readonly string[]).includes('fichier');
  async function* mapped() {
    for await (const { values, line } of rows) {
      ctx.counters.read++;
      if (!spec.allowWidthMismatch && values.length !== header.length) {
        await ctx.quarantine.add({
          file: label,
          line,
          raw: values.join(spec.dialect.delimiter),
          reason: `expected ${header.length} fields, got ${values.length}`,
        });
        continue;
      }
      // PostgreSQL text cannot hold U+0000: a NUL byte would fail the whole COPY with no file or line.
      const nul = values.findIndex((v) => v.includes('\0'));
      if (nul >= 0) {
        await ctx.quarantine.add({
          file: label,
          line,
          raw: values.join(spec.dialect.delimiter).replace(/\0/g, '\\0'),
          reason: `column ${header[nul] ?? nul + 1}: NUL byte (0x00)`,
        });
        continue;
      }
      const get = (k: K) => values[idx[k]] ?? '';
      let out: ReturnType<typeof spec.row>;
      try {
        out = spec.row(get, line, values, header);
      } catch (err) {
        out = reject((err as Error).message);
      }
      if (out === null) {
        ctx.counters.loaded++;
        continue;
      } // accepted, nothing to stage (e.g. a total row)
      if (isReject(out)) {
        await ctx.quarantine.add({
          file: label,
          line,
          raw: values.join(spec.dialect.delimiter),
          reason: out.column ? `column ${out.column}: ${out.reject}` : out.reject,
        });
        continue;
      }
      ctx.counters.loaded++;
      // Where a staged row came from is the file read, whatever the mapper wrote: rows rejected later
      // in SQL are quarantined with it (a file given with --file keeps its own name).
      if (stagesFile) for (const r of Array.isArray(out) ? out : [out]) (r as Record<string, unknown>).fichier = label;
      if (Array.isArray(out)) yield* out;
      else yield out;
    }
  }
  await spec.staging.copyRows(ctx.db, mapped());
  ctx.progress.stop();
  const mixed = mixedEncodingNote(label, opened.stats);
  if (mixed) ctx.log(mixed);
  if (opened.stats.boms > 1)
    ctx.log(`${label}: ${opened.stats.boms - 1} byte-order mark(s) inside the file removed (files joined end to end?)`);
  return { label, header };
}
