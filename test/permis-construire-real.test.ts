import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { pipeline } from '../pipelines/permis-construire';

/**
 * Sitadel on GENUINE lines (test/fixtures/permis-construire/real, PROVENANCE.md): the January 2026
 * list creating housing as a third party committed it, cut to its two header lines and 31 of
 * its 3,710 lines (all of Toulouse, 31555). The genuine layout differs from the synthetic
 * fixture: numbers, booleans written `"false"`/`"true"` aside, cells are unquoted when numeric or
 * empty (`5;"2013-06-28";;2011`), LF line ends, 100 columns. Expected values come from the raw
 * lines, split here independently of the pipeline (no `;` inside any cell of the origin file).
 */
const FILE = path.join(
  __dirname,
  'fixtures',
  'permis-construire',
  'real',
  'Liste-des-autorisations-durbanisme-creant-des-logements.2026-01.csv',
);
const cell = (v: string) => (v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/""/g, '"') : v);
const [, codes, ...data] = fs
  .readFileSync(FILE, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => l.split(';').map(cell));
const raw = data.map((v) => Object.fromEntries(v.map((x, i) => [codes[i], x])) as Record<string, string>);
const table = (name: string) => pipeline.pack!.tables.find((t) => t.name === name)!;

let db: Awaited<ReturnType<typeof freshDatabase>>;
let report: Awaited<ReturnType<typeof runSource>>;
beforeAll(async () => {
  db = await freshDatabase();
  report = await runSource('permis-construire', { trigger: 'test', log: () => undefined, file: FILE });
});
afterAll(async () => db.cleanup());

describe('Sitadel, genuine lines (Toulouse, list of January 2026)', () => {
  test('every genuine line loads; the edition is the month of the name; read = loaded + rejected', () => {
    expect(codes).toHaveLength(100);
    expect(raw.every((r) => r.COMM === '31555')).toBe(true);
    expect(report).toMatchObject({ status: 'succeeded', millesime: '2026-01', read: raw.length, loaded: raw.length, rejected: 0 });
    expect(report.read).toBe(report.loaded + report.rejected);
  });

  test('Toulouse: housing units authorised, individual, collective and started per year equal the sums of its raw lines', async () => {
    const year = (d: string) => (d ? Number(d.slice(0, 4)) : undefined);
    const years = [
      ...new Set(raw.flatMap((r) => [year(r.DATE_REELLE_AUTORISATION), year(r.DATE_REELLE_DOC)]).filter((y): y is number => !!y)),
    ].sort();
    const sum = (f: (r: Record<string, string>) => boolean, k: string) => raw.filter(f).reduce((s, r) => s + Number(r[k] || 0), 0);
    const want = years.map((y) => {
      const authorised = (r: Record<string, string>) => year(r.DATE_REELLE_AUTORISATION) === y;
      return [
        y,
        sum(authorised, 'NB_LGT_TOT_CREES'),
        sum(authorised, 'NB_LGT_IND_CREES'),
        sum(authorised, 'NB_LGT_COL_CREES'),
        sum((r) => year(r.DATE_REELLE_DOC) === y, 'NB_LGT_TOT_CREES'),
      ];
    });
    expect(want.length).toBeGreaterThan(10);
    const { rows } = await pool().query(table('logements_autorises_commences').query, [['31555']]);
    expect(rows.map((r) => [r.annee, r.logements_autorises, r.dont_individuels, r.dont_collectifs, r.logements_commences])).toEqual(want);
  });

  test('the list holds the authorisations of 2024–2026 with their raw number, date, units, postcode and applicant', async () => {
    const want = raw
      .filter((r) => r.DATE_REELLE_AUTORISATION >= '2024-01-01')
      .map((r) => [r.NUM_DAU, r.DATE_REELLE_AUTORISATION, Number(r.NB_LGT_TOT_CREES), r.ADR_CODPOST_TER || null, r.DENOM_DEM || null])
      .sort();
    expect(want.length).toBeGreaterThanOrEqual(8);
    const { rows } = await pool().query(table('permis_construire').query, [['31555']]);
    expect(rows.map((r) => [r.numero, r.date_autorisation, r.logements_crees, r.code_postal, r.demandeur]).sort()).toEqual(want);
  });
});
