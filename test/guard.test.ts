import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import { freshDatabase } from './helpers/db';
import { settings } from '../config/settings';
import { pool } from '../src/db/pool';
import { runSource, RunOptions } from '../src/engine/runner';
import { PublicationRefused } from '../src/engine/guard';
import { FormatError } from '../src/engine/errors';

/**
 * The publication guard and bad inputs (issue 13, probe item 1, one test per case): a near-empty
 * or malformed file never replaces a published dataset, and the run says why (`refused` or
 * `failed`); mixed line ends and encodings are read line by line; files covering part of the
 * territory replace only what they cover; invalid geometries are quarantined, never repaired,
 * and the published ones kept; duplicates are counted and reported.
 */
const FIX = path.join(__dirname, 'fixtures');
const POP = path.join(FIX, 'populations');
const MAIN = 'donnees_communes.csv';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'guard-'));
let db: Awaited<ReturnType<typeof freshDatabase>>;
const logs: string[] = [];

beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await db.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A mirror folder holding the populations fixture's main file, edited, and its Mayotte file. */
function popMirror(name: string, main: Buffer | string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, MAIN), main);
  fs.copyFileSync(path.join(POP, 'donnees_communes_mayotte.csv'), path.join(dir, 'donnees_communes_mayotte.csv'));
  return dir;
}
const popLines = () => fs.readFileSync(path.join(POP, MAIN), 'utf8').split('\r\n').filter(Boolean);

const runPop = (mirror: string, opts: RunOptions = {}) =>
  runSource('populations', {
    trigger: 'test',
    force: true,
    log: (m) => logs.push(m),
    settings: { ...settings(), MIRROR_DIR: mirror },
    ...opts,
  });

const populations = async () =>
  (await pool().query(`select code_commune, pmun, pcap, ptot from population_legale where millesime = '2021' order by 1`)).rows;
const lastRun = async (source: string) =>
  (await pool().query(`select id, status, error, rows_read from runs where source = $1 order by id desc limit 1`, [source])).rows[0];
const stagingLeft = async () => (await pool().query(`select tablename from pg_tables where schemaname = 'staging'`)).rows;

describe('populations', () => {
  let published: Record<string, unknown>[];
  beforeAll(async () => {
    expect((await runPop(popMirror('clean', fs.readFileSync(path.join(POP, MAIN))))).status).toBe('succeeded');
    published = await populations();
    expect(published.length).toBeGreaterThan(10);
  });

  test('a header-only file is refused: the published edition is kept and the run says why', async () => {
    // The probe's case: the main file's header only, the Mayotte file beside it (17 rows).
    const err = await runPop(popMirror('header-only', popLines()[0] + '\r\n')).catch((e) => e);
    expect(err).toBeInstanceOf(PublicationRefused);
    expect(err.message).toMatch(
      /^populations : \d communes au lieu de \d+ dans l’édition publiée 2021 \(−\d+,\d %\) \(plus que les 5 % qu’une publication peut perdre\) — refusé, rien n’a été publié ; --allow-shrink pour forcer$/,
    );
    expect(await populations()).toEqual(published);
    expect(await lastRun('populations')).toMatchObject({ status: 'refused', error: err.message });
    expect(await stagingLeft()).toEqual([]);
    // Without the Mayotte file: nothing at all to publish.
    const dir = popMirror('header-only-alone', popLines()[0] + '\r\n');
    fs.rmSync(path.join(dir, 'donnees_communes_mayotte.csv'));
    const alone = await runPop(dir).catch((e) => e);
    expect(alone.message).toMatch(/^populations : rien à publier : 0 ligne \(l’édition publiée 2021 compte \d+ communes\) — refusé/);
    expect(await populations()).toEqual(published);
  });

  test('a file that lost most communes is refused against the published edition; --allow-shrink forces it', async () => {
    const lines = popLines();
    const few = popMirror('few', [lines[0], lines[1], lines[2]].join('\r\n') + '\r\n');
    const err = await runPop(few).catch((e) => e);
    expect(err).toBeInstanceOf(PublicationRefused);
    expect(err.message).toMatch(
      /^populations : \d communes au lieu de \d+ dans l’édition publiée 2021 \(−\d+,\d %\) \(plus que les 5 % qu’une publication peut perdre\) — refusé/,
    );
    expect(await populations()).toEqual(published);
    // Forced: published, and the publication records that it was.
    const forced = await runPop(few, { allowShrink: true });
    expect(forced.status).toBe('succeeded');
    expect((await populations()).length).toBeLessThan(published.length);
    const {
      rows: [pd],
    } = await pool().query(`select details from published_datasets where source = 'populations' and millesime = '2021'`);
    expect(pd.details.forced[0]).toMatch(/communes au lieu de/);
    expect(logs.some((l) => l.startsWith('publication forced (--allow-shrink): populations : '))).toBe(true);
    // Back to the whole edition for the next tests.
    expect((await runPop(popMirror('clean', fs.readFileSync(path.join(POP, MAIN))))).status).toBe('succeeded');
    expect(await populations()).toEqual(published);
  });

  test('the ledger records what each publication left published, and the next publication compares with that record, not a scan', async () => {
    const ledger = async () =>
      (await pool().query(`select measure from published_datasets where source = 'populations' and millesime = '2021'`)).rows[0].measure;
    const m = await ledger();
    // The record is the measure of the table after the publication: rows and communes, by département.
    const { rows: counted } = await pool().query(
      `select count(*)::int as rows, count(distinct code_commune)::int as communes from population_legale where millesime = '2021'`,
    );
    expect(m).toMatchObject({ table: 'population_legale', edition: '2021', rows: counted[0].rows, communes: counted[0].communes });
    expect(Object.values(m.byDep as Record<string, [number, number]>).reduce((a, [r]) => a + r, 0)).toBe(counted[0].rows);
    // Said otherwise by the ledger (ten times the communes), the same clean file is now a loss when the
    // ledger is trusted for a table this size (GUARD_LEDGER_MIN_ROWS 0): the record was used.
    await pool().query(
      `update published_datasets set measure = jsonb_set(measure, '{communes}', to_jsonb((measure->>'communes')::int * 10))
        where source = 'populations' and millesime = '2021'`,
    );
    const clean = popMirror('clean', fs.readFileSync(path.join(POP, MAIN)));
    const err = await runPop(clean, { settings: { ...settings(), MIRROR_DIR: clean, GUARD_LEDGER_MIN_ROWS: 0 } }).catch((e) => e);
    expect(err).toBeInstanceOf(PublicationRefused);
    expect(err.message).toContain(`au lieu de ${(counted[0].communes * 10).toLocaleString('fr-FR')} dans l’édition publiée 2021`);
    // With the default threshold (1,000,000 rows), a table this small is scanned: the clean file goes through.
    expect((await runPop(clean)).status).toBe('succeeded');
    // Without a record (a ledger row older than the record), the table is measured: the clean file goes through.
    await pool().query(`update published_datasets set measure = null where source = 'populations' and millesime = '2021'`);
    expect((await runPop(popMirror('clean', fs.readFileSync(path.join(POP, MAIN))))).status).toBe('succeeded');
    expect(await ledger()).toEqual(m);
    expect(await populations()).toEqual(published);
  });

  test('a single line longer than MAX_LINE_BYTES fails at once naming the file and line; nothing changes', async () => {
    const lines = popLines();
    const long = `${lines[0]}\r\n${lines[1]}\r\n${'9'.repeat(3 * 1024 * 1024)}\r\n`;
    const err = await runPop(popMirror('long-line', long)).catch((e) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect(err.message).toMatch(/^donnees_communes\.csv, line 3: line longer than 1\.0 MB \(MAX_LINE_BYTES\)/);
    expect(await lastRun('populations')).toMatchObject({ status: 'failed', error: err.message });
    expect(await populations()).toEqual(published);
  });

  test('a few lines with BOM, CRLF and LF mixed: each line a row (not one), then refused in French; nothing changes', async () => {
    const [header, ...rows] = popLines();
    const mixed = '\uFEFF' + header + '\r\n' + rows[0] + '\n' + rows[1] + '\r\n' + rows[2] + '\n';
    const err = await runPop(popMirror('few-mixed', mixed)).catch((e) => e);
    expect(err).toBeInstanceOf(PublicationRefused);
    // 3 lines of the main file + the Mayotte file beside it: every line read, none rejected.
    const mayotte = fs.readFileSync(path.join(POP, 'donnees_communes_mayotte.csv'), 'utf8').split(/\r?\n/).filter(Boolean).length - 1;
    const run = (
      await pool().query(
        `select status, rows_read::int, rows_rejected::int from runs where source = 'populations' order by id desc limit 1`,
      )
    ).rows[0];
    expect(run).toEqual({ status: 'refused', rows_read: 3 + mayotte, rows_rejected: 0 });
    expect(err.message).toMatch(
      new RegExp(
        `^populations : ${3 + mayotte} communes au lieu de \\d+ dans l’édition publiée 2021 .* — refusé, rien n’a été publié ; --allow-shrink pour forcer$`,
      ),
    );
    expect(await populations()).toEqual(published);
    expect(await stagingLeft()).toEqual([]);
  });

  test('BOM, CRLF and LF mixed, and a Windows-1252 line, are read line by line: the same edition as the clean file', async () => {
    const lines = popLines();
    const half = Math.ceil(lines.length / 2);
    const withAccent = lines.findIndex((l, i) => i > half && /[àâäçéèêëîïôöùûüÿœæ]/i.test(l));
    const parts: Buffer[] = [Buffer.from('\uFEFF' + lines.slice(0, half).join('\r\n') + '\r\n')];
    for (let i = half; i < lines.length; i++)
      parts.push(i === withAccent ? iconv.encode(lines[i] + '\n', 'win1252') : Buffer.from(lines[i] + '\n', 'utf8'));
    const r = await runPop(popMirror('mixed', Buffer.concat(parts)));
    expect(r.status).toBe('succeeded');
    expect(r.rejected).toBe(0);
    expect(await populations()).toEqual(published);
    if (withAccent > 0)
      expect(logs.some((l) => /1 line\(s\) in Windows-1252 in a UTF-8 file \(first: line \d+\), decoded line by line/.test(l))).toBe(true);
  });

  test('duplicate rows are quarantined, counted and reported, never summed twice', async () => {
    const lines = popLines();
    const dups = lines.slice(1, 4);
    const r = await runPop(popMirror('dups', [...lines, ...dups, dups[0]].join('\r\n') + '\r\n'));
    expect(r.status).toBe('succeeded');
    expect(r.rejected).toBe(4);
    const { rows } = await pool().query(`select line::int, reason from quarantine where run_id = $1 order by line`, [r.runId]);
    expect(rows.map((x) => x.reason)).toEqual([
      expect.stringMatching(/^duplicate of donnees_communes\.csv, line 2 \(same commune code \w+\)$/),
      expect.stringMatching(/^duplicate of donnees_communes\.csv, line 3 \(same commune code \w+\)$/),
      expect.stringMatching(/^duplicate of donnees_communes\.csv, line 4 \(same commune code \w+\)$/),
      expect.stringMatching(/^duplicate of donnees_communes\.csv, line 2 \(same commune code \w+\)$/),
    ]);
    expect(logs).toContain(`4 duplicate row(s) quarantined (the first of each kept; see dotation quarantine ${r.runId})`);
    expect(await populations()).toEqual(published);
  });
});

describe('elections', () => {
  const PRES = path.join(FIX, 'elections', 'resultats-par-niveau-subcom-t1-france-entiere.txt');
  test('a header-only file of a published scrutin fails and leaves its results published', async () => {
    const r = await runSource('elections', { file: PRES, resource: 'presidentielle-2022-t1', trigger: 'test', log: () => undefined });
    expect(r.status).toBe('succeeded');
    const count = async () =>
      (await pool().query(`select count(*)::int as n from election_resultat where election = 'presidentielle-2022'`)).rows[0].n;
    const before = await count();
    expect(before).toBeGreaterThan(0);
    const dir = path.join(tmp, 'elections-empty');
    fs.mkdirSync(dir, { recursive: true });
    const empty = path.join(dir, path.basename(PRES));
    fs.writeFileSync(empty, fs.readFileSync(PRES).subarray(0, fs.readFileSync(PRES).indexOf(0x0a) + 1));
    const err = await runSource('elections', {
      file: empty,
      resource: 'presidentielle-2022-t1',
      force: true,
      trigger: 'test',
      log: () => undefined,
    }).catch((e) => e);
    expect(err.message).toMatch(/rien à publier|no data row/);
    expect(['refused', 'failed']).toContain((await lastRun('elections')).status);
    expect(await count()).toBe(before);
  });
});

describe('contours', () => {
  const C35 = path.join(FIX, 'contours', 'communes-35-ille-et-vilaine.geojson');
  type Feature = { type: 'Feature'; properties: { code: string; nom: string }; geometry: unknown };
  const features = (): Feature[] => JSON.parse(fs.readFileSync(C35, 'utf8')).features;
  const write = (name: string, fs_: Feature[]) => {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, path.basename(C35));
    fs.writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features: fs_ }));
    return file;
  };
  const run = (file: string) =>
    runSource('contours', { file, resource: 'communes', millesime: '2018', force: true, trigger: 'test', log: (m) => logs.push(m) });
  const shapes = async () =>
    (await pool().query(`select code_commune, md5(st_asbinary(geom)) as g from commune_contours where departement = '35' order by 1`)).rows;
  let published: { code_commune: string; g: string }[];

  beforeAll(async () => {
    expect((await run(C35)).status).toBe('succeeded');
    published = await shapes();
    expect(published.length).toBeGreaterThanOrEqual(3);
  });

  test('a file holding Rennes only is refused: it would delete the other contours of the département', async () => {
    const err = await run(
      write(
        'rennes',
        features().filter((f) => f.properties.code === '35238'),
      ),
    ).catch((e) => e);
    expect(err).toBeInstanceOf(PublicationRefused);
    expect(err.message).toMatch(
      new RegExp(`^contours : département 35 : 1 commune au lieu de ${published.length} dans les données publiées \\(−\\d+,\\d %\\)`),
    );
    expect(await shapes()).toEqual(published);
    expect((await lastRun('contours')).status).toBe('refused');
  });

  test('a bowtie and a longitude of 999 are quarantined, not repaired; those communes keep their published contour', async () => {
    const fs_ = features().filter((f) => ['35238', '35051', '35281'].includes(f.properties.code));
    const moved = (f: Feature): Feature => ({
      ...f,
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [-1.7, 48.0],
            [-1.5, 48.0],
            [-1.5, 48.2],
            [-1.7, 48.2],
            [-1.7, 48.0],
          ],
        ],
      },
    });
    const bowtie: Feature = {
      ...fs_[0],
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [-1.75, 48.05],
            [-1.6, 48.15],
            [-1.6, 48.05],
            [-1.75, 48.15],
            [-1.75, 48.05],
          ],
        ],
      },
    };
    const outOfRange: Feature = {
      ...fs_[1],
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [999, 48],
            [999.1, 48],
            [999.1, 48.1],
            [999, 48],
          ],
        ],
      },
    };
    // The whole département again: two communes with a refused geometry, the third with a new shape.
    const file = write('invalid', [
      bowtie,
      outOfRange,
      moved(fs_[2]),
      ...features().filter((f) => !['35238', '35051', '35281'].includes(f.properties.code)),
    ]);
    const r = await run(file);
    expect(r.status).toBe('succeeded');
    const { rows: q } = await pool().query(`select line::int, reason from quarantine where run_id = $1 order by line`, [r.runId]);
    expect(q.find((x) => x.line === 1)!.reason).toMatch(/^feature 1 \(35238\): invalid polygon, not repaired: Self-intersection at POINT/);
    expect(q.find((x) => x.line === 2)!.reason).toBe(
      'feature 2 (35051): coordinates out of range (longitude 999 to 999.1, latitude 48 to 48.1)',
    );
    const after = await shapes();
    const g = (rows: { code_commune: string; g: string }[], c: string) => rows.find((x) => x.code_commune === c)?.g;
    expect(g(after, '35238')).toBe(g(published, '35238'));
    expect(g(after, '35051')).toBe(g(published, '35051'));
    expect(g(after, '35281')).not.toBe(g(published, '35281'));
    expect(after.map((x) => x.code_commune)).toEqual(published.map((x) => x.code_commune));
    expect(
      logs.some((l) =>
        /^2 commune\(s\) keep their published contour, their new feature being refused \(see the quarantine\): 35051, 35238$/.test(l),
      ),
    ).toBe(true);
  });
});
