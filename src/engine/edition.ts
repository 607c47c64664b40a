import { z } from 'zod';
import { ContentError } from './errors';

/**
 * An edition (millésime) is what the data says it is, never the file's date. It has a kind, a
 * period and an order. The label (`2021`, `2024_T3`, `presidentielle-2022-t2`…) is what packs,
 * runs and the API show, unchanged; the sort key, stored beside it in `published_datasets`,
 * is what "latest" is chosen by: chronological, never the text order of labels (in text order
 * `presidentielle-2022-t2` sorts after `municipales-2026-t1`).
 */
export type Edition =
  /** A year of reference: census year, COG year, exercise… (`2021`). */
  | { kind: 'year'; year: number }
  /** A quarter (`2024_T3`, ARCEP). */
  | { kind: 'quarter'; year: number; quarter: 1 | 2 | 3 | 4 }
  /** A day (`2024-09-24`: the BAN's date of data). */
  | { kind: 'date'; date: string }
  /** A month (`2026-08`: a monthly file of the SDES, Sitadel). */
  | { kind: 'month'; year: number; month: number }
  /**
   * A vote: election and year, and the round when there are several (`presidentielle-2022-t2`,
   * `europeennes-2024`). The date of the vote, when the pipeline knows it, orders two elections
   * of the same year; it is not part of the label.
   */
  | { kind: 'election'; election: string; year: number; round: number | null; date?: string }
  /** A named yearly series of one source (`ofgl-2023`, `dgfip-2022`: a producer's exercise). */
  | { kind: 'series'; series: string; year: number };

/** Elections of the French Republic, as the Ministère de l'Intérieur names its files. */
const ELECTIONS = new Set([
  'presidentielle',
  'legislatives',
  'europeennes',
  'municipales',
  'regionales',
  'departementales',
  'cantonales',
  'senatoriales',
  'referendum',
]);

/** A millésime that no kind describes: a content error, never retried. */
export class EditionError extends ContentError {
  override name = 'EditionError';
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function validDate(s: string): boolean {
  const m = ISO_DATE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

const year = z.number().int().min(1800).max(2999);
const EditionSchema: z.ZodType<Edition> = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('year'), year }),
  z.object({ kind: z.literal('quarter'), year, quarter: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]) }),
  z.object({ kind: z.literal('date'), date: z.string().refine(validDate, 'not a date YYYY-MM-DD') }),
  z.object({ kind: z.literal('month'), year, month: z.number().int().min(1).max(12) }),
  z.object({
    kind: z.literal('election'),
    election: z.string().regex(/^[a-z]+$/),
    year,
    round: z.number().int().min(1).max(9).nullable(),
    date: z.string().refine(validDate, 'not a date YYYY-MM-DD').optional(),
  }),
  z.object({ kind: z.literal('series'), series: z.string().regex(/^[a-z][a-z0-9]*$/), year }),
]);

/**
 * Reads a millésime label. Throws EditionError on a label no kind describes (a pipeline that
 * publishes one has a bug or met a file it does not understand).
 */
export function parseEdition(label: string): Edition {
  const s = label.trim();
  let m: RegExpExecArray | null;
  if ((m = /^(\d{4})$/.exec(s))) return { kind: 'year', year: Number(m[1]) };
  if ((m = /^(\d{4})_T([1-4])$/.exec(s))) return { kind: 'quarter', year: Number(m[1]), quarter: Number(m[2]) as 1 | 2 | 3 | 4 };
  if (ISO_DATE.test(s) && validDate(s)) return { kind: 'date', date: s };
  if ((m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(s))) return { kind: 'month', year: Number(m[1]), month: Number(m[2]) };
  if ((m = /^([a-z]+)-(\d{4})(?:-t(\d))?$/.exec(s)) && ELECTIONS.has(m[1]))
    return { kind: 'election', election: m[1], year: Number(m[2]), round: m[3] ? Number(m[3]) : null };
  if ((m = /^([a-z][a-z0-9]*)-(\d{4})$/.exec(s))) return { kind: 'series', series: m[1], year: Number(m[2]) };
  throw new EditionError(
    `millésime '${label}' is none of: a year (2021), a quarter (2024_T3), a date (2024-09-24), a month (2026-08), an election (presidentielle-2022-t2), a series (ofgl-2023)`,
  );
}

/** The label of an edition: the inverse of parseEdition (the date of a vote is not in it). */
export function formatEdition(e: Edition): string {
  const v = EditionSchema.safeParse(e);
  if (!v.success) throw new EditionError(`invalid edition ${JSON.stringify(e)}: ${v.error.issues.map((i) => i.message).join('; ')}`);
  switch (e.kind) {
    case 'year':
      return String(e.year);
    case 'quarter':
      return `${e.year}_T${e.quarter}`;
    case 'date':
      return e.date;
    case 'month':
      return `${pad(e.year, 4)}-${pad(e.month, 2)}`;
    case 'election':
      return `${e.election}-${e.year}${e.round === null ? '' : `-t${e.round}`}`;
    case 'series':
      return `${e.series}-${e.year}`;
  }
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/**
 * The sort key: the first day of the period (YYYY-MM-DD), then what orders editions that start
 * the same day (the round, then the name). Plain ASCII, compared byte by byte (`collate "C"` in
 * SQL): a later period always has a greater key, whatever the kinds.
 */
export function editionKey(e: Edition): string {
  switch (e.kind) {
    case 'year':
      return `${pad(e.year, 4)}-01-01`;
    case 'quarter':
      return `${pad(e.year, 4)}-${pad((e.quarter - 1) * 3 + 1, 2)}-01`;
    case 'date':
      return e.date;
    case 'month':
      return `${pad(e.year, 4)}-${pad(e.month, 2)}-01`;
    case 'election':
      return `${e.date ?? `${pad(e.year, 4)}-01-01`}~${e.round ?? 0}~${e.election}`;
    case 'series':
      return `${pad(e.year, 4)}-01-01~0~${e.series}`;
  }
}

/** Chronological order of two editions (negative: `a` is older). */
export function compareEditions(a: Edition, b: Edition): number {
  const ka = editionKey(a);
  const kb = editionKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** A millésime as given to `ctx.publish`: a label, or an Edition (which may carry more, e.g. a vote's date). */
export type EditionInput = string | Edition;

/** Label and key of a publication's millésime; a label no kind describes throws EditionError. */
export function resolveEdition(input: EditionInput): { label: string; kind: Edition['kind']; key: string } {
  const e = typeof input === 'string' ? parseEdition(input) : input;
  return { label: formatEdition(e), kind: e.kind, key: editionKey(e) };
}
