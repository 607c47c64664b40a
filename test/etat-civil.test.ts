import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { resetSettings } from '../config/settings';
import { DECES } from './fixtures/etat-civil/make-fixtures';

const FIXTURES = path.join(__dirname, 'fixtures', 'etat-civil');
let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

const q = async (sql: string, params: unknown[] = []) => (await pool().query(sql, params)).rows;
const row = async (code: string, annee: number) =>
  (
    await q(`select type, naissances, deces, codes_sources from etat_civil where millesime = '2024' and code_commune = $1 and annee = $2`, [
      code,
      annee,
    ])
  )[0];

describe('état civil (naissances, décès), synthetic fixtures', () => {
  let report: Awaited<ReturnType<typeof runSource>>;
  beforeAll(async () => {
    process.env.MIRROR_DIR = FIXTURES;
    resetSettings();
    report = await runSource('etat-civil', { trigger: 'test', log: () => undefined });
    process.env.MIRROR_DIR = '';
    resetSettings();
  });

  test('runs from MIRROR_DIR (a zip and an extracted entry under their upstream names); read = loaded + rejected', () => {
    expect(report.status).toBe('succeeded');
    expect(report.files.map((f) => path.basename(f.path)).sort()).toEqual([
      'DS_ETAT_CIVIL_DECES_COMMUNES_data.csv',
      'DS_ETAT_CIVIL_NAIS_COMMUNES_CSV_FR.zip',
    ]);
    expect(report.millesime).toBe('2024');
    expect(report.read).toBe(19 + 7);
    expect(report.rejected).toBe(6);
    expect(report.loaded + report.rejected).toBe(report.read);
  });

  test('bad rows are quarantined with file, line and reason', async () => {
    const rows = await q(`select file, line, reason from quarantine where run_id = $1 order by reason`, [report.runId]);
    const got = rows.map((r) => `${r.file.split('!').pop()}:${r.line}: ${r.reason}`).sort();
    expect(got).toEqual(
      [
        'DS_ETAT_CIVIL_DECES_COMMUNES_data.csv:8: expected 7 fields, got 6',
        "DS_ETAT_CIVIL_NAIS_COMMUNES_data.csv:16: column EC_MEASURE: expected LVB in this file, got 'DTH'",
        "DS_ETAT_CIVIL_NAIS_COMMUNES_data.csv:18: column TIME_PERIOD: not a year since 2008: '2007'",
        "DS_ETAT_CIVIL_NAIS_COMMUNES_data.csv:19: column OBS_VALUE: not a count: 'n.d.'",
        'DS_ETAT_CIVIL_NAIS_COMMUNES_data.csv:17: duplicate row for 01001 LVB 2024 (first at line 4)',
        'DS_ETAT_CIVIL_NAIS_COMMUNES_data.csv:20: column GEO: code 99999 is neither a commune of COG 2025 nor in its history',
      ].sort(),
    );
  });

  test('births and deaths per commune and year; GEO read as text (2A004), a lost leading zero repaired', async () => {
    expect(await row('01001', 2024)).toMatchObject({ naissances: 7, deces: 6 });
    expect(await row('01001', 2008)).toMatchObject({ naissances: 10, deces: null });
    expect(await row('2A004', 2024)).toMatchObject({ naissances: 40, deces: 35 });
    expect(await row('01004', 2024)).toMatchObject({ naissances: 5, codes_sources: ['01004'] });
    expect(await row('97411', 2024)).toMatchObject({ naissances: null });
  });

  test("merged communes summed, arrondissements kept, Paris = INSEE's COM row (its gap with the arrondissements reported), no DEP/FRANCE rows", async () => {
    expect(await row('19248', 2024)).toEqual({
      type: 'commune-actuelle',
      naissances: 6,
      deces: 6,
      codes_sources: ['19223', '19230', '19248'],
    });
    // The fixture's COM row (1000 births) disagrees on purpose with its two arrondissements (100 + 150).
    expect(await row('75056', 2024)).toEqual({ type: 'commune-actuelle', naissances: 1000, deces: 80, codes_sources: ['75056'] });
    const {
      rows: [pub],
    } = await pool().query(`select details from published_datasets where source = 'etat-civil'`);
    expect(pub.details.ecarts_plm).toEqual([{ commune: '75056', mesure: 'LVB', annee: 2024, somme: 250, commune_valeur: 1000 }]);
    expect(await row('75101', 2024)).toMatchObject({ type: 'arrondissement-municipal', naissances: 100, deces: 80 });
    expect((await q(`select count(*)::int as n from etat_civil where code_commune in ('01', 'FRANCE', '99999')`))[0].n).toBe(0);
  });

  test('the pack table has French columns and a LISEZMOI paragraph', async () => {
    const { pipeline } = await import('../pipelines/etat-civil');
    const t = pipeline.pack!.tables[0];
    const { rows, fields } = await pool().query(t.query, [['19248', '75056']]);
    expect(fields.length).toBe(t.fields.length + 1);
    expect(rows.map((r) => [r.code_commune, r.annee, r.naissances])).toEqual([
      ['19248', 2024, 6],
      ['75056', 2024, 1000],
    ]);
    expect(pipeline.pack!.readme({ millesime: '2024', publishedAt: '', details: {} })).toMatch(/Citer : « Source : INSEE/);
  });

  test('--file loads births alone (deaths neither given nor in the mirror): births replaced, deaths kept, the resource named', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'etat-civil-'));
    // A neutral name: the resource is recognised from the zip's entry names.
    const file = path.join(tmp, 'telechargement-insee.zip');
    fs.copyFileSync(path.join(FIXTURES, 'DS_ETAT_CIVIL_NAIS_COMMUNES_CSV_FR.zip'), file);
    const logs: string[] = [];
    const r = await runSource('etat-civil', { file, trigger: 'test', force: true, log: (m) => logs.push(m) });
    expect(r.status).toBe('succeeded');
    expect(r.files.map((f) => f.resource)).toEqual(['naissances']);
    expect(logs[0]).toBe(
      "--file telechargement-insee.zip: resource 'naissances' (recognised by the names of its zip entries); 1 other resource(s) left as they are",
    );
    expect(await row('19248', 2024)).toMatchObject({ naissances: 6, deces: 6 });
    expect(await row('75056', 2024)).toMatchObject({ naissances: 1000, deces: 80 }); // INSEE's COM row
    const { rows } = await pool().query(`select details from published_datasets where source = 'etat-civil' and run_id = $1`, [r.runId]);
    expect(rows[0].details).toMatchObject({ seul: 'naissances' });
    expect(rows[0].details.absents).toBeUndefined(); // the deaths published before are still there
  });

  test('neither births nor deaths anywhere: the run fails saying so, and the published data stays', async () => {
    const before = await q(`select run_id, rows from published_datasets where source = 'etat-civil'`);
    await expect(runSource('etat-civil', { trigger: 'test', force: true, log: () => undefined })).rejects.toThrow(
      /neither a births file .* nor a deaths file/,
    );
    expect(await q(`select run_id, rows from published_datasets where source = 'etat-civil'`)).toEqual(before);
  });

  test('a header missing columns fails the run, names them, and the previous data stays published', async () => {
    const before = await q(`select run_id, rows from published_datasets where source = 'etat-civil'`);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'etat-civil-'));
    const file = path.join(tmp, 'DS_ETAT_CIVIL_DECES_COMMUNES_data.csv');
    fs.writeFileSync(
      file,
      [
        'EC_MEASURE;FREQ;GEO_OBJECT;OBS_STATUS;TIME_PERIOD',
        ...DECES.map((l) =>
          l
            .split(';')
            .filter((_, i) => i !== 2 && i !== 6)
            .join(';'),
        ),
      ].join('\n'),
    );
    process.env.MIRROR_DIR = FIXTURES; // the births come from the mirror, the broken deaths file is given by hand
    resetSettings();
    await expect(runSource('etat-civil', { file, resource: 'deces', trigger: 'test', log: () => undefined })).rejects.toThrow(
      /missing columns GEO, OBS_VALUE/,
    );
    process.env.MIRROR_DIR = '';
    resetSettings();
    expect(await q(`select run_id, rows from published_datasets where source = 'etat-civil'`)).toEqual(before);
    expect(await row('19248', 2024)).toMatchObject({ naissances: 6 });
  });
});
