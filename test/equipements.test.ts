import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { resetSettings } from '../config/settings';
import { BPE24_COLUMNS, ROWS, bpe24Line } from './fixtures/equipements/make-fixtures';

const FIXTURES = path.join(__dirname, 'fixtures', 'equipements');
let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

const q = async (sql: string, params: unknown[] = []) => (await pool().query(sql, params)).rows;
const counts = async (millesime: string, code: string) =>
  Object.fromEntries(
    (await q(`select typequ, nombre from equipement_compte where millesime = $1 and code_commune = $2`, [millesime, code])).map((r) => [
      r.typequ,
      r.nombre,
    ]),
  );

describe('équipements (BPE), synthetic fixtures', () => {
  let report: Awaited<ReturnType<typeof runSource>>;
  beforeAll(async () => {
    process.env.MIRROR_DIR = FIXTURES;
    resetSettings();
    report = await runSource('equipements', { trigger: 'test', log: () => undefined });
    process.env.MIRROR_DIR = '';
    resetSettings();
  });

  test('runs from MIRROR_DIR with the upstream file name; read = loaded + rejected', () => {
    expect(report.status).toBe('succeeded');
    expect(path.basename(report.files[0].path)).toBe('BPE24.zip');
    expect(report.millesime).toBe('2024');
    expect([report.read, report.loaded, report.rejected]).toEqual([16, 12, 4]);
  });

  test('bad rows are quarantined with line and reason', async () => {
    const rows = await q(`select line, reason from quarantine where run_id = $1 order by line`, [report.runId]);
    expect(rows.map((r) => [Number(r.line), r.reason])).toEqual([
      [14, 'column DEPCOM: code 99999 is neither a commune of COG 2024 nor in its history'],
      [15, "column TYPEQU: not an equipment type: 'XYZ'"],
      [16, "column LONGITUDE: not a coordinate: '4,9x'"],
      [17, `expected ${BPE24_COLUMNS.length} fields, got 20`],
    ]);
  });

  test('counts per commune × TYPEQU: merged communes summed, arrondissements kept and summed into Paris', async () => {
    expect(await counts('2024', '01001')).toEqual({ D265: 2, D307: 1, C108: 1 });
    expect(await counts('2024', '19248')).toEqual({ D265: 2, D307: 1 });
    expect(await counts('2024', '75056')).toEqual({ D265: 2, D201: 1 });
    expect(await counts('2024', '75102')).toEqual({ D265: 1, D201: 1 });
    const [c] = await q(
      `select type, codes_sources from equipement_compte where millesime = '2024' and code_commune = '19248' and typequ = 'D265'`,
    );
    expect(c).toEqual({ type: 'commune-actuelle', codes_sources: ['19223', '19230'] });
  });

  test('pack table: French columns, labels of the vintage (D201 has none in 2024)', async () => {
    const { pipeline } = await import('../pipelines/equipements');
    const t = pipeline.pack!.tables[0];
    const { rows, fields } = await pool().query(t.query, [['75056']]);
    // Columns by name: code_commune and one per field.
    expect(fields.map((f) => f.name).sort()).toEqual(['code_commune', ...t.fields.map((f) => f.name)].sort());
    expect(rows.map((r) => [r.type_equipement, r.libelle, r.nombre])).toEqual([
      ['D201', null, 1],
      ['D265', 'Médecin généraliste', 2],
    ]);
    expect(pipeline.pack!.readme({ millesime: '2024', publishedAt: '', details: {} })).toMatch(/Base permanente des équipements 2024/);
  });

  test('GeoJSON layer: points built by PostGIS, equipments without coordinates left out', async () => {
    const { pipeline } = await import('../pipelines/equipements');
    const layer = pipeline.pack!.layers![0];
    expect(layer.name).toBe('equipements');
    const { rows } = await pool().query(layer.query, [['01001', '75056']]);
    expect(rows.filter((r) => r.code_commune === '01001')).toHaveLength(3);
    expect(rows.filter((r) => r.code_commune === '75056')).toHaveLength(3);
    const g = JSON.parse(rows[0].geometry);
    expect(g).toEqual({ type: 'Point', coordinates: [4.919, 46.154] });
    expect(rows[0].properties).toMatchObject({
      type_equipement: 'D265',
      libelle: 'Médecin généraliste',
      iris: '010010000',
      millesime: '2024',
    });
    // The name with a ';' inside quotes did not shift the columns.
    expect(rows.find((r) => r.properties.type_equipement === 'D307')).toBeDefined();
  });

  test('older layout: LAMBERT_X/LAMBERT_Y projected per département (Lambert 93, UTM 40S), D201 labelled', async () => {
    const r = await runSource('equipements', {
      file: path.join(FIXTURES, 'bpe20_ensemble_xy.csv'),
      resource: 'bpe',
      trigger: 'test',
      log: () => undefined,
    });
    expect([r.millesime, r.read, r.loaded, r.rejected]).toEqual(['2020', 4, 4, 0]);
    const pts = await q(
      `select code_commune, typequ, st_x(geom) as lon, st_y(geom) as lat from equipement where millesime = '2020' order by ligne`,
    );
    expect(pts[0].lon).toBeCloseTo(4.92, 1);
    expect(pts[0].lat).toBeCloseTo(46.06, 1); // Lambert 93 (848000.1, 6553000.2)
    expect(pts[2].lon).toBeCloseTo(55.45, 1);
    expect(pts[2].lat).toBeCloseTo(-20.88, 1);
    expect(pts[3]).toMatchObject({ code_commune: '2A004', lon: null });
    const [l] =
      await q(`select t.libelle from equipement_compte c join equipement_type t on t.typequ = c.typequ and 2020 between t.annee_debut and coalesce(t.annee_fin, 9999)
                          where c.millesime = '2020' and c.code_commune = '01001'`);
    expect(l.libelle).toBe('Médecin omnipraticien');
    expect(await counts('2024', '01001')).toEqual({ D265: 2, D307: 1, C108: 1 }); // the 2024 millésime is untouched
  });

  test('a header missing columns fails the run, names them, and the previous data stays published', async () => {
    const before = await q(`select millesime, run_id, rows from published_datasets where source = 'equipements' order by 1`);
    const cols = BPE24_COLUMNS.filter((c) => c !== 'DEPCOM' && c !== 'LATITUDE');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'equipements-'));
    const file = path.join(tmp, 'BPE24.csv');
    fs.writeFileSync(file, [cols.join(';'), ...ROWS.slice(0, 3).map((r) => bpe24Line(r, cols))].join('\r\n'));
    await expect(runSource('equipements', { file, trigger: 'test', log: () => undefined })).rejects.toThrow(
      /missing columns DEPCOM, LATITUDE/,
    );
    expect(await q(`select millesime, run_id, rows from published_datasets where source = 'equipements' order by 1`)).toEqual(before);
    expect(await counts('2024', '01001')).toEqual({ D265: 2, D307: 1, C108: 1 });
  });
});
