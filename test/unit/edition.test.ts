import { compareEditions, editionKey, EditionError, formatEdition, parseEdition, resolveEdition } from '../../src/engine/edition';
import { ContentError, isRetryable } from '../../src/engine/errors';

describe('editions (millésimes)', () => {
  test('each kind is read from its label and written back unchanged', () => {
    const labels = [
      '2021',
      '2024_T3',
      '2024-09-24',
      '2026-08',
      'presidentielle-2022-t2',
      'europeennes-2024',
      'municipales-2026-t1',
      'ofgl-2023',
      'dgfip-2022',
    ];
    for (const l of labels) expect(formatEdition(parseEdition(l))).toBe(l);
    expect(parseEdition('2021')).toEqual({ kind: 'year', year: 2021 });
    expect(parseEdition('2024_T3')).toEqual({ kind: 'quarter', year: 2024, quarter: 3 });
    expect(parseEdition('2024-09-24')).toEqual({ kind: 'date', date: '2024-09-24' });
    expect(parseEdition('2026-08')).toEqual({ kind: 'month', year: 2026, month: 8 });
    expect(() => parseEdition('2026-13')).toThrow(EditionError);
    expect(parseEdition('presidentielle-2022-t2')).toEqual({ kind: 'election', election: 'presidentielle', year: 2022, round: 2 });
    expect(parseEdition('europeennes-2024')).toEqual({ kind: 'election', election: 'europeennes', year: 2024, round: null });
    expect(parseEdition('ofgl-2023')).toEqual({ kind: 'series', series: 'ofgl', year: 2023 });
  });

  test('"latest" is chronological, not the text order of labels', () => {
    // As text, the présidentielle sorts after the municipales of four years later.
    expect('presidentielle-2022-t2' > 'municipales-2026-t1').toBe(true);
    expect(compareEditions(parseEdition('presidentielle-2022-t2'), parseEdition('municipales-2026-t1'))).toBeLessThan(0);
    const sorted = ['municipales-2026-t1', 'presidentielle-2022-t2', 'presidentielle-2022-t1', 'legislatives-2024-t1']
      .map(parseEdition)
      .sort(compareEditions)
      .map(formatEdition);
    expect(sorted).toEqual(['presidentielle-2022-t1', 'presidentielle-2022-t2', 'legislatives-2024-t1', 'municipales-2026-t1']);
    expect(compareEditions(parseEdition('2024_T2'), parseEdition('2024_T3'))).toBeLessThan(0);
    expect(compareEditions(parseEdition('2023_T4'), parseEdition('2024_T1'))).toBeLessThan(0);
    expect(compareEditions(parseEdition('2024-09-24'), parseEdition('2024-10-01'))).toBeLessThan(0);
    expect(compareEditions(parseEdition('2026-07'), parseEdition('2026-08'))).toBeLessThan(0);
    expect(compareEditions(parseEdition('2026-07-31'), parseEdition('2026-08'))).toBeLessThan(0);
    expect(compareEditions(parseEdition('dgfip-2024'), parseEdition('ofgl-2023'))).toBeGreaterThan(0);
    expect(compareEditions(parseEdition('2021'), parseEdition('2021'))).toBe(0);
  });

  test('the day of a vote orders two elections of one year; it is not part of the label', () => {
    const euro = { kind: 'election', election: 'europeennes', year: 2024, round: 1, date: '2024-06-09' } as const;
    const legis = { kind: 'election', election: 'legislatives', year: 2024, round: 1, date: '2024-06-30' } as const;
    expect(compareEditions(legis, euro)).toBeGreaterThan(0);
    expect(resolveEdition(euro)).toEqual({ label: 'europeennes-2024-t1', kind: 'election', key: '2024-06-09~1~europeennes' });
    // a later year always has a greater key, with or without the day
    expect(editionKey(parseEdition('presidentielle-2022-t2')) < editionKey(euro)).toBe(true);
  });

  test('sort keys are plain ASCII of one shape: first day of the period, then round and name', () => {
    expect(editionKey(parseEdition('2021'))).toBe('2021-01-01');
    expect(editionKey(parseEdition('2024_T3'))).toBe('2024-07-01');
    expect(editionKey(parseEdition('2024-09-24'))).toBe('2024-09-24');
    expect(editionKey(parseEdition('presidentielle-2022-t2'))).toBe('2022-01-01~2~presidentielle');
    expect(editionKey(parseEdition('ofgl-2023'))).toBe('2023-01-01~0~ofgl');
  });

  test('a label no kind describes is a content error (never retried)', () => {
    for (const bad of ['', 'v1', '2024-13-01', '2024_T5', 'Présidentielle 2022', '22']) {
      expect(() => parseEdition(bad)).toThrow(EditionError);
    }
    const err = (() => {
      try {
        parseEdition('v1');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ContentError);
    expect(isRetryable(err)).toBe(false);
    expect(() => formatEdition({ kind: 'quarter', year: 2024, quarter: 5 as 1 })).toThrow(EditionError);
    expect(() => formatEdition({ kind: 'date', date: '2024-02-30' })).toThrow(EditionError);
  });
});
