import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { readCsv } from '../src/engine/csv';
import { pipeline } from '../pipelines/elus';
import { buildPacks } from '../src/packs/build';
import { readManifestAsync, versionPath } from '../src/packs/store';
import { readZipEntries } from '../src/packs/zip';
import { settings } from '../config/settings';
import { rneCommune, rneDate, sniffDelimiter } from '../pipelines/elus/read';

/**
 * Élus on the GENUINE maires lines of the Répertoire national des élus (test/fixtures/elus/real,
 * see PROVENANCE.md), checked against the raw lines read here on their own; the conseillers
 * municipaux from the labelled synthetic file (May 2026 layout); the May 2026 layout on genuine
 * lines of the same dataset.
 */
const DIR = path.join(__dirname, 'fixtures', 'elus');
const MAIRES = path.join(DIR, 'real', 'elus-maires-mai.csv');
const CONSEILLERS = path.join(DIR, 'elus-conseillers-municipaux-cm.csv');

/** The raw maires lines, split by hand (the April 2026 file has no quotes). */
const rawMaires = (() => {
  const [header, ...lines] = fs.readFileSync(MAIRES, 'utf8').split('\n').filter(Boolean);
  const names = header.split(';');
  return lines.map((l) => Object.fromEntries(l.split(';').map((v, i) => [names[i], v])) as Record<string, string>);
})();
const isoOf = (dmy: string) => dmy.split('/').reverse().join('-');

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

const maireQuery = pipeline.pack!.tables.find((t) => t.name === 'elus_maire')!.query;
const conseillersQuery = pipeline.pack!.tables.find((t) => t.name === 'elus_conseillers_municipaux')!.query;

describe('élus: maires from the genuine RNE file', () => {
  let report: Awaited<ReturnType<typeof runSource>>;
  beforeAll(async () => {
    report = await runSource('elus', { file: MAIRES, millesime: '2026-04-24', trigger: 'test', log: () => undefined });
  });

  test('every line accounted for, the extract date stated by --millesime is the edition', async () => {
    expect(report.status).toBe('succeeded');
    expect(report.read).toBe(rawMaires.length);
    expect(report.read).toBe(report.loaded + report.rejected);
    expect(report.millesime).toBe('2026-04-24');
    const { rows } = await pool().query(`select details from published_datasets where source = 'elus'`);
    expect(rows[0].details.extraits.maires).toEqual({
      edition: '2026-04-24',
      from: 'operator (--millesime)',
      fichier: 'elus-maires-mai.csv',
    });
  });

  test('three communes (Rennes, Ajaccio, Saint-Denis de La Réunion) equal their raw lines', async () => {
    for (const code of ['35238', '2A004', '97411']) {
      const raw = rawMaires.filter((r) => r['Code de la commune'] === code);
      expect(raw).toHaveLength(1);
      const { rows } = await pool().query(maireQuery, [[code]]);
      expect(rows).toEqual([
        {
          code_commune: code,
          nom: raw[0]["Nom de l'élu"],
          prenom: raw[0]["Prénom de l'élu"],
          sexe: raw[0]['Code sexe'],
          date_naissance: isoOf(raw[0]['Date de naissance']),
          code_csp: raw[0]['Code de la catégorie socio-professionnelle'],
          categorie_socio_professionnelle: raw[0]['Libellé de la catégorie socio-professionnelle'],
          date_debut_mandat: isoOf(raw[0]['Date de début du mandat']),
          date_debut_fonction: isoOf(raw[0]['Date de début de la fonction']),
        },
      ]);
    }
  });

  test('a commune nouvelle of 2024 (35062) and Paris keep their maire; no raw line is lost', async () => {
    const { rows } = await pool().query(`select code_commune, nom from elu_municipal where mandat = 'maire' order by code_commune`);
    const published = new Set(rows.map((r) => r.code_commune));
    const quarantined = (await pool().query(`select line from quarantine where run_id = $1`, [report.runId])).rows;
    expect(published.size + quarantined.length).toBe(rawMaires.length);
    for (const code of ['35062', '75056', '69123', '13055']) expect(published.has(code)).toBe(true);
  });

  test('an extract older than the one published is refused and changes nothing', async () => {
    const before = (await pool().query(`select count(*)::int as n from elu_municipal`)).rows[0].n;
    await expect(
      runSource('elus', { file: MAIRES, millesime: '2026-01-15', force: true, trigger: 'test', log: () => undefined }),
    ).rejects.toThrow(/older than the one published \(2026-04-24/);
    const { rows } = await pool().query(`select status from runs where source = 'elus' order by id desc limit 1`);
    expect(rows[0].status).toBe('failed');
    expect((await pool().query(`select count(*)::int as n from elu_municipal`)).rows[0].n).toBe(before);
  });
});

describe('élus: conseillers municipaux (synthetic file, May 2026 layout)', () => {
  let report: Awaited<ReturnType<typeof runSource>>;
  let slicesBefore: Map<string, string>;
  beforeAll(async () => {
    slicesBefore = new Map(
      (await pool().query(`select code, version from source_slices where source = 'elus'`)).rows.map((r) => [r.code, r.version]),
    );
    await buildPacks({ communes: ['94034', '35238'], log: () => undefined });
    // A newer extract of the conseillers file alone (its date stated as an operator would).
    report = await runSource('elus', { file: CONSEILLERS, millesime: '2026-05-06', trigger: 'test', log: () => undefined });
  });

  test('quoted cells, CRLF, ISO dates and codes without their leading zero are read; the bad lines are quarantined with their reason', async () => {
    expect(report.status).toBe('succeeded');
    expect([report.read, report.loaded, report.rejected]).toEqual([12, 10, 2]);
    const { rows } = await pool().query(`select line, reason from quarantine where run_id = $1 order by line`, [report.runId]);
    expect(rows).toEqual([
      { line: 7, reason: 'same élu (name, first name, date of birth) and function as line 6' },
      { line: 13, reason: "column Date de naissance: not a date: '1970-13-01'" },
    ]);
  });

  test('1053 is Bourg-en-Bresse (01053); a former commune (35112) is re-coded to its commune nouvelle; the maires are kept', async () => {
    const { rows } = await pool().query(conseillersQuery, [['01053', '35062']]);
    expect(rows.map((r) => [r.code_commune, r.nom, r.fonction])).toEqual([
      ['01053', 'EXEMPLE-DEUX', '1er adjoint au maire'],
      ['01053', 'EXEMPLE-TROIS', null],
      ['01053', 'EXEMPLE-UN', 'Maire'],
      ['35062', 'INVENTE', 'Maire délégué'],
    ]);
    const maires = await pool().query(`select count(*)::int as n from elu_municipal where mandat = 'maire'`);
    expect(maires.rows[0].n).toBeGreaterThan(0);
  });

  test('each file keeps its own extract date; the slices of communes without conseillers did not move', async () => {
    const { rows } = await pool().query(`select millesime, details from published_datasets where source = 'elus'`);
    expect(rows).toHaveLength(1);
    expect(rows[0].details.extraits.maires.edition).toBe('2026-04-24');
    expect(rows[0].details.extraits.conseillers).toMatchObject({ edition: '2026-05-06', from: 'operator (--millesime)' });
    expect(rows[0].millesime).toBe('2026-05-06');
    const after = new Map(
      (await pool().query(`select code, version from source_slices where source = 'elus'`)).rows.map((r) => [r.code, r.version]),
    );
    expect(after.get('94034')).toBe(slicesBefore.get('94034')); // Fresnes: a maire, no conseiller in the file
    expect(after.get('35238')).not.toBe(slicesBefore.get('35238')); // Rennes: conseillers added
    const [version] = (await pool().query(pipeline.pack!.sliceVersion!, [['94034', '01001']])).rows.map((r) => r.version);
    expect(version).toBe(after.get('94034'));
  });

  test('the new edition rebuilds only the pack whose rows changed (Rennes), not Fresnes', async () => {
    const report = await buildPacks({ communes: ['94034', '35238'], log: () => undefined });
    expect([report.built, report.unchanged, report.failed]).toEqual([1, 1, 0]);
    const rennes = await readManifestAsync(settings().PACKS_DIR, '35238');
    const entries = await readZipEntries(versionPath(settings().PACKS_DIR, '35238', rennes!.versions[0].version));
    expect(entries.get('elus_conseillers_municipaux.csv')!.toString('utf8')).toMatch(/^\uFEFFnom;prenom;.*\nFICTIF;Morgane;F;1984-04-04;/s);
  });

  test('a file without a date in its URL or from the operator is dated by its latest mandate or function start (here older than the published extract: refused)', async () => {
    await runSource('elus', { file: CONSEILLERS, force: true, millesime: undefined, trigger: 'test', log: () => undefined }).catch((e) =>
      expect(String(e)).toMatch(/older than the one published \(2026-05-06/),
    );
    const { rows } = await pool().query(`select status, error from runs where source = 'elus' order by id desc limit 1`);
    expect(rows[0]).toEqual({
      status: 'failed',
      error: expect.stringMatching(/edition 2026-03-29 is older than the one published \(2026-05-06/),
    });
  });
});

describe('élus: the May 2026 layout on genuine lines (conseillers d’arrondissement file of 2026-05-06)', () => {
  test('quoted header, CRLF, ISO dates: read by name with the same readers', async () => {
    const file = path.join(DIR, 'real', 'elus-conseillers-arrondissements-ca-2026-05-06.csv');
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toMatch(/\r\n/);
    const delimiter = sniffDelimiter(text.split('\r\n')[0]);
    expect(delimiter).toBe(';');
    const { header, rows } = await readCsv(Readable.from([text]), 'ca', { delimiter });
    const at = (n: string) => header.indexOf(n);
    const got: string[][] = [];
    for await (const r of rows)
      got.push([
        rneCommune(r.values[at('Code de la commune')]),
        r.values[at("Nom de l'élu")],
        rneDate(r.values[at('Date de naissance')], 2008)!,
        rneDate(r.values[at('Date de début du mandat')], 2026)!,
      ]);
    expect(got).toEqual([
      ['13055', 'AMICO', '1955-08-25', '2026-03-22'],
      ['69123', 'BERRACHED', '1974-05-25', '2026-03-22'],
      ['75056', 'ALGRAIN', '1961-03-15', '2026-03-22'],
    ]);
  });

  test('the dates and codes of both layouts', () => {
    expect(rneDate('15/03/1969', 2008)).toBe('1969-03-15');
    expect(rneDate('25/08/55', 2008)).toBe('1955-08-25');
    expect(rneDate('18/04/00', 2008)).toBe('2000-04-18');
    expect(rneDate('22/03/26', 2026)).toBe('2026-03-22');
    expect(rneDate('', 2026)).toBeNull();
    expect(() => rneDate('31/02/2020', 2026)).toThrow(/not a date/);
    expect(rneCommune('1001')).toBe('01001');
    expect(rneCommune('2a004')).toBe('2A004');
    expect(() => rneCommune('988')).toThrow(/not a commune code/);
  });
});
