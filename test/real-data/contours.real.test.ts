import { freshDatabase } from '../helpers/db';
import { describeRealData, sharedFile } from '../helpers/shared-data';
import { pool } from '../../src/db/pool';
import { runSource } from '../../src/engine/runner';

let db: Awaited<ReturnType<typeof freshDatabase>>;
const logs: string[] = [];
// No --resource: each file is recognised by its name as a france-geojson copy, whose COG year (2018) its declaration states.
const contours = (file: string) =>
  runSource('contours', { file: sharedFile('geo', file), trigger: 'test', log: (m) => logs.push(m), force: true });

describeRealData('real contours (france-geojson, ADMIN EXPRESS COG 2018) re-coded to the current COG', () => {
  beforeAll(async () => {
    db = await freshDatabase();
    // The INSEE movements table lets commune_passage(2018) walk every merger since 2018.
    const cog = await runSource('cog', {
      file: sharedFile('cog', 'mouvements-communes.csv'),
      resource: 'mouvements',
      trigger: 'test',
      log: () => undefined,
      force: true,
    });
    expect(cog.status).toBe('succeeded');
  });
  afterAll(async () => db?.cleanup());

  test('Ille-et-Vilaine: every current commune covered by exactly one contour', async () => {
    const r = await contours('communes-35-ille-et-vilaine.geojson');
    expect(r.status).toBe('succeeded');
    expect(r.read).toBe(345);
    expect(r.rejected).toBe(0);
    const {
      rows: [c],
    } = await pool().query(`select count(*)::int as n from communes where type = 'commune-actuelle' and departement = '35'`);
    const {
      rows: [k],
    } = await pool().query(
      `select count(*)::int as contours,
              count(*) filter (where not exists (select 1 from communes c where c.code = k.code_commune and c.type = 'commune-actuelle'))::int as not_current,
              count(*) filter (where cardinality(codes_sources) > 1)::int as merged,
              count(*) filter (where not ST_IsValid(geom) or not ST_IsValid(geom_simple))::int as invalid
         from commune_contours k where departement = '35'`,
    );
    const { rows: uncovered } = await pool().query(
      `select c.code from communes c where c.type = 'commune-actuelle' and c.departement = '35'
          and (select count(*) from commune_contours k where k.code_commune = c.code) <> 1`,
    );
    expect(uncovered).toEqual([]);
    expect(k).toEqual({ contours: c.n, not_current: 0, merged: k.merged, invalid: 0 });
    expect(c.n).toBeLessThan(345); // communes nouvelles since 2018
    expect(k.merged).toBeGreaterThan(0);
    // 35062 La Chapelle-Fleurigné = La Chapelle-Janson + Fleurigné (2024).
    const {
      rows: [lcf],
    } = await pool().query(`select codes_sources from commune_contours where code_commune = '35062'`);
    expect(lcf.codes_sources).toEqual(['35062', '35112']);
  });

  test('the communes of 35 tile the département outline (single-Feature file)', async () => {
    expect((await contours('departement-35-ille-et-vilaine.geojson')).status).toBe('succeeded');
    const {
      rows: [a],
    } = await pool().query(
      `select (select ST_Area(ST_Union(geom)::geography) from commune_contours where departement = '35') / ST_Area(d.geom::geography) as ratio
         from departement_contours d where d.code = '35'`,
    );
    expect(a.ratio).toBeGreaterThan(0.98);
    expect(a.ratio).toBeLessThan(1.02);
  });

  test('Corse-du-Sud, Paris and La Réunion load alongside without touching 35', async () => {
    const before = (await pool().query(`select count(*)::int as n from commune_contours where departement = '35'`)).rows[0].n;
    for (const f of ['communes-2A-corse-du-sud.geojson', 'communes-75-paris.geojson', 'communes-974-la-reunion.geojson']) {
      const r = await contours(f);
      expect([f, r.status, r.rejected]).toEqual([f, 'succeeded', 0]);
    }
    const { rows } = await pool().query(
      `select d, (select count(*)::int from commune_contours k where k.departement = d) as contours,
              (select count(*)::int from communes c where c.type = 'commune-actuelle' and c.departement = d) as communes
         from unnest(array['2A', '75', '974', '35']) d order by d`,
    );
    for (const r of rows) expect(r.contours).toBe(r.communes);
    expect(rows.find((r) => r.d === '35')!.contours).toBe(before);
    const {
      rows: [paris],
    } = await pool().query(`select code_commune, nom from commune_contours where departement = '75'`);
    expect(paris).toEqual({ code_commune: '75056', nom: 'Paris' });
  });
});
