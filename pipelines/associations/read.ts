/**
 * Field readers of the RNA files. Dates are ISO `YYYY-MM-DD` with `0001-01-01` for « none »; the
 * update time is `YYYY-MM-DD HH:MM:SS`, or with two spaces before the time in the import files
 * (`2006-03-16  03:42:57` on every line of the genuine rna_import_20200901_dpt_29.csv,
 * test/fixtures/associations/real). A date the file garbles is kept as unknown (the association
 * itself is kept) and counted, not invented.
 */

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** What may follow the date: `T` or one or more spaces, then the time. */
const TIME = /^(?:T| +)(\d{2}:\d{2}(?::\d{2})?)/;

/** ISO date, null for empty or `0001-01-01`, undefined when the text is not a date. */
export function rnaDate(raw: string): string | null | undefined {
  const s = raw.trim();
  if (!s || s.startsWith('0001-01-01')) return null;
  const m = DATE.exec(s.slice(0, 10));
  if (!m || (s.length > 10 && !TIME.test(s.slice(10)))) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d || y < 1800) return undefined;
  return m[0];
}

/** `2016-01-09 12:46:10` (or `2006-03-16  03:42:57`) as a timestamp text, null when empty or not one. */
export function rnaTimestamp(raw: string): string | null {
  const s = raw.trim();
  const d = rnaDate(s);
  if (!d) return null;
  const t = TIME.exec(s.slice(10));
  return t ? `${d} ${t[1]}` : d;
}

/** A cell that only says « nothing » (`_`, `-`, a lone dot) is empty. */
export function clean(raw: string | undefined): string {
  const s = (raw ?? '').trim();
  return /^[_.-]*$/.test(s) ? '' : s;
}

/** Address parts joined as a person writes them: `12 B RUE DES LILAS, Bâtiment C, BP 12`. */
export function address(street: string[], rest: string[]): string {
  const line = street.map(clean).filter(Boolean).join(' ');
  return [line, ...rest.map(clean)].filter(Boolean).join(', ');
}

/** Département of an RNA file from its name (`rna_waldec_20261001_dpt_2A.csv` → 2A), null when it does not say. */
export function fileDepartement(name: string): string | null {
  const m = /_dpt_([0-9]{2,3}|2[ab])\.csv$/i.exec(name);
  return m ? m[1].toUpperCase() : null;
}
