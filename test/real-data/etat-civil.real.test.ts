import { freshDatabase } from '../helpers/db';
import { describeRealData, SHARED_DATA, sharedFile } from '../helpers/shared-data';
import { resetSettings } from '../../config/settings';
import { unzip } from '../helpers/zip';
import { readMelodi } from '../helpers/melodi';
import { pool } from '../../src/db/pool';
import { runSource } from '../../src/engine/runner';
import { pipeline } from '../../pipelines/etat-civil';

/**
 * The whole genuine INSEE births file (../shared/data/real/etat-civil, byte-identical to what the
 * Melodi file endpoint served; read at run time, never copied): 710,821 lines, 2008–2024, COG 2025.
 * Expected values are INSEE's own COM lines, read here from the zip independently of the pipeline.
 */
const ZIP = sharedFile('real', 'etat-civil', 'DS_ETAT_CIVIL_NAIS_COMMUNES.zip');
const CITIES = ['75056', '69123', '13055'];
const YEARS = Array.from({ length: 2024 - 2008 + 1 }, (_, i) => 2008 + i);

describeRealData('état civil: the genuine national births file', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let report: Awaited<ReturnType<typeof runSource>>;
  let raw: Record<string, string>[];

  beforeAll(async () => {
    db = await freshDatabase();
    const entries = await unzip(ZIP);
    raw = readMelodi(entries.get('DS_ETAT_CIVIL_NAIS_COMMUNES_data.csv')!.toString('utf8')).filter(
      (r) => r.GEO_OBJECT === 'ARM' || CITIES.includes(r.GEO) || ['01001', '2A004', '97411'].includes(r.GEO),
    );
    // Births alone (no genuine deaths file exists), found by the mirror lookup in real/etat-civil/ as `npm start`
    // finds it (MIRROR_DIR = ../shared/data); --file on genuine lines is test/etat-civil-real.test.ts.
    process.env.MIRROR_DIR = SHARED_DATA;
    resetSettings();
    report = await runSource('etat-civil', { trigger: 'test', force: true, log: () => undefined });
  }, 600000);
  afterAll(() => {
    process.env.MIRROR_DIR = '';
    resetSettings();
  });
  afterAll(async () => db?.cleanup());

  test('the national file loads from the mirror; no line of it is quarantined, the 51 XX lines included', async () => {
    expect(report.status).toBe('succeeded');
    expect(report.files.map((f) => [f.resource, f.origin, f.path])).toEqual([['naissances', 'mirror', ZIP]]);
    expect(report.millesime).toBe('2024');
    const { rows } = await pool().query(
      `select count(*)::int as n, count(*) filter (where raw ~ 'XX')::int as xx from quarantine where run_id = $1 and file like 'DS_ETAT_CIVIL_NAIS%'`,
      [report.runId],
    );
    expect(rows[0]).toEqual({ n: 0, xx: 0 });
    expect(raw.filter((r) => /XX$/.test(r.GEO))).toHaveLength(51);
  });

  test("births of Paris, Lyon and Marseille in the packs equal INSEE's COM lines for every year 2008–2024", async () => {
    const { rows } = await pool().query(pipeline.pack!.tables[0].query, [CITIES]);
    const got = rows.map((r) => [r.code_commune, r.annee, r.naissances]);
    const want = CITIES.slice()
      .sort()
      .flatMap((c) =>
        YEARS.map((y) => [c, y, Number(raw.find((r) => r.GEO === c && r.GEO_OBJECT === 'COM' && Number(r.TIME_PERIOD) === y)!.OBS_VALUE)]),
      );
    expect(got).toEqual(want);
  });

  test('three more communes and every arrondissement equal their raw lines', async () => {
    for (const code of ['01001', '2A004', '97411']) {
      const { rows } = await pool().query(pipeline.pack!.tables[0].query, [[code]]);
      const want = YEARS.map((y) => {
        const r = raw.find((x) => x.GEO === code && x.GEO_OBJECT === 'COM' && Number(x.TIME_PERIOD) === y);
        return [y, r && r.OBS_VALUE !== '' ? Number(r.OBS_VALUE) : null];
      });
      expect([code, rows.map((r) => [r.annee, r.naissances])]).toEqual([code, want]);
    }
    const { rows } = await pool().query(`select code_commune, annee, naissances from etat_civil where type = 'arrondissement-municipal'`);
    const got = new Map(rows.map((r) => [`${r.code_commune}/${r.annee}`, r.naissances]));
    const arm = raw.filter((r) => r.GEO_OBJECT === 'ARM' && !/XX$/.test(r.GEO));
    expect(got.size).toBe(arm.length);
    expect(arm.filter((r) => got.get(`${r.GEO}/${r.TIME_PERIOD}`) !== Number(r.OBS_VALUE))).toEqual([]);
  });
});
