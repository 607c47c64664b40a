import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { describeRealData, sharedFile } from './helpers/shared-data';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';

/**
 * Budgets on genuine lines. OFGL: the consolidated communes export with labels
 * (test/fixtures/budgets/real, re-serialised by a third party as its PROVENANCE says: header
 * `Exercice;…;Code Insee 2024 Commune;…;Agrégat;…;Montant;…;Population totale`, BOM, no
 * type_de_budget). DGFiP: genuine lines of the « comptes individuels des communes » 2013–2020
 * (../shared/data/real/budgets, read at run time). Expected values come from the raw lines,
 * split here independently of the pipeline.
 */
const OFGL = path.join(__dirname, 'fixtures', 'budgets', 'real', 'ofgl-base-communes-consolidee-extract.csv');
const DGFIP = ['2013', '2017', '2018', '2020'].map((y) =>
  sharedFile(
    'real',
    'budgets',
    fs.existsSync(sharedFile('real', 'budgets')) ? fs.readdirSync(sharedFile('real', 'budgets')).find((f) => f.endsWith(`_${y}.csv`))! : '',
  ),
);
const records = (file: string) => {
  const [header, ...lines] = fs
    .readFileSync(file, 'utf8')
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .filter(Boolean);
  const names = header.split(';');
  return lines.map((l) => Object.fromEntries(l.split(';').map((v, i) => [names[i], v])) as Record<string, string>);
};
// Extracts of a few communes each, of different sizes from year to year: forced past the
// publication guard, which compares an exercice with the one before it (test/guard.test.ts).
const run = (file: string, resource: string) =>
  runSource('budgets', { file, resource, trigger: 'test', force: true, allowShrink: true, log: () => undefined });

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

describe('OFGL consolidated export with labels (genuine values, Cazères 31135, 2022–2023)', () => {
  test('headers matched by label and by pattern (the COG year inside "Code Insee 2024 Commune"); every line loads', async () => {
    const r = await run(OFGL, 'ofgl');
    const raw = records(OFGL);
    expect(r).toMatchObject({ status: 'succeeded', read: raw.length, loaded: raw.length, rejected: 0 });
    const {
      rows: [d],
    } = await pool().query(`select details from published_datasets where source = 'budgets' and millesime like 'ofgl-%'`);
    expect(d.details.cog).toBe(2024);
  });

  test('each (exercice, agrégat) of the commune equals its raw Montant and Population totale', async () => {
    const raw = records(OFGL);
    const { rows } = await pool().query(
      `select exercice, code_commune, agregat, montant::float8 as montant, population, sirens from budget_ofgl order by exercice, agregat`,
    );
    const want = raw
      .map((x) => ({
        exercice: Number(x.Exercice),
        code_commune: x['Code Insee 2024 Commune'],
        agregat: x['Agrégat'],
        montant: Math.round(Number(x.Montant) * 100) / 100,
        population: Number(x['Population totale']),
        sirens: [x['Code Siren Collectivité']],
      }))
      .sort((a, b) => a.exercice - b.exercice || a.agregat.localeCompare(b.agregat, 'en'));
    expect(rows).toEqual(want);
  });
});

describeRealData('DGFiP comptes individuels des communes (genuine lines 2013, 2017, 2018, 2020)', () => {
  test('every commune of every file: each amount (k€ → €) and pop1 as in its raw line; the made-up 099/999 line quarantined', async () => {
    for (const file of DGFIP) {
      const r = await run(file, 'dgfip');
      const raw = records(file);
      expect([path.basename(file), r.status, r.read]).toEqual([path.basename(file), 'succeeded', raw.length]);
      for (const x of raw) {
        const code = `${x.dep.replace(/^0/, '')}${x.icom}`;
        if (code === '99999') continue; // « EXCLU », invented by that test author (see ../shared/data/real/README.md)
        const { rows } = await pool().query(
          `select agregat, montant::float8 as montant, population from budget_dgfip where exercice = $1 and code_commune = $2`,
          [Number(x.an), code],
        );
        const got = new Map(rows.map((g) => [g.agregat, g]));
        // The three amounts a mairie reads first: products, charges, debt.
        for (const ag of ['prod', 'charge', 'dette']) {
          const want = x[ag] === '' ? null : Math.round(Number(x[ag]) * 1000 * 100) / 100;
          expect([file.slice(-8), code, ag, got.get(ag)?.montant, got.get(ag)?.population]).toEqual([
            file.slice(-8),
            code,
            ag,
            want,
            Number(x.pop1),
          ]);
        }
      }
      if (raw.some((x) => x.icom === '999')) {
        const { rows: q } = await pool().query(`select reason from quarantine where run_id = $1`, [r.runId]);
        expect(q.map((x) => x.reason)).toEqual([expect.stringMatching(/99999 is neither a commune/)]);
      }
    }
  });
});
