import fs from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { electionCommuneCode } from '../pipelines/elections/index';
import { detectLayout, readHeader } from '../pipelines/elections/layout';
import { pack } from '../pipelines/elections/pack';

const FIX = path.join(__dirname, 'fixtures', 'elections');
const PRES = path.join(FIX, 'resultats-par-niveau-subcom-t1-france-entiere.txt');
const EURO = path.join(FIX, 'resultats-definitifs-par-commune.csv');
const EURO_BAD = path.join(FIX, 'europeennes-2024-colonnes-manquantes.csv');
const run = (file: string, resource: string) => runSource('elections', { file, resource, trigger: 'test', log: () => {} });

/** Rows of the présidentielle fixture read independently of the pipeline: cp1252 → fields. */
function presRows(): string[][] {
  return iconv
    .decode(fs.readFileSync(PRES), 'win1252')
    .split(/\r\n/)
    .filter(Boolean)
    .slice(1)
    .map((l) => l.split(';'));
}

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

describe('Ministry commune codes', () => {
  test('split codes, overseas ZA/ZX, and ZZ which is not a commune', () => {
    expect(electionCommuneCode('69', '123')).toBe('69123');
    expect(electionCommuneCode('1', '1')).toBe('01001');
    expect(electionCommuneCode('ZA', '101')).toBe('97101');
    expect(electionCommuneCode('ZX', 'ZX701')).toBe('97701');
    expect(electionCommuneCode('ZX', '801')).toBe('97801');
    expect(electionCommuneCode('ZS', '501')).toBe('97501');
    expect(electionCommuneCode('2A', '2A004')).toBe('2A004');
    expect(() => electionCommuneCode('ZZ', '001')).toThrow(/hors de France/);
    expect(() => electionCommuneCode('69', '01001')).toThrow(/disagrees/);
  });
});

describe('présidentielle 2022 .txt (Windows-1252, header naming only the first block)', () => {
  let report: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    report = await run(PRES, 'presidentielle-2022-t1');
  });

  test('the header has one 7-field block and the layout is "repeated"', async () => {
    const header = await readHeader(PRES);
    expect(header).toHaveLength(26);
    expect(header[19]).toBe('N°Panneau');
    const layout = detectLayout('t1', header);
    expect(layout).toMatchObject({ kind: 'repeated', start: 19, width: 7 });
  });

  test('read = loaded + rejected, bad rows quarantined with their line and reason', async () => {
    expect(report.status).toBe('succeeded');
    expect(report.read).toBe(presRows().length);
    expect(report.read).toBe(report.loaded + report.rejected);
    const { rows } = await pool().query(`select line::int, reason from quarantine where run_id = $1 order by line`, [report.runId]);
    expect(rows).toEqual([
      { line: 7, reason: expect.stringMatching(/hors de France/) },
      { line: 8, reason: expect.stringMatching(/69999 .*neither a commune of COG 2022/) },
      { line: 9, reason: expect.stringMatching(/^column Voix \(bloc 2\): not a whole number: '12a'/) },
      { line: 10, reason: expect.stringMatching(/expected 19 general fields then blocks of 7, got 37 fields/) },
    ]);
  });

  test('every block of a row becomes a candidate row, names decoded from Windows-1252', async () => {
    const { rows } = await pool().query(
      `select panneau, sexe, nom, prenom, voix from election_voix where election = 'presidentielle-2022' and tour = 1 and code_commune = '69123' order by panneau`,
    );
    const lyon = presRows().find((r) => r[2] === '123')!;
    expect(rows).toEqual(
      [0, 1, 2].map((b) => ({
        panneau: Number(lyon[19 + 7 * b]),
        sexe: lyon[20 + 7 * b],
        nom: lyon[21 + 7 * b],
        prenom: lyon[22 + 7 * b],
        voix: Number(lyon[23 + 7 * b]),
      })),
    );
    expect(rows.map((r) => r.prenom)).toContain('Éric');
  });

  test('Oullins + Pierre-Bénite are summed under 69149, percentages recomputed from the sums', async () => {
    const parts = presRows().filter((r) => r[0] === '69' && ['149', '152'].includes(r[2]));
    expect(parts).toHaveLength(2);
    const sum = (i: number) => parts.reduce((s, r) => s + Number(r[i]), 0);
    const {
      rows: [r],
    } = await pool().query(
      `select * from election_resultat where election = 'presidentielle-2022' and tour = 1 and code_commune = '69149'`,
    );
    expect(r).toMatchObject({
      inscrits: sum(5),
      abstentions: sum(6),
      votants: sum(8),
      blancs: sum(10),
      nuls: sum(13),
      exprimes: sum(16),
      codes_sources: ['69149', '69152'],
    });
    expect(Number(r.pct_votants_inscrits)).toBeCloseTo(Math.round((10000 * sum(8)) / sum(5)) / 100, 2);
    const { rows: voix } = await pool().query(
      `select panneau, voix, pct_voix_exprimes::float as pe, pct_voix_inscrits::float as pi from election_voix where election = 'presidentielle-2022' and tour = 1 and code_commune = '69149' order by panneau`,
    );
    expect(voix).toHaveLength(3);
    for (const [b, v] of voix.entries()) {
      const vx = sum(23 + 7 * b);
      expect(v.voix).toBe(vx);
      expect(v.pe).toBeCloseTo(Math.round((10000 * vx) / sum(16)) / 100, 2);
      expect(v.pi).toBeCloseTo(Math.round((10000 * vx) / sum(5)) / 100, 2);
      // never the average of the two files' percentages
      const avg = (parseFloat(parts[0][25 + 7 * b].replace(',', '.')) + parseFloat(parts[1][25 + 7 * b].replace(',', '.'))) / 2;
      expect(Math.abs(v.pe - avg)).toBeGreaterThan(0.01);
    }
  });

  test('Lyon is one row, Les Abymes comes from ZA/101, no ZZ row', async () => {
    const { rows } = await pool().query(
      `select code_commune from election_resultat where election = 'presidentielle-2022' order by code_commune`,
    );
    expect(rows.map((r) => r.code_commune)).toEqual(['01001', '69123', '69149', '97101']);
  });
});

describe('européennes 2024 (UTF-8, 322 columns, "52,00%")', () => {
  let report: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    report = await run(EURO, 'europeennes-2024');
  });

  test('38 lists per commune, a bad percentage quarantined, counts add up', async () => {
    expect(report.read).toBe(5);
    expect(report).toMatchObject({ loaded: 4, rejected: 1 });
    const { rows: q } = await pool().query(`select line::int, reason from quarantine where run_id = $1`, [report.runId]);
    expect(q).toEqual([{ line: 6, reason: "column % Voix/exprimés 1: not a decimal: 'n/a%'" }]);
    const { rows } = await pool().query(
      `select code_commune, count(*)::int as n from election_voix where election = 'europeennes-2024' group by 1 order by 1`,
    );
    expect(rows).toEqual([
      { code_commune: '01001', n: 38 },
      { code_commune: '69123', n: 38 },
      { code_commune: '69149', n: 38 },
      { code_commune: '97701', n: 38 },
    ]);
  });

  test("the file's '52,00%' is read as 52 and equals the percentage recomputed in SQL", async () => {
    const {
      rows: [v],
    } = await pool().query(
      `select libelle, nuance, voix, pct_voix_exprimes::float as pe from election_voix where election = 'europeennes-2024' and code_commune = '69123' and panneau = 1`,
    );
    expect(v).toEqual({ libelle: "Liste numéro 1 pour l'Europe", nuance: 'LNUA1', voix: 52000, pe: 52 });
    const {
      rows: [d],
    } = await pool().query(`select details from published_datasets where source = 'elections' and millesime = 'europeennes-2024-t1'`);
    expect(d.details.ecarts_pourcentages).toBe(0);
    expect(d.details.lignes_comparees).toBeGreaterThan(100);
  });

  test('a header lacking columns fails the run naming them, the published rows stay', async () => {
    const before = (
      await pool().query(`select count(*)::int as n, sum(voix)::bigint as v from election_voix where election = 'europeennes-2024'`)
    ).rows[0];
    await expect(run(EURO_BAD, 'europeennes-2024')).rejects.toThrow(/missing columns Exprimés, Voix 1/);
    const after = (
      await pool().query(`select count(*)::int as n, sum(voix)::bigint as v from election_voix where election = 'europeennes-2024'`)
    ).rows[0];
    expect(after).toEqual(before);
    expect(before.n).toBe(4 * 38);
    const {
      rows: [r],
    } = await pool().query(`select status, error from runs where source = 'elections' order by id desc limit 1`);
    expect(r.status).toBe('failed');
  });
});

describe('législatives 2024 (numbered candidate blocks, some empty)', () => {
  test('empty blocks are skipped, candidates keep name, first name and nuance', async () => {
    const report = await run(path.join(FIX, 'resultats-definitifs-par-communes.csv'), 'legislatives-2024-t1');
    expect(report).toMatchObject({ status: 'succeeded', read: 2, loaded: 2, rejected: 0 });
    const { rows } = await pool().query(
      `select code_commune, count(*)::int as n, string_agg(nuance || ':' || prenom || ' ' || nom, ', ' order by panneau) as c
         from election_voix where election = 'legislatives-2024' group by 1 order by 1`,
    );
    expect(rows).toEqual([
      { code_commune: '35062', n: 2, c: 'UG:Paul DURAND, RN:Léa MOREAU' },
      { code_commune: '35238', n: 4, c: 'UG:Hélène DUPONT, ENS:Jean MARTIN, RN:Anne LEROY, DVD:Luc PETIT' },
    ]);
  });
});

describe('pack section', () => {
  test('French columns for 69149 and a LISEZMOI paragraph naming producer, licences and citation', async () => {
    const [res, voix] = pack.tables;
    const { rows, fields } = await pool().query(res.query, [['69149']]);
    expect(fields.length).toBe(res.fields.length + 1);
    expect(rows.map((r) => `${r.election}-${r.tour}`)).toEqual(['europeennes-2024-1', 'presidentielle-2022-1']);
    const v = await pool().query(voix.query, [['69149']]);
    expect(v.fields.length).toBe(voix.fields.length + 1);
    expect(v.rows.length).toBe(38 + 3);
    const text = pack.readme({ millesime: 'europeennes-2024-t1', publishedAt: '', details: {} });
    expect(text).toMatch(/ministère de l'Intérieur/);
    expect(text).toMatch(/Citer/);
    // One licence for the dataset, from the loaded scrutins: the Licence Ouverte unless one of them has none.
    const lo = {
      millesime: 'europeennes-2024',
      details: { licence: 'Licence Ouverte / Open Licence version 2.0', titre: 'Élections européennes 2024' },
    };
    const t2 = {
      millesime: 'presidentielle-2022-t2',
      details: {
        licence: "non spécifiée sur data.gouv.fr (données publiques du ministère de l'Intérieur)",
        titre: 'Élection présidentielle 2022, 2nd tour',
      },
    };
    expect(pack.licence!([lo])).toMatchObject({ id: 'lov2', url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence' });
    const mixed = pack.licence!([lo, t2]);
    expect(mixed.id).toBe('notspecified');
    expect(mixed.title).toMatch(/^Non spécifiée par le producteur sur data.gouv.fr \(Élection présidentielle 2022, 2nd tour\)/);
  });
});
