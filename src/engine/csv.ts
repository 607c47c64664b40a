import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { settings } from '../../config/settings';
import { FormatError } from './errors';

export interface CsvDialect {
  delimiter: string;
  /** Header row present (true for every national file we know). */
  header?: boolean;
  quote?: string | false;
  /** A quote inside an unquoted field is kept as a character (csv-parse relax_quotes), not an error. */
  relaxQuotes?: boolean;
  /** Longest record in characters (default MAX_LINE_BYTES). */
  maxRecordBytes?: number;
}

interface CsvRow {
  /** Raw field values. */
  values: string[];
  /** Physical line number in the file (1 = header). */
  line: number;
}

export interface CsvReader {
  header: string[];
  rows: AsyncIterable<CsvRow>;
}

/**
 * Parses delimited text with csv-parse, keeping physical line numbers so rejected rows
 * can be quarantined where they are. Rows of the wrong width are returned, not hidden:
 * the caller decides (quarantine, or the Ministry's header that names only one block).
 */
export async function readCsv(text: Readable, label: string, dialect: CsvDialect): Promise<CsvReader> {
  const parser = text.pipe(
    parse({
      delimiter: dialect.delimiter,
      quote: dialect.quote === false ? null : (dialect.quote ?? '"'),
      relax_quotes: dialect.relaxQuotes ?? false,
      relax_column_count: true,
      skip_empty_lines: true,
      info: true,
      // Any line end, line by line: a file mixing CRLF and LF (two files joined, a hand edit) is
      // not read as one huge row after the first change of style (csv-parse otherwise keeps the
      // first line end it meets).
      record_delimiter: ['\r\n', '\n', '\r'],
      // A record is bounded too (a quoted field may span lines): decode.ts bounds each line.
      max_record_size: dialect.maxRecordBytes ?? settings().MAX_LINE_BYTES,
    }),
  );
  text.on('error', (e) => parser.destroy(e));
  const it = parser[Symbol.asyncIterator]() as AsyncIterator<{ record: string[]; info: { lines: number } }>;
  const wrapErr = (e: unknown): never => {
    if (e instanceof FormatError) throw e;
    const err = e as Error & { lines?: number };
    throw new FormatError(label, err.message, err.lines);
  };
  let header: string[] = [];
  if (dialect.header !== false) {
    const first = await it.next().catch(wrapErr);
    if (first.done) throw new FormatError(label, 'empty file: no header row');
    header = first.value.record.map((h) => h.trim());
  }
  async function* rows(): AsyncGenerator<CsvRow> {
    while (true) {
      const n = await it.next().catch(wrapErr);
      if (n.done) return;
      yield { values: n.value.record, line: n.value.info.lines };
    }
  }
  return { header, rows: rows() };
}

/** Fails with one message naming every missing column. Returns the index of each wanted column. */
export function requireColumns<K extends string>(label: string, header: string[], wanted: readonly K[]): Record<K, number> {
  const norm = (s: string) => s.trim().toLowerCase();
  const idx = new Map(header.map((h, i) => [norm(h), i]));
  const missing = wanted.filter((w) => !idx.has(norm(w)));
  if (missing.length) {
    throw new FormatError(
      label,
      `missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (header: ${header.join(';')})`,
      1,
      missing.join(', '),
    );
  }
  return Object.fromEntries(wanted.map((w) => [w, idx.get(norm(w))!])) as Record<K, number>;
}

/** Parses an integer count; empty means unknown (NULL), never 0. */
export function parseCount(raw: string | undefined): number | null | typeof INVALID {
  const s = (raw ?? '').trim().replace(/[\s\u00a0\u202f]/g, '');
  if (s === '') return null;
  if (!/^-?\d+$/.test(s)) return INVALID;
  return Number(s);
}

/** Parses a French or English decimal ("52,00%", "1 234,5", "12.3"); empty means NULL. */
export function parseDecimal(raw: string | undefined): number | null | typeof INVALID {
  const s = (raw ?? '')
    .trim()
    .replace(/[\s\u00a0\u202f]/g, '')
    .replace(/%$/, '')
    .replace(',', '.');
  if (s === '') return null;
  if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(s)) return INVALID;
  return Number(s);
}

export const INVALID = Symbol('invalid');
