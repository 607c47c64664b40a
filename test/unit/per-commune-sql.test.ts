import { perCommuneSql, perCommuneSqlOf } from '../../src/packs/section';

/**
 * Per-commune pack queries get their commune's code, département and commune (of an arrondissement
 * municipal) as literals, so that PostgreSQL prunes the BAN's partitions when planning.
 */
const SQL =
  'select * from adresses where departement = $departement and code_commune = $commune_plm and (code_commune = $code or code_insee = $code)';

test('literals for a commune, an arrondissement municipal, Corsica and overseas', () => {
  expect(perCommuneSql(SQL, '35238')).toBe(
    "select * from adresses where departement = '35' and code_commune = '35238' and (code_commune = '35238' or code_insee = '35238')",
  );
  expect(perCommuneSql(SQL, '75112')).toBe(
    "select * from adresses where departement = '75' and code_commune = '75056' and (code_commune = '75112' or code_insee = '75112')",
  );
  expect(perCommuneSql(SQL, '13201')).toContain("code_commune = '13055'");
  expect(perCommuneSql(SQL, '69389')).toContain("code_commune = '69123'");
  expect(perCommuneSql(SQL, '2A004')).toContain("departement = '2A'");
  expect(perCommuneSql(SQL, '97411')).toContain("departement = '974'");
});

test('a code that is not a commune code never reaches the SQL text', () => {
  for (const bad of ["35238' or 1=1 --", '3523', '75056;', '2C004'])
    expect(() => perCommuneSql(SQL, bad)).toThrow(/unexpected commune code/);
});

test('the same query over a column of codes uses the SQL functions the literals stand for', () => {
  expect(perCommuneSqlOf(SQL, 'c')).toBe(
    'select * from adresses where departement = geo_departement(c) and code_commune = geo_commune_plm(c) and (code_commune = c or code_insee = c)',
  );
});
