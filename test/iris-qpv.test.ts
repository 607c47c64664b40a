import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { enrichDepartements } from '../src/geo/enrich';
import { hasOgr2ogr } from '../src/geo/features';
import { pipeline as iris } from '../pipelines/iris';
import { pipeline as qpv } from '../pipelines/qpv';

const FIX = path.join(__dirname, 'fixtures');
let db: Awaited<ReturnType<typeof freshDatabase>>;
const logs: string[] = [];
/** The test copies state their edition, as an operator does with --millesime for a file whose name carries none. */
const EDITION: Record<string, string | undefined> = { ban: '2024-06-01', iris: '2025' };
const run = (id: string, file: string, resource?: string) =>
  runSource(id, { file: path.join(FIX, file), resource, millesime: EDITION[id], trigger: 'test', log: (m) => logs.push(m), force: true });
beforeAll(async () => {
  db = await freshDatabase();
  // Recognised by its name as a france-geojson copy, COG 2018 by its declaration.
  expect((await run('contours', 'contours/communes-35-ille-et-vilaine.geojson')).status).toBe('succeeded');
  expect((await run('ban', 'ban/adresses-35.csv.gz')).status).toBe('succeeded');
  expect((await run('ban', 'ban/adresses-75.csv.gz')).status).toBe('succeeded');
});
afterAll(async () => db.cleanup());

const addressCodes = async () =>
  (await pool().query(`select id, code_iris, code_qp from adresses where departement in ('35', '75') order by id`)).rows;

describe('IRIS and QPV', () => {
  test('IRIS GeoJSON: PLM IRIS roll up to their commune, unknown commune quarantined, addresses enriched', async () => {
    const r = await run('iris', 'iris/contours-iris.geojson');
    expect(r.status).toBe('succeeded');
    expect([r.read, r.loaded, r.rejected]).toEqual([5, 4, 1]);
    const { rows } = await pool().query(`select code_iris, code_insee, code_commune, departement from iris order by 1`);
    expect(rows).toContainEqual({ code_iris: '751124501', code_insee: '75112', code_commune: '75056', departement: '75' });
    const codes = await addressCodes();
    expect(codes).toEqual([
      { id: '35051_0001_00002', code_iris: '350510000', code_qp: null },
      { id: '35062_0100_00005', code_iris: null, code_qp: null },
      { id: '35238_1234_00001', code_iris: '352380101', code_qp: null },
      { id: '35238_1234_00003', code_iris: '352380102', code_qp: null },
      { id: '35238_5678_00010', code_iris: '352380102', code_qp: null },
      { id: '75101_0001_00001', code_iris: null, code_qp: null },
      { id: '75112_3456_00012', code_iris: '751124501', code_qp: null },
    ]);
    const counts = await pool().query(iris.pack!.tables[0].query, [['35238', '75056']]);
    expect(counts.rows.map((x) => Object.values(x))).toEqual([
      ['35238', '352380101', 'Centre Ouest', 'H', 1],
      ['35238', '352380102', 'Centre Est', 'H', 2],
      ['75056', '751124501', 'Bel Air 1', 'H', 1],
    ]);
    expect((await pool().query(iris.pack!.layers![0].query, [['35238']])).rows).toHaveLength(2);
    // Unchanged polygons and addresses: nothing to re-run.
    expect(await enrichDepartements(pool())).toEqual([]);
  });

  (hasOgr2ogr() ? test : test.skip)('IRIS from a GeoPackage in Lambert-93, and from an IGN-like .7z archive', async () => {
    const r = await run('iris', 'iris/contours_iris.gpkg');
    expect([r.status, r.loaded, r.rejected]).toEqual(['succeeded', 4, 1]);
    const {
      rows: [g],
    } = await pool().query(
      `select ST_SRID(geom) as srid, round(ST_XMin(geom)::numeric, 3)::float8 as xmin from iris where code_iris = '352380101'`,
    );
    expect(g).toEqual({ srid: 4326, xmin: -1.75 });
    const z = await run('iris', 'iris/CONTOURS-IRIS_3-0__GPKG_TEST.7z');
    expect([z.status, z.loaded]).toEqual(['succeeded', 4]);
    expect((await addressCodes()).find((a) => a.id === '35238_1234_00001')!.code_iris).toBe('352380101');
  });

  test('QPV: bridge from commune_qp cross-checked with contours, disagreements reported, addresses enriched', async () => {
    const r = await run('qpv', 'qpv/qpv-2024.geojson');
    expect(r.status).toBe('succeeded');
    const { rows } = await pool().query(
      `select code_qp, code_commune, dans_liste, par_contour, round(part_surface::numeric, 2)::float8 as part from qpv_communes order by 1, 2`,
    );
    expect(rows).toEqual([
      { code_qp: 'QN03501M', code_commune: '35051', dans_liste: true, par_contour: true, part: 0.5 },
      { code_qp: 'QN03501M', code_commune: '35238', dans_liste: true, par_contour: true, part: 0.5 },
      { code_qp: 'QN03502M', code_commune: '35238', dans_liste: true, par_contour: true, part: 1 },
      { code_qp: 'QN03502M', code_commune: '35281', dans_liste: true, par_contour: false, part: null },
      { code_qp: 'QN03503M', code_commune: '35238', dans_liste: false, par_contour: true, part: 1 },
    ]);
    const {
      rows: [pub],
    } = await pool().query(`select details from published_datasets where source = 'qpv'`);
    expect(pub.details.desaccords.map((d: { code_qp: string; code_commune: string }) => `${d.code_qp}/${d.code_commune}`)).toEqual([
      'QN03502M/35281',
      'QN03503M/35238',
    ]);
    expect(pub.details.noms_inconnus).toEqual([{ code_qp: 'QN03503M', nom: 'Ville-Qui-N-Existe-Pas' }]);
    expect(logs.some((l) => /disagreement/.test(l))).toBe(true);
    const codes = await addressCodes();
    expect(codes.filter((a) => a.code_qp).map((a) => [a.id, a.code_qp])).toEqual([
      ['35051_0001_00002', 'QN03501M'],
      ['35238_5678_00010', 'QN03501M'],
    ]);
    const counts = await pool().query(qpv.pack!.tables[0].query, [['35051', '35238']]);
    expect(counts.rows.map((x) => [x.code_commune, x.code_qp, Object.values(x)[5]])).toEqual([
      ['35051', 'QN03501M', 1],
      ['35238', 'QN03501M', 1],
      ['35238', 'QN03502M', 0],
      ['35238', 'QN03503M', 0],
    ]);
    expect((await pool().query(qpv.pack!.layers![0].query, [['35051']])).rows.map((x) => x.properties.code_qp)).toEqual(['QN03501M']);
  });

  test('a BAN load with polygons present publishes enriched rows: no UPDATE pass afterwards, same codes', async () => {
    const before = await addressCodes();
    expect(before.some((a) => a.code_qp)).toBe(true);
    logs.length = 0;
    const r = await run('ban', 'ban/adresses-35.csv.gz');
    expect(r.status).toBe('succeeded');
    expect(await addressCodes()).toEqual(before);
    // Codes came with the load (the post-load pass found nothing to do), and the digest of the polygons used is recorded.
    expect(logs.some((l) => /^enrichment \(IRIS, QPV\)/.test(l))).toBe(false);
    const {
      rows: [d],
    } = await pool().query(
      `select enrich_digest is not null as digest, enriched_at is not null as at from adresses_departements where departement = '35'`,
    );
    expect(d).toEqual({ digest: true, at: true });
    expect(await enrichDepartements(pool())).toEqual([]);
    // Rows written once: no dead tuple in the new partition, and nothing left of the raw table.
    const {
      rows: [t],
    } = await pool().query(`select count(*)::int as n from pg_class where relname ~ '^adresses_n[0-9]'`);
    expect(t.n).toBe(0);
  });
});
