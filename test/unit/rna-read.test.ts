import { rnaDate, rnaTimestamp } from '../../pipelines/associations/read';

/**
 * The RNA field readers on values copied from the genuine import file of September 2020
 * (test/fixtures/associations/real/rna_import_20200901_dpt_29.csv, PROVENANCE.md).
 */
describe('RNA dates and update times', () => {
  test('the import file writes two spaces between date and time: the update time is read, not lost', () => {
    // maj_time of origin line 2 (« LA CLAIRE FONTAINE »), as every line of that file writes it.
    expect(rnaTimestamp('2006-03-16  03:42:57')).toBe('2006-03-16 03:42:57');
    expect(rnaDate('2006-03-16  03:42:57')).toBe('2006-03-16');
    // The waldec layout (one space) and ISO `T` still read the same.
    expect(rnaTimestamp('2015-02-09 12:51:34')).toBe('2015-02-09 12:51:34');
    expect(rnaTimestamp('2015-02-09T12:51')).toBe('2015-02-09 12:51');
  });

  test('a year the préfecture mistyped is not a date: unknown (undefined), not invented; `0001-01-01` is « none »', () => {
    // date_creat of origin line 2194 and date_publi of line 7304.
    expect(rnaDate('0199-09-26')).toBeUndefined();
    expect(rnaDate('0998-12-26')).toBeUndefined();
    expect(rnaDate('0001-01-01')).toBeNull();
    expect(rnaDate('')).toBeNull();
    // Something after the date that is not a time is not taken for one.
    expect(rnaDate('2006-03-16 x')).toBeUndefined();
    expect(rnaTimestamp('2006-03-16 x')).toBeNull();
  });
});
