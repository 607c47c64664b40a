/**
 * Field readers of the RNE files, written for both layouts seen upstream (see source.ts): dates
 * `DD/MM/YYYY`, `DD/MM/YY` (conseillers d'arrondissement, April 2026) or ISO `YYYY-MM-DD`, and
 * numeric codes that may have lost their leading zeros.
 */

const DMY = /^(\d{1,2})\/(\d{1,2})\/(\d{2}|\d{4})$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})$/;

function valid(y: number, m: number, d: number): boolean {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/**
 * A date of the RNE as ISO `YYYY-MM-DD`; null when empty; throws on anything else. A two-digit
 * year is placed in the century that puts it on or before `latestYear` (a date of birth: the
 * extract's year minus 18; a mandate: the extract's year).
 */
export function rneDate(raw: string, latestYear: number): string | null {
  const s = raw.trim();
  if (!s) return null;
  let y: number, m: number, d: number;
  let mt = ISO.exec(s);
  if (mt) [y, m, d] = [Number(mt[1]), Number(mt[2]), Number(mt[3])];
  else if ((mt = DMY.exec(s))) {
    [d, m, y] = [Number(mt[1]), Number(mt[2]), Number(mt[3])];
    if (mt[3].length === 2) y = 2000 + y <= latestYear ? 2000 + y : 1900 + y;
  } else throw new Error(`not a date: '${raw}' (expected DD/MM/YYYY or YYYY-MM-DD)`);
  if (!valid(y, m, d)) throw new Error(`not a date: '${raw}'`);
  return `${pad(y, 4)}-${pad(m)}-${pad(d)}`;
}

/**
 * The commune code of an RNE row: `01001`, `2A004`, `97411`; a numeric code that lost its leading
 * zero (`1001`, as the May 2026 export writes it) gets it back.
 */
export function rneCommune(raw: string): string {
  const s = raw.trim().toUpperCase();
  if (/^\d{4}$/.test(s)) return `0${s}`;
  if (/^(\d{5}|2[AB]\d{3})$/.test(s)) return s;
  throw new Error(`not a commune code: '${raw}'`);
}

/** The field separator of a delimited file, from its header line (`;` in the maires file, `,` in the April 2026 arrondissements one). */
export function sniffDelimiter(headerLine: string): ';' | ',' {
  const semi = headerLine.split(';').length;
  const comma = headerLine.split(',').length;
  return comma > semi ? ',' : ';';
}
