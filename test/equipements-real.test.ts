import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { unzip } from './helpers/zip';
import { readMelodi } from './helpers/melodi';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';

/**
 * The Melodi per-commune BPE counts (`DS_BPE_2024_data.csv`) against the only genuine lines found: the
 * header and first five lines of the file as quoted by a third party (fixtures/equipements/real/PROVENANCE.md).
 * They hold no commune (DEP rows), so they check the layout: the synthetic fixture the other tests load
 * must have the same header bytes and quote the same fields, and the reader must read these lines and keep none.
 */
const FIX = path.join(__dirname, 'fixtures', 'equipements');
const HEAD = path.join(FIX, 'real', 'DS_BPE_2024_data-head-quoted.csv');
const genuine = fs.readFileSync(HEAD, 'utf8').split('\n').filter(Boolean);

/** Which fields of a line are in double quotes (the files hold no ';' inside quotes). */
const quoting = (line: string) => line.split(';').map((f) => /^".*"$/.test(f));

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

describe('DS_BPE: the synthetic fixture follows the genuine lines', () => {
  test('same header bytes; every data line quotes the same fields as the genuine ones (text dimensions, not TIME_PERIOD/OBS_VALUE)', async () => {
    const synthetic = (await unzip(path.join(FIX, 'DS_BPE_2024_CSV_FR-synthetic.zip')))
      .get('DS_BPE_2024_data.csv')!
      .toString('utf8')
      .split('\n')
      .filter(Boolean);
    expect(synthetic[0]).toBe(genuine[0]);
    const signatures = new Set(genuine.slice(1).map((l) => JSON.stringify(quoting(l))));
    expect(signatures.size).toBe(1);
    const [signature] = signatures;
    expect(JSON.parse(signature)).toEqual([true, true, true, true, true, true, false, false]);
    expect(synthetic.slice(1).filter((l) => JSON.stringify(quoting(l)) !== signature)).toEqual([]);
  });

  test('the reader reads the genuine lines by name and keeps none: they are DEP rows, not communes', async () => {
    const raw = readMelodi(genuine.join('\n'));
    expect(raw.map((r) => r.GEO_OBJECT)).toEqual(['DEP', 'DEP', 'DEP', 'DEP', 'DEP']);
    // Nothing of a commune in them: the run reads every line, rejects none, stages no count, and refuses to publish an empty table.
    await expect(
      runSource('equipements', { file: HEAD, resource: 'bpe-communes', trigger: 'test', force: true, log: () => undefined }),
    ).rejects.toThrow(/rien à publier : 0 ligne/);
    const { rows } = await pool().query(
      `select status, millesime, rows_read::int as read, rows_loaded::int as loaded, rows_rejected::int as rejected
         from runs where source = 'equipements' order by id desc limit 1`,
    );
    // Lines read and left (other levels) count as loaded: read = loaded + rejected.
    expect(rows[0]).toEqual({ status: 'refused', millesime: raw[0].TIME_PERIOD, read: raw.length, loaded: raw.length, rejected: 0 });
    const published = await pool().query(`select count(*)::int as n from equipement_compte`);
    expect(published.rows[0].n).toBe(0);
  });
});
