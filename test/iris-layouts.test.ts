import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { hasOgr2ogr } from '../src/geo/features';

/**
 * IRIS files as producers vary them: a GeoPackage whose layer is not called `contours_iris`, one
 * with two polygon layers, the older upper-case property names (`DCOMIRIS`, `TYP_IRIS`,
 * `DEPCOM`, data.gouv.fr « Contour des IRIS INSEE tout en un ») and codes written as JSON numbers.
 * Variants are made here from the SYNTHETIC fixtures (test/fixtures/iris/README.md).
 */
const FIX = path.join(__dirname, 'fixtures', 'iris');
const SRC = JSON.parse(fs.readFileSync(path.join(FIX, 'contours-iris.geojson'), 'utf8')) as {
  features: { properties: Record<string, string>; geometry: object }[];
};
// Hand-made files: their edition is stated, as an operator does with --millesime.
const run = (file: string) =>
  runSource('iris', { file, resource: 'contours', millesime: '2025', trigger: 'test', force: true, log: () => undefined });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iris-layouts-'));
const ogr = (...args: string[]) => execFileSync('ogr2ogr', args, { stdio: 'ignore' });
const rennes = async () =>
  (await pool().query(`select code_iris, nom_iris, type_iris from iris where code_commune = '35238' order by 1`)).rows;
const want = () =>
  SRC.features
    .filter((f) => f.properties.code_insee === '35238')
    .map((f) => ({ code_iris: f.properties.code_iris, nom_iris: f.properties.nom_iris, type_iris: f.properties.type_iris }));

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

describe('IRIS layouts', () => {
  test('upper-case property names (DCOMIRIS, TYP_IRIS, DEPCOM) and codes as JSON numbers are read', async () => {
    const file = path.join(tmp, 'iris-tout-en-un.geojson');
    const upper = SRC.features.map((f) => ({
      type: 'Feature',
      geometry: f.geometry,
      properties: {
        DCOMIRIS: f.properties.code_iris,
        NOM_IRIS: f.properties.nom_iris,
        TYP_IRIS: f.properties.type_iris,
        DEPCOM: Number(f.properties.code_insee), // a number, as an OpenDataSoft republication writes it
      },
    }));
    fs.writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features: upper }));
    const r = await run(file);
    expect(r.status).toBe('succeeded');
    expect(await rennes()).toEqual(want());
  });

  (hasOgr2ogr() ? test : test.skip)('a GeoPackage layer not named contours_iris is the one polygon layer read', async () => {
    const file = path.join(tmp, 'iris-2025.gpkg');
    ogr('-f', 'GPKG', file, path.join(FIX, 'contours_iris.gpkg'), '-nln', 'iris_ge_2025');
    await pool().query(`delete from iris`);
    const r = await run(file);
    expect(r.status).toBe('succeeded');
    expect(await rennes()).toEqual(want());
  });

  (hasOgr2ogr() ? test : test.skip)(
    'two polygon layers: the declared contours_iris is taken; without it the run fails naming them',
    async () => {
      const both = path.join(tmp, 'two-layers.gpkg');
      ogr('-f', 'GPKG', both, path.join(FIX, 'contours_iris.gpkg'), '-nln', 'contours_iris');
      ogr('-f', 'GPKG', '-update', both, path.join(FIX, 'contours_iris.gpkg'), '-nln', 'autre_couche', '-where', "code_iris = '352380101'");
      expect((await run(both)).status).toBe('succeeded');
      const neither = path.join(tmp, 'two-other-layers.gpkg');
      ogr('-f', 'GPKG', neither, path.join(FIX, 'contours_iris.gpkg'), '-nln', 'couche_a');
      ogr('-f', 'GPKG', '-update', neither, path.join(FIX, 'contours_iris.gpkg'), '-nln', 'couche_b');
      await expect(run(neither)).rejects.toThrow(/2 polygon layers \(couche_a, couche_b\).*name the one to read/);
    },
  );
});
