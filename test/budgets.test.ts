import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { pack } from '../pipelines/budgets/pack';

const FIX = path.join(__dirname, 'fixtures', 'budgets');
const OFGL = path.join(FIX, 'ofgl-base-communes-consolidee.csv');
const DGFIP = path.join(FIX, 'comptes-individuels-des-communes-fichier-global-2023-2024.csv');
const run = (file: string, resource: string) => runSource('budgets', { file, resource, trigger: 'test', log: () => {} });

/** The fixture read independently of the pipeline (BOM removed by hand). */
function records(file: string): Record<string, string>[] {
  const [h, ...lines] = fs
    .readFileSync(file, 'utf8')
    .replace(/^\uFEFF/, '')
    .split('\n')
    .filter(Boolean);
  const header = h.split(';');
  return lines.map((l) => Object.fromEntries(l.split(';').map((v, i) => [header[i], v])));
}
const round2 = (x: number) => Math.round(100 * x) / 100;

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

describe('OFGL comptes des communes (long, UTF-8 with BOM)', () => {
  let report: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    report = await run(OFGL, 'ofgl');
  });

  test('the BOM does not hide the first column; bad rows quarantined with line and reason', async () => {
    expect(fs.readFileSync(OFGL).subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(report.status).toBe('succeeded');
    expect(report.read).toBe(records(OFGL).length);
    expect(report.read).toBe(report.loaded + report.rejected);
    const { rows } = await pool().query(`select line::int, reason from quarantine where run_id = $1 order by line`, [report.runId]);
    expect(rows).toEqual([
      { line: 10, reason: "column siren: not a SIREN: '12345'" },
      { line: 11, reason: "column montant: not a number: '4,5 M€'" },
      { line: 12, reason: expect.stringMatching(/^column com_code: code 99999 is neither a commune of COG 2023/) },
    ]);
  });

  test('the SIRENs of Oullins and Pierre-Bénite are summed under 69149, per inhabitant recomputed', async () => {
    const parts = records(OFGL).filter(
      (r) =>
        r.exer === '2023' &&
        ['69149', '69152'].includes(r.com_code) &&
        r.type_de_budget === 'Budget principal' &&
        r.agregat === 'Recettes totales',
    );
    expect(parts).toHaveLength(2);
    const montant = parts.reduce((s, r) => s + Number(r.montant), 0);
    const pop = parts.reduce((s, r) => s + Number(r.ptot), 0);
    const {
      rows: [r],
    } = await pool().query(
      `select montant::float, population, euros_par_habitant::float as eph, sirens, codes_sources from budget_ofgl
        where exercice = 2023 and code_commune = '69149' and type_budget = 'Budget principal' and agregat = 'Recettes totales'`,
    );
    expect(r).toEqual({
      montant,
      population: pop,
      eph: round2(montant / pop),
      sirens: ['216901491', '216901525'],
      codes_sources: ['69149', '69152'],
    });
    const avg = parts.reduce((s, x) => s + Number(x.euros_par_habitant), 0) / 2;
    expect(Math.abs(r.eph - avg)).toBeGreaterThan(1);
    // 2024: both SIRENs already under the new code in the consolidated base
    const {
      rows: [r24],
    } = await pool().query(
      `select montant::float, population, codes_sources from budget_ofgl where exercice = 2024 and code_commune = '69149'`,
    );
    expect(r24).toEqual({ montant: 32000000 + 9600000, population: 26600 + 10100, codes_sources: ['69149'] });
  });

  test('an empty amount stays NULL (never 0), and makes the summed amount unknown', async () => {
    const {
      rows: [r],
    } = await pool().query(
      `select montant, euros_par_habitant from budget_ofgl where exercice = 2023 and code_commune = '69149' and agregat = 'Encours de dette'`,
    );
    expect(r).toEqual({ montant: null, euros_par_habitant: null });
    const {
      rows: [a],
    } = await pool().query(
      `select montant::float, population from budget_ofgl where exercice = 2023 and code_commune = '69149' and type_budget = 'Budget annexe'`,
    );
    expect(a).toEqual({ montant: 450000, population: 26500 + 10200 });
  });

  test('a header lacking a column fails the run naming it; published rows stay', async () => {
    const before = (await pool().query(`select count(*)::int as n, sum(montant)::text as s from budget_ofgl`)).rows[0];
    await expect(run(path.join(FIX, 'ofgl-colonne-manquante.csv'), 'ofgl')).rejects.toThrow(/missing column siren/);
    expect((await pool().query(`select count(*)::int as n, sum(montant)::text as s from budget_ofgl`)).rows[0]).toEqual(before);
    expect(before.n).toBeGreaterThan(0);
  });
});

describe('DGFiP comptes individuels (wide, k€, padded codes)', () => {
  let report: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    report = await run(DGFIP, 'dgfip');
  });

  test('counts add up, bad rows quarantined with line and reason', async () => {
    expect(report.read).toBe(records(DGFIP).length);
    expect(report.read).toBe(report.loaded + report.rejected);
    const { rows } = await pool().query(`select line::int, reason from quarantine where run_id = $1 order by line`, [report.runId]);
    expect(rows).toEqual([
      { line: 8, reason: expect.stringMatching(/^column dep \+ icom: code 69999 is neither/) },
      { line: 9, reason: "column pop1: not a whole number: 'x'" },
    ]);
  });

  test('padded dep/icom rebuilt, k€ converted to €, wide columns made long', async () => {
    const { rows } = await pool().query(
      `select code_commune, agregat, libelle, montant::float from budget_dgfip where code_commune in ('35238', '97101') order by 1, 2`,
    );
    const rennes = records(DGFIP).find((r) => r.icom === '238')!;
    expect(rows.filter((r) => r.code_commune === '35238')).toEqual([
      { code_commune: '35238', agregat: 'charge', libelle: 'Total des charges de fonctionnement', montant: Number(rennes.charge) * 1000 },
      { code_commune: '35238', agregat: 'dette', libelle: 'Encours de la dette au 31 décembre', montant: Number(rennes.dette) * 1000 },
      { code_commune: '35238', agregat: 'prod', libelle: 'Total des produits de fonctionnement', montant: Number(rennes.prod) * 1000 },
    ]);
    expect(rows.filter((r) => r.code_commune === '97101')).toHaveLength(3);
  });

  test('merged communes: amounts and populations summed, € per inhabitant recomputed, not averaged', async () => {
    const parts = records(DGFIP).filter((r) => r.dep === '069' && ['149', '152'].includes(r.icom));
    const prod = parts.reduce((s, r) => s + Number(r.prod) * 1000, 0);
    const pop = parts.reduce((s, r) => s + Number(r.pop1), 0);
    const {
      rows: [r],
    } = await pool().query(
      `select montant::float, population, euros_par_habitant::float as eph, codes_sources from budget_dgfip where exercice = 2023 and code_commune = '69149' and agregat = 'prod'`,
    );
    expect(r).toEqual({ montant: prod, population: pop, eph: round2(prod / pop), codes_sources: ['69149', '69152'] });
    expect(Math.abs(r.eph - (Number(parts[0].fprod) + Number(parts[1].fprod)) / 2)).toBeGreaterThan(1);
  });

  test('empty amount → NULL, population 0 → no per-inhabitant figure', async () => {
    const { rows } = await pool().query(
      `select code_commune, agregat, montant::float, euros_par_habitant from budget_dgfip where (code_commune = '69123' and agregat = 'prod') or (code_commune = '55039' and agregat = 'prod') or (code_commune = '69149' and agregat = 'dette') order by 1`,
    );
    expect(rows).toEqual([
      { code_commune: '55039', agregat: 'prod', montant: 12000, euros_par_habitant: null },
      { code_commune: '69123', agregat: 'prod', montant: null, euros_par_habitant: null },
      { code_commune: '69149', agregat: 'dette', montant: null, euros_par_habitant: null },
    ]);
  });

  test('a header lacking columns fails the run naming them; published rows stay', async () => {
    const before = (await pool().query(`select count(*)::int as n from budget_dgfip`)).rows[0].n;
    await expect(run(path.join(FIX, 'dgfip-colonnes-manquantes.csv'), 'dgfip')).rejects.toThrow(/missing columns icom, pop1/);
    expect((await pool().query(`select count(*)::int as n from budget_dgfip`)).rows[0].n).toBe(before);
    expect(before).toBeGreaterThan(0);
  });
});

describe('pack section', () => {
  test('tables with French column names for 69149 and a LISEZMOI paragraph', async () => {
    for (const t of pack.tables) {
      const { rows, fields } = await pool().query(t.query, [['69149']]);
      expect(fields.length).toBe(t.fields.length + 1);
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((r) => r.code_commune === '69149')).toBe(true);
    }
    const text = pack.readme({ millesime: 'dgfip-2023', publishedAt: '', details: {} });
    expect(text).toMatch(/OFGL/);
    expect(text).toMatch(/DGFiP/);
    expect(pack.licence).toBeUndefined(); // one licence, the declaration's, written by src/packs/lisezmoi.ts
    expect(text).toMatch(/Citer/);
  });
});
