import { Readable } from 'node:stream';
import { INVALID, parseCount, parseDecimal, readCsv, requireColumns } from '../../src/engine/csv';
import { FormatError } from '../../src/engine/errors';

describe('CSV reading (no database)', () => {
  test('rows keep their physical line number; a quoted field over two lines counts both', async () => {
    const text = Readable.from(['code;nom\r\n01001;"L\'Abergement"\r\n', '01002;"sur\ndeux lignes"\r\n\r\n01004;Ambérieu\r\n']);
    const { header, rows } = await readCsv(text, 'f.csv', { delimiter: ';' });
    expect(header).toEqual(['code', 'nom']);
    const out: [number, string[]][] = [];
    for await (const r of rows) out.push([r.line, r.values]);
    expect(out).toEqual([
      [2, ['01001', "L'Abergement"]],
      [4, ['01002', 'sur\ndeux lignes']],
      [6, ['01004', 'Ambérieu']],
    ]);
  });

  test('an empty file has no header row: a FormatError naming it', async () => {
    await expect(readCsv(Readable.from(['']), 'vide.csv', { delimiter: ';' })).rejects.toThrow(/^vide\.csv: empty file: no header row$/);
  });

  test('requireColumns names every missing column, case and spaces ignored', () => {
    expect(requireColumns('f.csv', [' CODGEO', 'P22_POP'], ['codgeo', 'P22_POP'] as const)).toEqual({ codgeo: 0, P22_POP: 1 });
    const err = (() => {
      try {
        requireColumns('f.csv', ['CODGEO'], ['CODGEO', 'PMUN', 'PTOT']);
      } catch (e) {
        return e as FormatError;
      }
    })()!;
    expect(err).toBeInstanceOf(FormatError);
    expect(err.message).toBe('f.csv, line 1, column PMUN, PTOT: missing columns PMUN, PTOT (header: CODGEO)');
  });

  test('counts and decimals: empty is unknown (null), never 0; French writing accepted', () => {
    expect(parseCount('1 234')).toBe(1234);
    expect(parseCount('')).toBeNull();
    expect(parseCount('12,5')).toBe(INVALID);
    expect(parseDecimal('52,00%')).toBe(52);
    expect(parseDecimal('1\u202f234,5')).toBe(1234.5);
    expect(parseDecimal(' ')).toBeNull();
    expect(parseDecimal('n/a')).toBe(INVALID);
  });
});
