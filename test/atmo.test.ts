import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { parseDateEch } from '../pipelines/atmo/index';
import { pack } from '../pipelines/atmo/pack';
import { source as atmoSource } from '../pipelines/atmo/source';

const FIX = path.join(__dirname, 'fixtures', 'atmo');
const CSV = path.join(FIX, 'indices_atmo.csv');
const GEOJSON = path.join(FIX, 'ind_atmo_2021.geojson');
const quiet = { trigger: 'test' as const, log: () => undefined };
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'atmo-'));

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

async function day(date: string, code: string) {
  const { rows } = await pool().query(
    `select echelle, code_zone, code_qual, lib_qual, code_o3, codes_sources, source from atmo_indice where date_ech = $1 and code_commune = $2`,
    [date, code],
  );
  return rows[0];
}
async function quarantined(runId: number) {
  const { rows } = await pool().query(`select line, reason from quarantine where run_id = $1 order by line`, [runId]);
  return rows.map((r) => ({ line: Number(r.line), reason: r.reason as string }));
}
const count = async () => (await pool().query(`select count(*)::int as n from atmo_indice`)).rows[0].n as number;

describe('atmo: dates', () => {
  test('ISO, French and offset dates give the day in Paris; garbage does not parse', () => {
    expect(parseDateEch('2024-09-24')).toBe('2024-09-24');
    expect(parseDateEch('2024-09-24Z')).toBe('2024-09-24');
    expect(parseDateEch('24/09/2024')).toBe('2024-09-24');
    expect(parseDateEch('2024-09-23T22:00:00Z')).toBe('2024-09-24');
    expect(parseDateEch('2024-09-24T00:00:00+02:00')).toBe('2024-09-24');
    expect(parseDateEch('2024-02-30')).toBeUndefined();
    expect(parseDateEch('hier')).toBeUndefined();
  });
});

describe('atmo: indice ATMO per commune', () => {
  let csvRun: number;
  test('CSV: loads daily values, read = loaded + rejected', async () => {
    const r = await runSource('atmo', { ...quiet, file: CSV });
    csvRun = r.runId;
    expect(r).toMatchObject({ status: 'succeeded', read: 18, loaded: 9, rejected: 9, millesime: '2024' });
    expect(await day('2024-09-24', '01001')).toMatchObject({
      echelle: 'commune',
      code_qual: 1,
      lib_qual: 'Bon',
      source: 'Atmo Auvergne-Rhône-Alpes',
    });
    const {
      rows: [pub],
    } = await pool().query(`select details from published_datasets where source = 'atmo' and millesime = '2024'`);
    expect(pub.details).toMatchObject({ du: '2024-09-24', au: '2024-09-25' });
  });

  test('an EPCI value goes to each member commune, flagged, and a commune value wins the same day', async () => {
    expect(await day('2024-09-24', '35238')).toMatchObject({ echelle: 'commune', code_zone: '35238', code_qual: 3 });
    const members = (await pool().query(`select commune from epci_membres where epci = '243500139' and commune <> '35238'`)).rows.map(
      (r) => r.commune,
    );
    expect(members.length).toBeGreaterThan(10);
    const { rows } = await pool().query(
      `select count(*)::int as n, min(echelle) as e, max(echelle) as e2, min(code_qual) as q from atmo_indice where date_ech = '2024-09-24' and code_commune = any($1::text[])`,
      [members],
    );
    expect(rows[0]).toEqual({ n: members.length, e: 'epci', e2: 'epci', q: 2 });
    expect(await day('2024-09-24', members[0])).toMatchObject({ code_zone: '243500139', codes_sources: ['243500139'] });
  });

  test('merged communes: the worst index of the day, with both codes', async () => {
    expect(await day('2024-09-24', '35062')).toMatchObject({
      echelle: 'commune',
      code_qual: 4,
      lib_qual: 'Mauvais',
      code_o3: 4,
      codes_sources: ['35062', '35112'],
    });
    expect(await day('2024-09-24', '35112')).toBeUndefined();
  });

  test('codes 0 and 7 get their French labels; arrondissement, padded code and UTC timestamp are kept right', async () => {
    expect(await day('2024-09-24', '2A004')).toMatchObject({ code_qual: 0, lib_qual: 'Indisponible', code_o3: null });
    expect(await day('2024-09-25', '01001')).toMatchObject({ code_qual: 7, lib_qual: 'Événement' });
    expect(await day('2024-09-24', '75107')).toMatchObject({ echelle: 'commune', code_qual: 2 });
    expect(await day('2024-09-25', '01004')).toMatchObject({ code_qual: 2 });
  });

  test('bad records are quarantined with line and reason', async () => {
    const q = await quarantined(csvRun);
    expect(q.map((x) => x.line)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19]);
    const reason = (l: number) => q.find((x) => x.line === l)!.reason;
    expect(reason(11)).toMatch(/column date_ech: not a date: 'hier'/);
    expect(reason(12)).toMatch(/column date_ech: 2020-12-31 is before 2021-01-01/);
    expect(reason(13)).toMatch(/column type_zone: expected 'commune' or 'EPCI', got 'departement'/);
    expect(reason(14)).toMatch(/column code_qual: not an index code 0–7: '9'/);
    expect(reason(15)).toMatch(/column code_o3/);
    expect(reason(16)).toMatch(/commune 01001 already has a value on 2024-09-24 \(record 2\)/);
    expect(reason(17)).toMatch(/code 99999 is neither a commune/);
    expect(reason(18)).toMatch(/EPCI 999999999 is not in the referential/);
    expect(reason(19)).toMatch(/not an EPCI SIREN/);
  });

  test('GeoJSON: streamed feature by feature, quarantine carries the feature index', async () => {
    const r = await runSource('atmo', { ...quiet, file: GEOJSON });
    expect(r).toMatchObject({ status: 'succeeded', read: 6, loaded: 3, rejected: 3 });
    expect(await day('2024-09-26', '01001')).toMatchObject({ echelle: 'commune', code_qual: 2 });
    expect(await day('2024-09-26', '75107')).toMatchObject({ code_qual: 2, source: 'Airparif' });
    const { rows } = await pool().query(
      `select count(*)::int as n from atmo_indice where date_ech = '2024-09-26' and echelle = 'epci' and code_zone = '200069193'`,
    );
    expect(rows[0].n).toBe(35);
    const q = await quarantined(r.runId);
    expect(q).toEqual([
      { line: 2, reason: 'feature 2: no properties object' },
      { line: 3, reason: "feature 3: property code_qual: not an index code 0–7: '8'" },
      {
        line: 5,
        reason: expect.stringMatching(/^feature 5: column code_zone: commune 01001 already has a value on 2024-09-26 \(record 0\)/),
      },
    ]);
    // the CSV's days are untouched by a file covering another day
    expect(await day('2024-09-24', '01001')).toMatchObject({ code_qual: 1 });
  });

  test('a gzipped GeoJSON is read the same way', async () => {
    const dir = tmp();
    const gz = path.join(dir, 'ind_atmo_2021.geojson.gz');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(GEOJSON)));
    const r = await runSource('atmo', { ...quiet, file: gz, force: true });
    expect(r).toMatchObject({ status: 'succeeded', read: 6, loaded: 3, rejected: 3 });
  });

  test('a CSV header lacking columns fails naming them; the published days stay', async () => {
    const before = await count();
    const dir = tmp();
    const bad = path.join(dir, 'indices_atmo.csv');
    const lines = fs.readFileSync(CSV, 'utf8').split('\r\n');
    const header = lines[0].split(',');
    const drop = [header.indexOf('code_qual'), header.indexOf('code_so2')];
    fs.writeFileSync(
      bad,
      lines
        .map((l) =>
          l
            .split(',')
            .filter((_v, i) => !drop.includes(i))
            .join(','),
        )
        .join('\r\n'),
    );
    await expect(runSource('atmo', { ...quiet, file: bad })).rejects.toThrow(/missing columns code_qual, code_so2/);
    expect(await count()).toBe(before);
  });

  test('a GeoJSON whose features lack properties fails naming them; a truncated one fails too; the published days stay', async () => {
    const before = await count();
    const dir = tmp();
    const g = JSON.parse(fs.readFileSync(GEOJSON, 'utf8'));
    for (const f of g.features)
      if (f.properties) {
        delete f.properties.code_qual;
        delete f.properties.type_zone;
      }
    const bad = path.join(dir, 'sans_code.geojson');
    fs.writeFileSync(bad, JSON.stringify(g));
    await expect(runSource('atmo', { ...quiet, file: bad })).rejects.toThrow(/missing properties type_zone, code_qual/);
    const cut = path.join(dir, 'coupe.geojson');
    const text = fs.readFileSync(GEOJSON, 'utf8');
    fs.writeFileSync(cut, text.slice(0, Math.floor(text.length * 0.6)));
    await expect(runSource('atmo', { ...quiet, file: cut })).rejects.toThrow(/coupe\.geojson/);
    expect(await count()).toBe(before);
  });

  test('the pack query returns one French-named column per field', async () => {
    const t = pack.tables[0];
    const { rows } = await pool().query(t.query, [['01001']]);
    expect(rows.length).toBe(3);
    expect(Object.keys(rows[0]).length).toBe(t.fields.length + 1);
    const text = pack.readme({ millesime: '2024', publishedAt: '', details: { du: '2024-09-24', au: '2024-09-26' } });
    expect(text).toMatch(/Atmo France/);
    expect(atmoSource.licence.id).toBe('odbl');
    expect(text).toMatch(/du 2024-09-24 au 2024-09-26/);
  });
});
