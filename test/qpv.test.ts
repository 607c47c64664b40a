import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yazl from 'yazl';
import { freshDatabase } from './helpers/db';
import { unzip } from './helpers/zip';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { hasOgr2ogr } from '../src/geo/features';
import { pipeline as qpv } from '../pipelines/qpv';

/**
 * QPV 2024 in ANCT's 2024 layout: a ZIP holding the same quartiers in several projections
 * (GEOJSON/…_WGS84.geojson, GEOJSON/…_LB93.geojson, SHP/… in Lambert-93, UTM 40S and WGS84),
 * one feature per QPV × commune with `code_qp, lib_qp, insee_reg, insee_dep, insee_com, lib_com,
 * siren_epci`. The fixture is SYNTHETIC (test/fixtures/qpv/README.md); expected values are read
 * from the fixture's WGS84 entry here, not copied from the pipeline.
 */
const ZIP = path.join(__dirname, 'fixtures', 'qpv', 'QP2024-layout-synthetic.zip');
const WGS84_ENTRY = 'GEOJSON/QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson';
interface Feature {
  properties: Record<string, string>;
  geometry: { coordinates: number[][][] };
}
let features: Feature[];
let db: Awaited<ReturnType<typeof freshDatabase>>;
const logs: string[] = [];
const run = (file: string, allowShrink = false) =>
  runSource('qpv', { file, trigger: 'test', log: (m) => logs.push(m), force: true, allowShrink });

beforeAll(async () => {
  db = await freshDatabase();
  features = JSON.parse((await unzip(ZIP)).get(WGS84_ENTRY)!.toString('utf8')).features;
});
afterAll(async () => db.cleanup());

const bridge = async () =>
  (await pool().query(`select code_qp, code_commune, dans_liste from qpv_communes order by 1, 2`)).rows.map(
    (r) => `${r.code_qp}/${r.code_commune}/${r.dans_liste}`,
  );
const bbox = async (code: string) =>
  (
    await pool().query(
      `select ST_XMin(geom)::float8 as x0, ST_YMin(geom)::float8 as y0, ST_XMax(geom)::float8 as x1, ST_YMax(geom)::float8 as y1 from qpv where code_qp = $1`,
      [code],
    )
  ).rows[0];
/** The bounding box of a quartier's features in the file itself. */
const fileBbox = (code: string) => {
  const pts = features.filter((f) => f.properties.code_qp === code).flatMap((f) => f.geometry.coordinates[0]);
  return {
    x0: Math.min(...pts.map((p) => p[0])),
    y0: Math.min(...pts.map((p) => p[1])),
    x1: Math.max(...pts.map((p) => p[0])),
    y1: Math.max(...pts.map((p) => p[1])),
  };
};

describe('QPV 2024 layout (ZIP of several projections, one feature per QPV × commune)', () => {
  test('the WGS84 GeoJSON entry is read (not the first entry), every feature accounted for, edition from the file name', async () => {
    const r = await run(ZIP);
    expect(r.status).toBe('succeeded');
    expect([r.read, r.loaded, r.rejected]).toEqual([features.length, features.length, 0]);
    expect(r.millesime).toBe('2024');
    expect(logs).toContain(`read QP2024-layout-synthetic.zip!${WGS84_ENTRY}`);
    const { rows } = await pool().query(`select code_qp, nom_qp, commune_qp, fichier from qpv order by 1`);
    const codes = [...new Set(features.map((f) => f.properties.code_qp))].sort();
    expect(rows.map((x) => x.code_qp)).toEqual(codes);
    for (const x of rows) {
      const own = features.filter((f) => f.properties.code_qp === x.code_qp);
      expect(x.nom_qp).toBe(own[0].properties.lib_qp);
      expect(x.commune_qp).toBe([...new Set(own.map((f) => f.properties.lib_com))].sort().join(', '));
      expect(x.fichier).toBe(`QP2024-layout-synthetic.zip!${WGS84_ENTRY}`);
    }
    // Geometry as in the file (WGS84), the two features of QN03501M united.
    for (const code of codes) {
      const got = await bbox(code);
      const want = fileBbox(code);
      for (const k of ['x0', 'y0', 'x1', 'y1'] as const) expect(got[k]).toBeCloseTo(want[k], 9);
    }
  });

  test('linked by insee_com: a QPV over two communes is linked to both; a code of an older COG to its current commune', async () => {
    const byCode = new Map<string, Set<string>>();
    for (const f of features) byCode.set(f.properties.code_qp, (byCode.get(f.properties.code_qp) ?? new Set()).add(f.properties.insee_com));
    const two = [...byCode].find(([, s]) => s.size === 2)!;
    expect(two[0]).toBe('QN03501M');
    const got = await bridge();
    for (const com of two[1]) expect(got).toContain(`${two[0]}/${com}/true`);
    // 35112 Fleurigné is part of 35062 La Chapelle-Fleurigné since 2024-01-01.
    expect(features.find((f) => f.properties.code_qp === 'QN03504M')!.properties.insee_com).toBe('35112');
    expect(got).toContain('QN03504M/35062/true');
    expect(got).toContain('QN97414I/97414/true');
    expect(got).toHaveLength([...byCode.values()].reduce((n, s) => n + s.size, 0));
    // Both communes' packs hold the quartier.
    const rows = await pool().query(qpv.pack!.tables[0].query, [[...two[1]]]);
    expect(rows.rows.filter((x) => x.code_qp === two[0]).map((x) => x.code_commune)).toEqual([...two[1]].sort());
    const layer = await pool().query(qpv.pack!.layers![0].query, [[...two[1]]]);
    expect(layer.rows.filter((x) => x.properties.code_qp === two[0]).map((x) => x.code_commune)).toEqual([...two[1]].sort());
  });

  (hasOgr2ogr() ? test : test.skip)('without a WGS84 entry, the Lambert-93 GeoJSON is reprojected from its declared CRS', async () => {
    const entries = await unzip(ZIP);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qpv-lb93-'));
    const file = path.join(tmp, 'QP2024_lambert.zip');
    const zip = new yazl.ZipFile();
    zip.addBuffer(entries.get('GEOJSON/QP2024_France_hexagonale_LB93.geojson')!, 'GEOJSON/QP2024_France_hexagonale_LB93.geojson');
    zip.end();
    await new Promise<void>((resolve) => zip.outputStream.pipe(fs.createWriteStream(file)).on('close', () => resolve()));
    const lb93 = JSON.parse(entries.get('GEOJSON/QP2024_France_hexagonale_LB93.geojson')!.toString('utf8'));
    expect(lb93.crs.properties.name).toBe('urn:ogc:def:crs:EPSG::2154');
    // Metropolitan France only, after the whole list: fewer communes on purpose (forced past the guard).
    const r = await run(file, true);
    expect([r.status, r.read, r.rejected]).toEqual(['succeeded', lb93.features.length, 0]);
    // Back in degrees, where the WGS84 entry puts them (to a few centimetres).
    const got = await bbox('QN03502M');
    const want = fileBbox('QN03502M');
    for (const k of ['x0', 'y0', 'x1', 'y1'] as const) expect(Math.abs(got[k] - want[k])).toBeLessThan(1e-6);
    expect(await bridge()).toContain('QN03501M/35051/true');
  });
});
