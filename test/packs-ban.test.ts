import path from 'node:path';
import crypto from 'node:crypto';
import { freshDatabase } from './helpers/db';
import { unzip } from './helpers/zip';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { buildPacks } from '../src/packs/build';
import { settings } from '../config/settings';
import { readManifest } from '../src/packs/store';
import { parseCsv, validateCsv, TableSchema } from '../src/packs/format';
import { BAN_COLUMNS } from '../pipelines/ban/source';

// The BAN's pack files are written by PostgreSQL (COPY per commune), not row by row in Node:
// these tests check they hold exactly the published rows, in the declared layout.
const FIX = path.join(__dirname, 'fixtures', 'ban');
const CODES = ['35238', '35062', '75056', '75101', '75112'];

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
  for (const f of ['adresses-35.csv.gz', 'adresses-75.csv.gz']) {
    const r = await runSource('ban', { file: path.join(FIX, f), millesime: '2024-06-01', trigger: 'test', log: () => undefined });
    expect(r.status).toBe('succeeded');
  }
});
afterAll(async () => db.cleanup());

const latest = (code: string) => unzip(path.join(settings().PACKS_DIR, code, readManifest(settings().PACKS_DIR, code)!.versions[0].file));
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** The published rows of one pack's addresses, as text, in file order. */
async function publishedRows(where: string, params: unknown[]): Promise<string[][]> {
  const { rows } = await pool().query({
    text: `select ${BAN_COLUMNS.map((c) => `coalesce(${c}::text, '')`).join(', ')} from adresses where ${where} order by line`,
    values: params,
    rowMode: 'array',
  });
  return rows;
}

describe('BAN in the commune packs', () => {
  beforeAll(async () => {
    const r = await buildPacks({ communes: CODES, log: () => undefined });
    expect(r).toMatchObject({ built: CODES.length, failed: 0 });
  });

  test("adresses.csv holds exactly the commune's published rows, quoted ; included, and follows its Table Schema", async () => {
    const files = await latest('35238');
    const csv = files.get('adresses.csv')!.toString('utf8');
    const dp = JSON.parse(files.get('datapackage.json')!.toString('utf8'));
    const res = dp.resources.find((r: { path: string }) => r.path === 'adresses.csv');
    expect(res.dialect).toEqual({ delimiter: ';', lineTerminator: '\n' });
    expect(validateCsv(csv, res.schema as TableSchema)).toEqual([]);
    const [header, ...rows] = parseCsv(csv);
    expect(header).toEqual(BAN_COLUMNS);
    const expected = await publishedRows(`code_commune = $1`, ['35238']);
    expect(expected.length).toBeGreaterThan(1);
    expect(rows).toEqual(expected);
    expect(rows.some((r) => r[BAN_COLUMNS.indexOf('nom_voie')].includes(';'))).toBe(true);
    expect(res.bytes).toBe(files.get('adresses.csv')!.length);
    expect(res.hash).toBe(`sha256:${sha(files.get('adresses.csv')!)}`);
  });

  test('adresses.geojson is a FeatureCollection of the same addresses, positions from lon/lat', async () => {
    const files = await latest('35238');
    const fc = JSON.parse(files.get('adresses.geojson')!.toString('utf8'));
    const expected = await publishedRows(`code_commune = $1`, ['35238']);
    expect(fc.type).toBe('FeatureCollection');
    expect(fc.features).toHaveLength(expected.length);
    const lon = BAN_COLUMNS.indexOf('lon'),
      lat = BAN_COLUMNS.indexOf('lat'),
      id = BAN_COLUMNS.indexOf('id');
    fc.features.forEach(
      (f: { type: string; geometry: { type: string; coordinates: number[] }; properties: Record<string, string> }, i: number) => {
        expect(f.type).toBe('Feature');
        expect(f.geometry).toEqual({ type: 'Point', coordinates: [Number(expected[i][lon]), Number(expected[i][lat])] });
        expect(f.properties.id).toBe(expected[i][id]);
        expect(f.properties.code_insee).toBe('35238');
      },
    );
    const {
      rows: [b],
    } = await pool().query(`select donnees from pack_builds where code = '35238'`);
    expect(b.donnees.ban.lignes).toEqual({ 'adresses.csv': expected.length, 'adresses.geojson': expected.length });
  });

  test("an address of a commune déléguée is in its commune nouvelle's pack, with the delegated code", async () => {
    const fc = JSON.parse((await latest('35062')).get('adresses.geojson')!.toString('utf8'));
    expect(fc.features.map((f: { properties: Record<string, string> }) => f.properties.commune_deleguee)).toContain('35112');
  });

  test('Paris: the commune pack holds every arrondissement, an arrondissement pack only its own', async () => {
    const paris = parseCsv((await latest('75056')).get('adresses.csv')!.toString('utf8')).slice(1);
    const first = parseCsv((await latest('75101')).get('adresses.csv')!.toString('utf8')).slice(1);
    const twelfth = parseCsv((await latest('75112')).get('adresses.csv')!.toString('utf8')).slice(1);
    const insee = BAN_COLUMNS.indexOf('code_insee');
    expect(new Set(paris.map((r) => r[insee]))).toEqual(new Set(['75101', '75112']));
    expect(first.length).toBeGreaterThan(0);
    expect(first.every((r) => r[insee] === '75101')).toBe(true);
    expect(twelfth.every((r) => r[insee] === '75112')).toBe(true);
    expect(first.length + twelfth.length).toBe(paris.length);
  });

  test("a changed address rebuilds only its commune's pack, and changes.json names adresses.csv", async () => {
    await pool()
      .query(`update adresses set nom_voie = 'Rue du Changement' where line = (select min(line) from adresses where code_commune = '35238')
                          and code_commune = '35238'`);
    const r = await buildPacks({ communes: CODES, recheck: true, log: () => undefined });
    expect(r).toMatchObject({ built: 1, unchanged: CODES.length - 1, failed: 0 });
    const changes = JSON.parse((await latest('35238')).get('changes.json')!.toString('utf8'));
    const t = changes.tables.find((x: { fichier: string }) => x.fichier === 'adresses.csv');
    // Same address id, another street name: modified, not removed and added.
    expect(t).toMatchObject({
      clePrimaire: ['id'],
      lignesAjoutees: 0,
      lignesRetirees: 0,
      lignesModifiees: 1,
      colonnesModifiees: { nom_voie: 1 },
    });
    expect(t.exemples.modifiees[0].colonnes.nom_voie.apres).toBe('Rue du Changement');
  });

  test('a département reloaded alone: only its communes are re-read, the others skipped unread', async () => {
    const before = await buildPacks({ communes: CODES, log: () => undefined });
    expect(before).toMatchObject({ built: 0, skipped: CODES.length });
    // v2 holds fewer addresses on purpose: forced past the publication guard.
    const r = await runSource('ban', {
      file: path.join(FIX, 'v2', 'adresses-35.csv.gz'),
      millesime: '2024-06-01',
      trigger: 'test',
      log: () => undefined,
      allowShrink: true,
    });
    expect(r.status).toBe('succeeded');
    const after = await buildPacks({ communes: CODES, log: () => undefined });
    // 35238 and 35062 re-read (their addresses changed: rebuilt); Paris's three packs not even read.
    expect(after).toMatchObject({ skipped: 3, failed: 0 });
    expect(after.built).toBe(2);
    const rows = parseCsv((await latest('35238')).get('adresses.csv')!.toString('utf8')).slice(1);
    expect(rows).toEqual(await publishedRows(`code_commune = $1`, ['35238']));
  });
});
