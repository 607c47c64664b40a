import fs from 'node:fs';

/**
 * Reads an INSEE Melodi CSV (`"A";"B";3`) into records keyed by column name, independently of
 * the pipelines: tests compare what was published with these raw lines. The files hold no `;`
 * inside quoted fields (codes only), so a split is enough; anything else fails loudly.
 */
export function readMelodi(text: string): Record<string, string>[] {
  const lines = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .filter(Boolean);
  const unquote = (v: string) => (/^".*"$/.test(v) ? v.slice(1, -1) : v);
  const header = lines[0].split(';').map(unquote);
  return lines.slice(1).map((l, i) => {
    const cells = l.split(';').map(unquote);
    if (cells.length !== header.length) throw new Error(`line ${i + 2}: ${cells.length} fields, header has ${header.length}`);
    return Object.fromEntries(header.map((h, j) => [h, cells[j]]));
  });
}

export const readMelodiFile = (file: string) => readMelodi(fs.readFileSync(file, 'utf8'));
