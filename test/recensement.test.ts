import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import yazl from 'yazl';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { resetSettings } from '../config/settings';
import { POP_HEADER, POP_ROWS } from './fixtures/recensement/make-fixtures';

const FIXTURES = path.join(__dirname, 'fixtures', 'recensement');
let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

const q = async (sql: string, params: unknown[] = []) => (await pool().query(sql, params)).rows;
const val = async (code: string, variable: string, annee?: number) => {
  const rows = await q(
    `select valeur from recensement_valeur where millesime = '2022' and code_commune = $1 and variable = $2 ${annee ? 'and annee = $3' : ''}`,
    annee ? [code, variable, annee] : [code, variable],
  );
  return rows.length ? (rows[0].valeur === null ? null : Number(rows[0].valeur)) : undefined;
};

function writeZip(file: string, entries: Record<string, Buffer>): Promise<void> {
  return new Promise((resolve) => {
    const z = new yazl.ZipFile();
    for (const [n, b] of Object.entries(entries)) z.addBuffer(b, n);
    z.end();
    z.outputStream.pipe(fs.createWriteStream(file)).on('close', () => resolve());
  });
}

describe('recensement (bases communales + Melodi), synthetic fixtures', () => {
  let report: Awaited<ReturnType<typeof runSource>>;
  beforeAll(async () => {
    process.env.MIRROR_DIR = FIXTURES;
    resetSettings();
    report = await runSource('recensement', { trigger: 'test', log: () => undefined });
    process.env.MIRROR_DIR = '';
    resetSettings();
  });

  test('runs from MIRROR_DIR with the upstream file names, and rows add up', async () => {
    expect(report.status).toBe('succeeded');
    expect(report.files.map((f) => path.basename(f.path)).sort()).toEqual([
      'DS_RP_POPULATION_PRINC_2022_CSV_FR.zip',
      'base-cc-evol-struct-pop-2022_csv.zip',
      'base-cc-logement-2022_csv.zip',
    ]);
    expect(report.millesime).toBe('2022');
    expect(report.read).toBe(14 + 6 + 10);
    expect(report.rejected).toBe(6);
    expect(report.read).toBe(report.loaded + report.rejected);
  });

  test('bad rows are quarantined with their line and reason', async () => {
    const rows = await q(`select file, line, reason from quarantine where run_id = $1 order by file, line`, [report.runId]);
    expect(rows.map((r) => [r.file.split('!').pop(), Number(r.line)])).toEqual(
      [
        ['DS_RP_POPULATION_PRINC_2022_data.csv', 11],
        ['base-cc-evol-struct-pop-2022.CSV', 11],
        ['base-cc-evol-struct-pop-2022.CSV', 12],
        ['base-cc-evol-struct-pop-2022.CSV', 13],
        ['base-cc-evol-struct-pop-2022.CSV', 14],
        ['base-cc-evol-struct-pop-2022.CSV', 15],
      ].sort(),
    );
    const reasons = rows.map((r) => r.reason).join('\n');
    expect(reasons).toMatch(/TIME_PERIOD: not a year: '20XX'/);
    expect(reasons).toMatch(/code 99999 is neither a commune/);
    expect(reasons).toMatch(/CODGEO: invalid commune code 'ABCDE'/);
    expect(reasons).toMatch(/P22_POP0014: not a number: 'x'/);
    expect(reasons).toMatch(/expected 7 fields, got 3/);
    expect(reasons).toMatch(/duplicate row for 2A004 \(first at line 3\)/);
    expect(await val('2A004', 'P22_POP')).toBe(3712);
  });

  test('wide → long keeps decimals, and an empty cell is NULL, never 0', async () => {
    expect(await val('01001', 'P22_POP0014')).toBeCloseTo(160.12345678901, 10);
    expect(await val('01001', 'P22_LOGVAC')).toBe(40);
    const [p16] = await q(`select annee from recensement_valeur where code_commune = '01001' and variable = 'P16_POP'`);
    expect(p16.annee).toBe(2016);
  });

  test('merged communes are summed under the current commune; a NULL part keeps the sum NULL', async () => {
    expect(await val('19248', 'P22_POP')).toBe(420 + 180 + 95);
    expect(await val('19248', 'P16_POP')).toBe(410 + 185 + 97);
    expect(await val('19248', 'C22_MENPSEUL')).toBeNull();
    expect(await val('19248', 'P22_LOGVAC')).toBeNull();
    expect(await val('19223', 'P22_POP')).toBeUndefined();
    const [c] = await q(`select codes_sources from recensement_commune where millesime = '2022' and code_commune = '19248'`);
    expect(c.codes_sources).toEqual(['19223', '19230', '19248']);
  });

  test('arrondissements are kept as their own rows and summed into Paris (the COM row is not counted twice)', async () => {
    expect(await val('75101', 'P22_POP')).toBe(16000);
    expect(await val('75056', 'P22_POP')).toBe(16000 + 21000);
    const rows = await q(
      `select code_commune, type from recensement_commune where millesime = '2022' and code_commune like '75%' order by 1`,
    );
    expect(rows).toEqual([
      { code_commune: '75056', type: 'commune-actuelle' },
      { code_commune: '75101', type: 'arrondissement-municipal' },
      { code_commune: '75102', type: 'arrondissement-municipal' },
    ]);
  });

  test('labels come from the Latin-1 meta file and the Melodi metadata', async () => {
    const rows = await q(
      `select variable, libelle from recensement_variable where millesime = '2022' and variable in ('C22_MENPSEUL', 'P22_LOG') order by 1`,
    );
    expect(rows).toEqual([
      { variable: 'C22_MENPSEUL', libelle: "Nombre de ménages d'une personne en 2022 (exploitation complémentaire)" },
      { variable: 'P22_LOG', libelle: 'Nombre de logements en 2022' },
    ]);
    const [ds] = await q(
      `select libelle from recensement_variable where variable = 'DS_RP_POPULATION_PRINC:AGE=Y_LT15;RP_MEASURE=POP;SEX=_T'`,
    );
    expect(ds.libelle).toBe('Moins de 15 ans ; Population ; Total');
  });

  test('Melodi long rows: GEO as text, COM and ARM kept, other levels skipped, years kept apart', async () => {
    const v = 'DS_RP_POPULATION_PRINC:AGE=_T;RP_MEASURE=POP;SEX=_T';
    expect(await val('01001', v, 2022)).toBe(832);
    expect(await val('01001', v, 2016)).toBe(790);
    expect(await val('19248', v, 2022)).toBe(600);
    expect(await val('75056', v, 2022)).toBe(16000);
    const [n] = await q(`select count(*)::int as n from recensement_valeur where code_commune in ('01', 'FRANCE')`);
    expect(n.n).toBe(0);
  });

  test('the pack query returns French columns for a batch of communes', async () => {
    const { pipeline } = await import('../pipelines/recensement');
    const t = pipeline.pack!.tables[0];
    const { rows, fields } = await pool().query(t.query, [['19248']]);
    // Columns by name: code_commune and one per field.
    expect(fields.map((f) => f.name).sort()).toEqual(['code_commune', ...t.fields.map((f) => f.name)].sort());
    expect(rows.find((r) => r.indicateur === 'P22_POP')).toMatchObject({
      code_commune: '19248',
      millesime: '2022',
      valeur: '695',
      codes_sources: '19223 19230 19248',
    });
    expect(pipeline.pack!.readme({ millesime: '2022', publishedAt: '', details: {} })).toMatch(/Citer/);
    expect(pipeline.source.licence.id).toBe('lov2');
  });

  test('a header missing columns fails the run, names them, and the previous data stays published', async () => {
    const before = await q(`select run_id, rows from published_datasets where source = 'recensement'`);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'recensement-'));
    const file = path.join(tmp, 'base-cc-evol-struct-pop-2022_csv.zip');
    const cut = (line: string) =>
      line
        .split(';')
        .filter((_, i) => i !== 0 && i !== 1)
        .join(';');
    await writeZip(file, {
      'base-cc-evol-struct-pop-2022.CSV': iconv.encode([POP_HEADER, ...POP_ROWS.slice(0, 3)].map(cut).join('\r\n'), 'latin1'),
    });
    await expect(runSource('recensement', { file, resource: 'evol-struct-pop', trigger: 'test', log: () => undefined })).rejects.toThrow(
      /missing columns CODGEO, P22_POP/,
    );
    expect(await q(`select run_id, rows from published_datasets where source = 'recensement'`)).toEqual(before);
    expect(await val('19248', 'P22_POP')).toBe(695);
    const [run] = await q(`select status, error from runs where source = 'recensement' order by id desc limit 1`);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/CODGEO, P22_POP/);
  });
});
