import { openText } from './decode';

/**
 * Finding a column by name in a header whose spelling varies between exports of the same data
 * (`Code_postal` / `Code postal`, `Code commune (coord. structure)` / `(coord. Structure)`,
 * an Opendatasoft export by field names or by labels): names are compared after folding case,
 * accents, spaces and punctuation.
 */

/** `Code commune (coord. Structure)` → `code_commune_coord_structure`. */
export function foldName(s: string): string {
  return s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/**
 * Returns a lookup over `header`: given the names a column is known by (first match wins), its
 * index, or -1 when the header has none of them.
 */
export function columnFinder(header: readonly string[]): (...names: string[]) => number {
  const folded = new Map<string, number>();
  header.forEach((h, i) => {
    const k = foldName(h);
    if (!folded.has(k)) folded.set(k, i);
  });
  return (...names) => {
    for (const n of names) {
      const i = folded.get(foldName(n));
      if (i !== undefined) return i;
    }
    return -1;
  };
}

/**
 * The first line of a text file (its header), decoded (gzip, zip entry, BOM, Windows-1252 as
 * `openText` does), without reading the rest: a reader can check its columns before any row.
 */
export async function headerLine(file: string, opts: { entry?: string | RegExp } = {}): Promise<string> {
  const { text } = await openText(file, { encoding: 'auto', entry: opts.entry });
  let head = '';
  try {
    for await (const chunk of text) {
      head += String(chunk);
      if (/\r|\n/.test(head)) break;
    }
  } finally {
    text.destroy();
  }
  return head.split(/\r?\n|\r/)[0];
}
