import fs from 'node:fs';
import { freshDatabase } from '../helpers/db';
import { describeRealData, sharedFile, SHARED_DATA } from '../helpers/shared-data';
import { resetSettings } from '../../config/settings';
import { pool } from '../../src/db/pool';
import { runSource } from '../../src/engine/runner';

/**
 * The genuine Rhône extract of présidentielle 2022 T2 (re-serialised by a third party: UTF-8,
 * `.` decimals, candidate columns suffixed _1/_2, 3 provenance columns appended). Expected
 * figures are computed here from the file itself, independently of the pipeline.
 */
const FILE = sharedFile('elections', '2022-pres-t2-commune-rhone-69.csv');

describeRealData('elections: real Rhône extract, présidentielle 2022 T2', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let report: Awaited<ReturnType<typeof runSource>>;
  let header: string[];
  let rows: string[][];
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`no column ${name}`);
    return i;
  };
  const row = (com: string) => rows.find((r) => r[col('Code du département')] === '69' && r[col('Code de la commune')] === com)!;

  beforeAll(async () => {
    db = await freshDatabase({ MIRROR_DIR: SHARED_DATA });
    resetSettings();
    const lines = fs
      .readFileSync(FILE, 'utf8')
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/)
      .filter(Boolean);
    header = lines[0].split(';');
    rows = lines.slice(1).map((l) => l.split(';'));
    // found in the mirror under its declared name, no --file
    report = await runSource('elections', { trigger: 'test', log: () => {} });
  });
  afterAll(async () => db.cleanup());

  test('the extract is found in MIRROR_DIR and every row is accounted for', async () => {
    expect(report.status).toBe('succeeded');
    expect(report.files.map((f) => [f.resource, f.origin])).toEqual([['presidentielle-2022-t2', 'mirror']]);
    expect(report.read).toBe(rows.length);
    expect(report.read).toBe(report.loaded + report.rejected);
  });

  test('69149 = Oullins 69/149 + Pierre-Bénite 69/152, votes summed per candidate, percentages recomputed', async () => {
    const parts = [row('149'), row('152')];
    const sum = (name: string) => parts.reduce((s, r) => s + Number(r[col(name)]), 0);
    const {
      rows: [r],
    } = await pool().query(
      `select inscrits, votants, abstentions, blancs, nuls, exprimes, pct_votants_inscrits::float as pv, codes_sources
         from election_resultat where election = 'presidentielle-2022' and tour = 2 and code_commune = '69149'`,
    );
    expect(r).toMatchObject({
      inscrits: sum('Inscrits'),
      votants: sum('Votants'),
      abstentions: sum('Abstentions'),
      blancs: sum('Blancs'),
      nuls: sum('Nuls'),
      exprimes: sum('Exprimés'),
      codes_sources: ['69149', '69152'],
    });
    expect(r.pv).toBeCloseTo(Math.round((10000 * sum('Votants')) / sum('Inscrits')) / 100, 2);
    const { rows: voix } = await pool().query(
      `select panneau, nom, prenom, voix, pct_voix_exprimes::float as pe, pct_voix_inscrits::float as pi
         from election_voix where election = 'presidentielle-2022' and tour = 2 and code_commune = '69149' order by panneau`,
    );
    expect(voix).toEqual(
      [1, 2].map((k) => {
        const v = sum(`Voix_${k}`);
        return {
          panneau: Number(parts[0][col(`N°Panneau_${k}`)]),
          nom: parts[0][col(`Nom_${k}`)],
          prenom: parts[0][col(`Prénom_${k}`)],
          voix: v,
          pe: Math.round((10000 * v) / sum('Exprimés')) / 100,
          pi: Math.round((10000 * v) / sum('Inscrits')) / 100,
        };
      }),
    );
    // the recomputed share differs from the plain average of the two communes' published shares
    const avg = (Number(parts[0][col('% Voix/Exp_1')]) + Number(parts[1][col('% Voix/Exp_1')])) / 2;
    expect(Math.abs(voix[0].pe - avg)).toBeGreaterThan(0.5);
  });

  test('Lyon 69123 is present as one row, with its figures as published', async () => {
    const lyon = row('123');
    const { rows: r } = await pool().query(
      `select inscrits, exprimes, codes_sources from election_resultat where election = 'presidentielle-2022' and tour = 2 and (code_commune = '69123' or code_commune like '6938_')`,
    );
    expect(r).toEqual([{ inscrits: Number(lyon[col('Inscrits')]), exprimes: Number(lyon[col('Exprimés')]), codes_sources: ['69123'] }]);
  });

  test("the file's own percentages agree with voix / exprimés (its '.' decimals are read)", async () => {
    const {
      rows: [d],
    } = await pool().query(`select details from published_datasets where source = 'elections' and millesime = 'presidentielle-2022-t2'`);
    expect(d.details.lignes_comparees).toBe(2 * rows.length);
    expect(d.details.ecarts_pourcentages).toBe(0);
    const {
      rows: [n],
    } = await pool().query(`select count(*)::int as n from election_resultat where election = 'presidentielle-2022' and tour = 2`);
    expect(n.n).toBe(rows.length - 1 - report.rejected); // Oullins and Pierre-Bénite make one commune
  });
});
