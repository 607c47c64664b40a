import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { unzip } from './helpers/zip';
import { readMelodi } from './helpers/melodi';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { pipeline } from '../pipelines/equipements';

/**
 * INSEE's per-commune BPE counts (Melodi `DS_BPE_<year>`), in the layout third-party readers of
 * the real file document (fixtures/equipements/README.md); the fixture is SYNTHETIC. Expected
 * counts come from the raw lines, read here independently of the pipeline.
 */
const ZIP = path.join(__dirname, 'fixtures', 'equipements', 'DS_BPE_2024_CSV_FR-synthetic.zip');
let db: Awaited<ReturnType<typeof freshDatabase>>;
let raw: Record<string, string>[];
let report: Awaited<ReturnType<typeof runSource>>;
beforeAll(async () => {
  db = await freshDatabase();
  raw = readMelodi((await unzip(ZIP)).get('DS_BPE_2024_data.csv')!.toString('utf8'));
  report = await runSource('equipements', { file: ZIP, resource: 'bpe-communes', trigger: 'test', force: true, log: () => undefined });
});
afterAll(async () => db.cleanup());

const counts = async (code: string) =>
  Object.fromEntries(
    (
      await pool().query(`select typequ, nombre from equipement_compte where millesime = $1 and code_commune = $2 order by typequ`, [
        report.millesime,
        code,
      ])
    ).rows.map((r) => [r.typequ, r.nombre]),
  );
const rawCount = (geo: string, type: string, obj = 'COM') =>
  raw.filter((r) => r.GEO === geo && r.GEO_OBJECT === obj && r.FACILITY_TYPE === type).map((r) => Number(r.OBS_VALUE))[0];

describe('BPE per-commune counts (Melodi DS_BPE)', () => {
  test('loads alone; the edition is the TIME_PERIOD of the data; bad rows quarantined, other levels and totals read and left', async () => {
    expect(report.status).toBe('succeeded');
    expect(report.millesime).toBe(String(Math.max(...raw.map((r) => Number(r.TIME_PERIOD)))));
    expect(report.read).toBe(raw.length);
    expect(report.read).toBe(report.loaded + report.rejected);
    const { rows } = await pool().query(`select line::int, reason from quarantine where run_id = $1 order by line`, [report.runId]);
    expect(rows.map((r) => r.reason)).toEqual([
      'column GEO: code 99999 is neither a commune of COG 2024 nor in its history',
      "column OBS_VALUE: not a count: 'x'",
      "column FACILITY_TYPE: not an equipment type: 'XYZ'",
      'duplicate count for 01001 D265 (first at line 2)',
    ]);
    // …each on the line of the raw file it came from (header = line 1).
    expect(rows.map((r) => raw[r.line - 2].GEO)).toEqual(['99999', '35238', '35238', '01001']);
  });

  test('three communes equal their raw lines: 01001, Ajaccio 2A004, and Paris = INSEE COM row with its arrondissements kept', async () => {
    expect(await counts('01001')).toEqual({ D265: rawCount('01001', 'D265'), D307: rawCount('01001', 'D307') });
    expect(await counts('2A004')).toEqual({ D265: rawCount('2A004', 'D265') });
    // Paris: D265 from its COM row; D307 has only an arrondissement row, so the sum of those.
    expect(await counts('75056')).toEqual({ D265: rawCount('75056', 'D265'), D307: rawCount('75101', 'D307', 'ARM') });
    expect(await counts('75101')).toEqual({ D265: rawCount('75101', 'D265', 'ARM'), D307: rawCount('75101', 'D307', 'ARM') });
    // A commune merged since: the counts of its former communes summed; a BV2022 "01034" is no commune.
    expect(await counts('19248')).toEqual({ D265: ['19223', '19230', '19248'].reduce((s, c) => s + rawCount(c, 'D265'), 0) });
    expect(await counts('01034')).toEqual({});
    expect(await counts('97411')).toEqual({}); // an empty value is unknown, not 0
  });

  test('the pack table reads them', async () => {
    const { rows } = await pool().query(pipeline.pack!.tables[0].query, [['75056']]);
    expect(rows.map((r) => [r.type_equipement, r.nombre])).toEqual([
      ['D265', rawCount('75056', 'D265')],
      ['D307', rawCount('75101', 'D307', 'ARM')],
    ]);
  });
});
