import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { readPackageArray } from '../pipelines/cog/embedded';

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

describe('commune referential (embedded package)', () => {
  test('counts per type equal those of @etalab/decoupage-administratif', async () => {
    const expected: Record<string, number> = {};
    for (const c of readPackageArray('communes') as { type: string }[]) expected[c.type] = (expected[c.type] ?? 0) + 1;
    const { rows } = await pool().query(`select type, count(*)::int as n from communes group by type`);
    expect(Object.fromEntries(rows.map((r) => [r.type, r.n]))).toEqual(expected);
    const epci = (await pool().query(`select count(*)::int as n from epci`)).rows[0].n;
    expect(epci).toBe(readPackageArray('epci').length);
    const deps = (await pool().query(`select count(*)::int as n from departements`)).rows[0].n;
    expect(deps).toBe(readPackageArray('departements').length);
  });
  test('2A004 keeps its letter and 97411 is in département 974', async () => {
    const { rows } = await pool().query(
      `select code, departement from communes where code in ('2A004', '97411') and type = 'commune-actuelle' order by code`,
    );
    expect(rows).toEqual([
      { code: '2A004', departement: '2A' },
      { code: '97411', departement: '974' },
    ]);
  });
  test('arrondissements municipaux point to their commune, and old codes to the current one', async () => {
    const { rows } = await pool().query(
      `select code, code_actuel, nature from commune_correspondance where code in ('75101', '69381', '13201', '35112') order by code`,
    );
    expect(rows).toEqual([
      { code: '13201', code_actuel: '13055', nature: 'arrondissement' },
      { code: '35112', code_actuel: '35062', nature: 'ancienne' },
      { code: '69381', code_actuel: '69123', nature: 'arrondissement' },
      { code: '75101', code_actuel: '75056', nature: 'arrondissement' },
    ]);
  });
});
