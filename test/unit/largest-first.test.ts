import { largestFirst } from '../../src/packs/build';

describe('pack build processes: départements handed out largest first', () => {
  test('by expected work, descending; ties in code order; a département without a weight last', () => {
    const batches = new Map<string, string[]>([
      ['01', ['01001', '01002']],
      ['2A', ['2A004']],
      ['75', ['75056', '75101']],
      ['92', ['92004']],
      ['974', ['97411']],
    ]);
    const weights = new Map([
      ['01', 10_000],
      ['2A', 10_000],
      ['75', 4_300_000],
      ['92', 120_000],
    ]);
    expect(largestFirst(batches, weights)).toEqual([
      ['75', ['75056', '75101']],
      ['92', ['92004']],
      ['01', ['01001', '01002']],
      ['2A', ['2A004']],
      ['974', ['97411']],
    ]);
  });
});
