import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { readMelodiFile } from './helpers/melodi';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { pipeline } from '../pipelines/etat-civil';

/**
 * État civil on GENUINE bytes: whole lines of INSEE's Melodi births file (test/fixtures/etat-civil/real,
 * see its PROVENANCE.md): every COM and ARM line of Paris, Lyon and Marseille (the `751XX`, `693XX`,
 * `132XX` lines of births whose arrondissement is not known included), six other communes, Mayotte's
 * `M` lines with an empty value, one line of every other level. Expected values come from the raw
 * lines, read here independently of the pipeline.
 */
const REAL = path.join(__dirname, 'fixtures', 'etat-civil', 'real', 'DS_ETAT_CIVIL_NAIS_COMMUNES_data-extract.csv');
const CITIES = ['75056', '69123', '13055'];
/** First three characters of each city's arrondissement codes (75101…, 69381…, 13201…). */
const ARM_PREFIX: Record<string, string> = { '75056': '751', '69123': '693', '13055': '132' };
const YEARS = Array.from({ length: 2024 - 2008 + 1 }, (_, i) => 2008 + i);
const raw = readMelodiFile(REAL);
const value = (geo: string, obj: string, year: number) => {
  const hits = raw.filter((r) => r.GEO === geo && r.GEO_OBJECT === obj && Number(r.TIME_PERIOD) === year);
  if (hits.length !== 1) throw new Error(`${hits.length} raw lines for ${geo} ${obj} ${year}`);
  return hits[0].OBS_VALUE === '' ? null : Number(hits[0].OBS_VALUE);
};

let db: Awaited<ReturnType<typeof freshDatabase>>;
let report: Awaited<ReturnType<typeof runSource>>;
beforeAll(async () => {
  db = await freshDatabase();
  // Births alone (no genuine deaths file exists): --file loads one resource, the other is left as it is.
  report = await runSource('etat-civil', { file: REAL, resource: 'naissances', trigger: 'test', force: true, log: () => undefined });
});
afterAll(async () => db.cleanup());

describe('état civil on genuine INSEE lines (Melodi births file)', () => {
  test('every line accounted for; no line of the genuine file is quarantined, XX lines included', async () => {
    expect(report.status).toBe('succeeded');
    expect(report.millesime).toBe(String(Math.max(...raw.map((r) => Number(r.TIME_PERIOD)))));
    const { rows } = await pool().query(`select file, line, reason from quarantine where run_id = $1 and file like 'DS_ETAT_CIVIL_NAIS%'`, [
      report.runId,
    ]);
    expect(rows).toEqual([]);
    expect(raw.filter((r) => /XX$/.test(r.GEO))).toHaveLength(3 * YEARS.length);
  });

  test("Paris, Lyon and Marseille in the packs equal INSEE's COM lines for every year 2008–2024 (XX births included)", async () => {
    const { rows } = await pool().query(pipeline.pack!.tables[0].query, [CITIES]);
    for (const city of CITIES)
      for (const year of YEARS) {
        const got = rows.find((r) => r.code_commune === city && r.annee === year);
        expect({ city, year, naissances: got?.naissances }).toEqual({ city, year, naissances: value(city, 'COM', year) });
        // …which is the sum of every ARM line, the undetermined one (XX) included, and more than the determined ones.
        const arm = raw.filter((r) => r.GEO_OBJECT === 'ARM' && r.GEO.slice(0, 3) === ARM_PREFIX[city] && Number(r.TIME_PERIOD) === year);
        const sum = (rs: typeof arm) => rs.reduce((s, r) => s + Number(r.OBS_VALUE), 0);
        expect(sum(arm)).toBe(value(city, 'COM', year));
        expect(sum(arm.filter((r) => !/XX$/.test(r.GEO)))).toBeLessThanOrEqual(value(city, 'COM', year)!);
      }
    const {
      rows: [pub],
    } = await pool().query(`select details from published_datasets where source = 'etat-civil'`);
    expect(pub.details.ecarts_plm).toBeUndefined();
  });

  test('each arrondissement keeps its own ARM line; no XX row is published as an arrondissement', async () => {
    const arm = raw.filter((r) => r.GEO_OBJECT === 'ARM' && !/XX$/.test(r.GEO));
    const { rows } = await pool().query(`select code_commune, annee, naissances from etat_civil where type = 'arrondissement-municipal'`);
    const got = new Map(rows.map((r) => [`${r.code_commune}/${r.annee}`, r.naissances]));
    expect(got.size).toBe(arm.length);
    for (const r of arm)
      expect([r.GEO, r.TIME_PERIOD, got.get(`${r.GEO}/${r.TIME_PERIOD}`)]).toEqual([r.GEO, r.TIME_PERIOD, Number(r.OBS_VALUE)]);
    expect((await pool().query(`select count(*)::int as n from etat_civil where code_commune ~ 'XX'`)).rows[0].n).toBe(0);
  });

  test('three other communes (01001, 2A004, Mamoudzou 97611 with M lines) equal their raw lines; an empty M value is NULL, not 0', async () => {
    for (const code of ['01001', '2A004', '97611']) {
      const { rows } = await pool().query(pipeline.pack!.tables[0].query, [[code]]);
      const want = YEARS.map((y) => [y, value(code, 'COM', y)]);
      expect([code, rows.map((r) => [r.annee, r.naissances])]).toEqual([code, want]);
    }
    expect(value('97611', 'COM', 2008)).toBeNull();
  });
});
