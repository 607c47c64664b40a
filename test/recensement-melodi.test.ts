import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yazl from 'yazl';
import { freshDatabase } from './helpers/db';
import { readMelodi } from './helpers/melodi';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { resetSettings } from '../config/settings';

/**
 * The census Melodi file of the current edition (DS_RP_POPULATION_PRINC_2023, declared in
 * pipelines/recensement/source.ts) in the layout INSEE's Melodi files have: every column name quoted, GEO first,
 * the dimensions in the producer's order (not alphabetical), FREQ and OBS_STATUS after them, TIME_PERIOD and
 * OBS_VALUE unquoted in the rows, no BOM, LF, no newline after the last line. Sources of that layout
 * (fixtures/recensement/README.md): the genuine état civil file (../fixtures/etat-civil/real/), the genuine
 * DS_BPE header (../fixtures/equipements/real/), a reuser's reading of DS_RP_EMPLOI_LR_PRINC_2023 checked on the
 * real file (`GEO;GEO_OBJECT;SEX;EMPSTA_ENQ;AGE;EDUC;RP_MEASURE;FREQ;OBS_STATUS;TIME_PERIOD;OBS_VALUE`, code-id
 * 57997839868) and the order `GEO;GEO_OBJECT;SEX;AGE;RP_MEASURE` of Melodi's own CSV answers (code-id 58167743035).
 * No genuine census file was found: the figures are INVENTED, written here; loaded beside the 2022 bases communales.
 */
const DATA = [
  '"GEO";"GEO_OBJECT";"SEX";"AGE";"RP_MEASURE";"FREQ";"OBS_STATUS";"TIME_PERIOD";"OBS_VALUE"',
  '"01";"DEP";"_T";"_T";"POP";"A";"A";2023;665000',
  '"01001";"COM";"_T";"_T";"POP";"A";"A";2023;845',
  '"01001";"COM";"_T";"Y_LT15";"POP";"A";"A";2023;161',
  '"01001";"COM";"_T";"_T";"POP";"A";"A";2017;801',
  '"2A004";"COM";"_T";"_T";"POP";"A";"A";2023;3750',
  '"19223";"COM";"_T";"_T";"POP";"A";"A";2023;178',
  '"19230";"COM";"_T";"_T";"POP";"A";"A";2023;96',
  '"19248";"COM";"_T";"_T";"POP";"A";"A";2023;424',
  '"97411";"COM";"_T";"_T";"POP";"A";"A";2023;153500',
  '"75056";"COM";"_T";"_T";"POP";"A";"A";2023;2090000',
  '"75101";"ARM";"_T";"_T";"POP";"A";"A";2023;15800',
  '"75102";"ARM";"_T";"_T";"POP";"A";"A";2023;21000',
].join('\n');
const META = [
  '"COD_VAR";"LIB_VAR";"COD_MOD";"LIB_MOD"',
  '"AGE";"Âge";"Y_LT15";"Moins de 15 ans"',
  '"AGE";"Âge";"_T";"Total"',
  '"RP_MEASURE";"Mesure";"POP";"Population"',
  '"SEX";"Sexe";"_T";"Total"',
].join('\n');
const raw = readMelodi(DATA);
const rawValue = (geo: string, age: string, year = '2023') =>
  Number(raw.find((r) => r.GEO === geo && r.AGE === age && r.TIME_PERIOD === year)!.OBS_VALUE);

let db: Awaited<ReturnType<typeof freshDatabase>>;
let mirror: string;
let report: Awaited<ReturnType<typeof runSource>>;
beforeAll(async () => {
  db = await freshDatabase();
  mirror = fs.mkdtempSync(path.join(os.tmpdir(), 'recensement-melodi-'));
  for (const f of ['base-cc-evol-struct-pop-2022_csv.zip', 'base-cc-logement-2022_csv.zip'])
    fs.copyFileSync(path.join(__dirname, 'fixtures', 'recensement', f), path.join(mirror, f));
  await new Promise<void>((resolve) => {
    const z = new yazl.ZipFile();
    z.addBuffer(Buffer.from(DATA), 'DS_RP_POPULATION_PRINC_2023_data.csv');
    z.addBuffer(Buffer.from(META), 'DS_RP_POPULATION_PRINC_2023_metadata.csv');
    z.end();
    z.outputStream.pipe(fs.createWriteStream(path.join(mirror, 'DS_RP_POPULATION_PRINC_2023_CSV_FR.zip'))).on('close', () => resolve());
  });
  process.env.MIRROR_DIR = mirror;
  resetSettings();
  try {
    report = await runSource('recensement', { trigger: 'test', log: () => undefined });
  } finally {
    process.env.MIRROR_DIR = '';
    resetSettings();
  }
});
afterAll(async () => {
  await db.cleanup();
  fs.rmSync(mirror, { recursive: true, force: true });
});

const value = async (code: string, variable: string, annee = 2023) => {
  const { rows } = await pool().query(
    `select valeur from recensement_valeur where millesime = '2023' and code_commune = $1 and variable = $2 and annee = $3`,
    [code, variable, annee],
  );
  return rows.map((r) => Number(r.valeur));
};
const TOTAL = 'DS_RP_POPULATION_PRINC:AGE=_T;RP_MEASURE=POP;SEX=_T';

describe('recensement: the 2023 Melodi file in the current layout, beside the 2022 bases communales', () => {
  test('the 2023 file is taken and published as its own edition, read = loaded + rejected, nothing quarantined from it', async () => {
    expect(report.status).toBe('succeeded');
    expect(report.files.map((f) => path.basename(f.path))).toContain('DS_RP_POPULATION_PRINC_2023_CSV_FR.zip');
    expect(report.read).toBe(report.loaded + report.rejected);
    const { rows } = await pool().query(`select millesime from published_datasets where source = 'recensement' order by 1`);
    expect(rows.map((r) => r.millesime)).toEqual(['2022', '2023']);
    const q = await pool().query(`select count(*)::int as n from quarantine where run_id = $1 and file like '%DS_RP_%'`, [report.runId]);
    expect(q.rows[0].n).toBe(0);
  });

  test('communes equal their raw lines (merged communes summed); Paris is the sum of its arrondissements, its COM row not counted twice', async () => {
    expect(await value('01001', TOTAL)).toEqual([rawValue('01001', '_T')]);
    expect(await value('01001', TOTAL, 2017)).toEqual([rawValue('01001', '_T', '2017')]);
    expect(await value('01001', 'DS_RP_POPULATION_PRINC:AGE=Y_LT15;RP_MEASURE=POP;SEX=_T')).toEqual([rawValue('01001', 'Y_LT15')]);
    expect(await value('2A004', TOTAL)).toEqual([rawValue('2A004', '_T')]);
    expect(await value('97411', TOTAL)).toEqual([rawValue('97411', '_T')]);
    // Les Trois-Saints (19248): its own line and those of the communes merged into it since (19223, 19230), summed.
    expect(await value('19248', TOTAL)).toEqual([['19223', '19230', '19248'].reduce((t, c) => t + rawValue(c, '_T'), 0)]);
    expect(await value('75101', TOTAL)).toEqual([rawValue('75101', '_T')]);
    expect(await value('75056', TOTAL)).toEqual([rawValue('75101', '_T') + rawValue('75102', '_T')]);
    const dep = await pool().query(`select count(*)::int as n from recensement_valeur where code_commune = '01'`);
    expect(dep.rows[0].n).toBe(0);
  });

  test('variables are named by their dimensions in name order, whatever the column order; labels from the quoted metadata', async () => {
    const { rows } = await pool().query(
      `select variable, libelle from recensement_variable where millesime = '2023' and variable like 'DS_RP_%' order by 1`,
    );
    expect(rows).toEqual([
      { variable: 'DS_RP_POPULATION_PRINC:AGE=Y_LT15;RP_MEASURE=POP;SEX=_T', libelle: 'Moins de 15 ans ; Population ; Total' },
      { variable: TOTAL, libelle: 'Total ; Population ; Total' },
    ]);
  });
});
