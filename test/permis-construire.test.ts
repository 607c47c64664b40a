import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { pipeline } from '../pipelines/permis-construire';

/**
 * Sitadel on the SYNTHETIC fixture of test/fixtures/permis-construire (README.md: no genuine file
 * was found; the layout is the one third parties read): two header lines (long labels, then
 * codes), every field quoted. Expected values come from the raw lines, split here by hand.
 */
const FILE = path.join(__dirname, 'fixtures', 'permis-construire', 'Liste-des-autorisations-durbanisme-creant-des-logements.2026-08.csv');
const quiet = { trigger: 'test', log: () => undefined } as const;
const [, codes, ...data] = fs
  .readFileSync(FILE, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => l.slice(1, -1).split('";"'));
const raw = data.map((v) => Object.fromEntries(v.map((x, i) => [codes[i], x])) as Record<string, string>);
const iso = (d: string) => (/^\d{2}\/\d{2}\/\d{4}$/.test(d) ? d.split('/').reverse().join('-') : d);
/** The good lines: a commune code, a count, a number seen for the first time. */
const good = raw.filter(
  (r, i) => /^(\d{5}|2[AB]\d{3})$/.test(r.COMM) && /^\d+$/.test(r.NB_LGT_TOT_CREES) && raw.findIndex((x) => x.NUM_DAU === r.NUM_DAU) === i,
);
const table = (name: string) => pipeline.pack!.tables.find((t) => t.name === name)!;

let db: Awaited<ReturnType<typeof freshDatabase>>;
let report: Awaited<ReturnType<typeof runSource>>;
beforeAll(async () => {
  db = await freshDatabase();
  report = await runSource('permis-construire', { ...quiet, file: FILE });
});
afterAll(async () => db.cleanup());

describe('Sitadel: authorisations creating housing', () => {
  test('the header is line 2; the edition is the month of the name; bad lines are quarantined with their reason', async () => {
    expect(report.status).toBe('succeeded');
    expect(report.millesime).toBe('2026-08');
    expect(report.read).toBe(raw.length);
    expect(report.read).toBe(report.loaded + report.rejected);
    const { rows } = await pool().query(`select line, reason from quarantine where run_id = $1 order by line`, [report.runId]);
    expect(rows.map((r) => [Number(r.line), r.reason])).toEqual([
      [11, "column COMM: invalid commune code '3523X'"],
      [12, "column NB_LGT_TOT_CREES: not a whole number: 'deux'"],
      [13, 'same NUM_DAU as line 4'],
    ]);
    expect(raw.length - good.length).toBe(3);
  });

  test('three communes (Rennes, Paris, Ajaccio): units authorised and started per year equal the sums of their raw lines', async () => {
    for (const code of ['35238', '75056', '2A004']) {
      const lines = good.filter((r) => r.COMM === code);
      const years = [
        ...new Set(
          lines.flatMap((r) => [iso(r.DATE_REELLE_AUTORISATION), iso(r.DATE_REELLE_DOC)].filter(Boolean).map((d) => Number(d.slice(0, 4)))),
        ),
      ].sort();
      const sum = (f: (r: Record<string, string>) => boolean, k: string) => lines.filter(f).reduce((s, r) => s + Number(r[k] || 0), 0);
      const want = years.map((y) => [
        y,
        sum((r) => iso(r.DATE_REELLE_AUTORISATION).startsWith(String(y)), 'NB_LGT_TOT_CREES'),
        sum((r) => iso(r.DATE_REELLE_AUTORISATION).startsWith(String(y)), 'NB_LGT_IND_CREES'),
        sum((r) => iso(r.DATE_REELLE_AUTORISATION).startsWith(String(y)), 'NB_LGT_COL_CREES'),
        sum((r) => iso(r.DATE_REELLE_DOC).startsWith(String(y)), 'NB_LGT_TOT_CREES'),
      ]);
      const { rows } = await pool().query(table('logements_autorises_commences').query, [[code]]);
      expect({
        code,
        rows: rows.map((r) => [r.annee, r.logements_autorises, r.dont_individuels, r.dont_collectifs, r.logements_commences]),
      }).toEqual({
        code,
        rows: want,
      });
    }
  });

  test('the list holds the authorisations of the edition’s year and the two before, with their raw fields', async () => {
    for (const code of ['35238', '75056', '2A004']) {
      const want = good
        .filter((r) => r.COMM === code && iso(r.DATE_REELLE_AUTORISATION) >= '2024-01-01')
        .map((r) => [r.NUM_DAU, iso(r.DATE_REELLE_AUTORISATION), Number(r.NB_LGT_TOT_CREES), r.ADR_CODPOST_TER, r.DENOM_DEM || null])
        .sort();
      const { rows } = await pool().query(table('permis_construire').query, [[code]]);
      expect(rows.map((r) => [r.numero, r.date_autorisation, r.logements_crees, r.code_postal, r.demandeur]).sort()).toEqual(want);
    }
    const { rows } = await pool().query(table('permis_construire').query, [['35238']]);
    expect(rows.find((r) => r.numero === '03523824A0012')).toMatchObject({
      adresse: '12 RUE DE LA MOTTE BRULON',
      parcelles: 'AB 0112, AB 0113',
    });
    expect(rows.some((r) => r.numero === '03523819A0450')).toBe(false); // 2019: in the yearly counts only
  });

  test('Fleurigné’s code of before the merger (35112) is re-coded to La Chapelle-Fleurigné (35062); Paris’s arrondissements get nothing (the file gives Paris whole)', async () => {
    const { rows } = await pool().query(table('permis_construire').query, [['35062', '35112']]);
    expect(rows.map((r) => [r.code_commune, r.numero])).toEqual([['35062', '03511225A0003']]);
    expect((await pool().query(table('logements_autorises_commences').query, [['75112']])).rows).toEqual([]);
  });

  test('a copy named without its month is refused with what to do; --millesime states it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sitadel-'));
    const bare = path.join(dir, 'Liste-des-autorisations-durbanisme-creant-des-logements.csv');
    fs.copyFileSync(FILE, bare);
    await expect(runSource('permis-construire', { ...quiet, file: bare, resource: 'logements', force: true })).rejects.toThrow(
      /month of the extract is not in the name .* --millesime YYYY-MM/,
    );
    const ok = await runSource('permis-construire', { ...quiet, file: bare, resource: 'logements', millesime: '2026-09', force: true });
    expect(ok).toMatchObject({ status: 'succeeded', millesime: '2026-09' });
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
