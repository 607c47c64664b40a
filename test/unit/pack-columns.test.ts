import { columnPositions } from '../../src/packs/build';

describe('pack queries are read by column name', () => {
  test('each expected column is found wherever the query puts it', () => {
    expect(
      columnPositions('t', ['population_totale', 'code_commune', 'millesime'], ['code_commune', 'millesime', 'population_totale']),
    ).toEqual([1, 2, 0]);
  });
  test('a missing, unexpected or repeated column fails, naming it', () => {
    expect(() =>
      columnPositions('populations/population.csv', ['code_commune', 'pmun'], ['code_commune', 'population_municipale']),
    ).toThrow(/populations\/population\.csv: .*missing: population_municipale; unexpected: pmun \(it returns code_commune, pmun\)/);
    expect(() => columnPositions('x', ['code_commune', 'a', 'a'], ['code_commune', 'a'])).toThrow(/repeated: a/);
  });
});
