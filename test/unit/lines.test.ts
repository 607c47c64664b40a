import { Readable } from 'node:stream';
import { textLines } from '../../src/engine/lines';
import { columnFinder, foldName } from '../../src/engine/columns';

const collect = async (chunks: string[]) => {
  const out: [number, string][] = [];
  for await (const l of textLines(Readable.from(chunks))) out.push([l.line, l.text]);
  return out;
};

describe('textLines', () => {
  test('LF, CRLF and CR end a line; numbers are the file’s, empty lines skipped but counted', async () => {
    expect(await collect(['a|b\r\nc|d\n\ne\rf'])).toEqual([
      [1, 'a|b'],
      [2, 'c|d'],
      [4, 'e'],
      [5, 'f'],
    ]);
  });

  test('a CRLF cut between two chunks is one line end, and a line may span chunks', async () => {
    expect(await collect(['a\r', '\nb', 'c\r\n', 'd'])).toEqual([
      [1, 'a'],
      [2, 'bc'],
      [3, 'd'],
    ]);
  });
});

describe('columnFinder', () => {
  test('names compared without case, accents, spaces or punctuation; the first alias found wins', () => {
    expect(foldName('Code commune (coord. Structure)')).toBe('code_commune_coord_structure');
    const find = columnFinder(['Code postal', 'Code commune (coord. structure)', 'Libellé savoir-faire']);
    expect(find('Code_postal')).toBe(0);
    expect(find('Code commune (coord. Structure)')).toBe(1);
    expect(find('libelle savoir faire')).toBe(2);
    expect(find('absent', 'Code postal')).toBe(0);
    expect(find('absent')).toBe(-1);
  });
});
