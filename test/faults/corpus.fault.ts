import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { freshDatabase } from '../helpers/db';
import { pool } from '../../src/db/pool';
import { digest, dotation, faultDatabase, REPO, stagingTables } from './helpers';

/**
 * The bad-input corpus (issue 13, probe item 1 and acceptance), each file loaded as an operator
 * would (`dotation run <source> --inline --file …`, a child process): the run ends `refused` or
 * `failed` with a message saying why, the exit code says so, the published data are unchanged,
 * no staging table is left. Genuine national files from ../shared/data when present (the
 * probe's 34,913 populations), else the repository's fixtures.
 */
const SHARED = path.resolve(REPO, '..', 'shared', 'data');
const realPop = path.join(SHARED, 'population', 'donnees_communes.csv');
const realContours = path.join(SHARED, 'geo', 'communes-35-ille-et-vilaine.geojson');
const POP = fs.existsSync(realPop) ? realPop : path.join(REPO, 'test/fixtures/populations/donnees_communes.csv');
const C35 = fs.existsSync(realContours) ? realContours : path.join(REPO, 'test/fixtures/contours/communes-35-ille-et-vilaine.geojson');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-corpus-'));
let db: Awaited<ReturnType<typeof freshDatabase>>;

beforeAll(async () => {
  db = await faultDatabase();
});
afterAll(async () => {
  await db.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function load(source: string, file: string, extra: string[] = []) {
  const ch = dotation(['run', source, '--inline', '--file', file, '--force', ...extra], db.env);
  const code = await ch.exited;
  const {
    rows: [run],
  } = await pool().query(
    `select status, error, rows_read::int as read, rows_loaded::int as loaded, rows_rejected::int as rejected
       from runs where source = $1 order by id desc limit 1`,
    [source],
  );
  return { code, out: ch.out(), run };
}
const pop = () => digest(pool(), 'population_legale', 'millesime, code_commune');
const contours = () => digest(pool(), '(select code_commune, md5(st_asbinary(geom)) from commune_contours) ', 'code_commune');
const popLines = () => fs.readFileSync(POP, 'utf8').split(/\r\n/).filter(Boolean);
const file = (name: string, data: string | Buffer) => {
  const d = fs.mkdtempSync(path.join(dir, 'f-'));
  fs.writeFileSync(path.join(d, name), data);
  return path.join(d, name);
};

describe('populations', () => {
  let published: { rows: number; md5: string };
  beforeAll(async () => {
    const first = await load('populations', POP);
    expect(first.code).toBe(0);
    published = await pop();
    expect(published.rows).toBeGreaterThan(10);
  });
  afterEach(async () => {
    expect(await pop()).toEqual(published);
    expect(await stagingTables(pool())).toEqual([]);
  });

  test('header only: refused (exit 65)', async () => {
    const r = await load('populations', file('donnees_communes.csv', popLines()[0] + '\r\n'));
    expect([r.code, r.run.status]).toEqual([65, 'refused']);
    expect(r.run.error).toMatch(/^populations : rien à publier : 0 ligne \(l’édition publiée \d+ compte [\d\u202f]+ communes\) — refusé/);
    expect(r.out).toContain(r.run.error);
  });

  test('a 50 MB single line: failed at once, naming the file and line (exit 1)', async () => {
    const r = await load('populations', file('donnees_communes.csv', popLines()[0] + '\r\n' + '1;'.repeat(25 * 1024 * 1024)));
    expect([r.code, r.run.status]).toEqual([1, 'failed']);
    expect(r.run.error).toMatch(/^donnees_communes\.csv, line 2: line longer than 1\.0 MB \(MAX_LINE_BYTES\)/);
  });

  test('a few lines with BOM, CRLF and LF mixed: read line by line, then refused by the guard in French (exit 65)', async () => {
    // The probe's situation: a small file with mixed line ends against a published national
    // edition. Read as one row (the probe's bug), it would give 1 row, or 1 rejected "row".
    const [header, ...rows] = popLines();
    const picked = [rows[0], rows[Math.floor(rows.length / 2)], rows[rows.length - 1]];
    const mixed = '\uFEFF' + header + '\r\n' + picked[0] + '\n' + picked[1] + '\r\n' + picked[2] + '\n';
    const f = file('donnees_communes.csv', mixed);
    const r = await load('populations', f);
    expect([r.code, r.run.status]).toEqual([65, 'refused']);
    // Each line a row, none rejected: the guard counted 3 distinct communes.
    expect([r.run.read, r.run.loaded, r.run.rejected]).toEqual([3, 3, 0]);
    expect(r.run.error).toMatch(
      /^populations : 3 communes au lieu de [\d\u202f]+ dans l’édition publiée \d+ \(−\d+,\d %\) \(plus que les 5 % qu’une publication peut perdre\) — refusé, rien n’a été publié ; --allow-shrink pour forcer$/,
    );
    expect(r.out).toContain(r.run.error);
    expect(await pop()).toEqual(published);
    // The rows as read, cell by cell: forced through the guard, they are the three lines' communes and figures.
    const forced = await load('populations', f, ['--allow-shrink']);
    expect([forced.code, forced.run.status]).toEqual([0, 'succeeded']);
    const col = (line: string) => line.split(';');
    const h = col(header);
    const want = picked
      .map((l) => col(l))
      .map((c) => ({ code_commune: c[h.indexOf('COM')], pmun: Number(c[h.indexOf('PMUN')]), ptot: Number(c[h.indexOf('PTOT')]) }))
      .sort((a, b) => a.code_commune.localeCompare(b.code_commune));
    const { rows: got } = await pool().query(`select code_commune, pmun::int, ptot::int from population_legale order by code_commune`);
    expect(got).toEqual(want);
    // Back to the published national edition (afterEach checks it is the same).
    expect((await load('populations', POP, ['--allow-shrink'])).code).toBe(0);
  });

  test('a whole national file with BOM, CRLF and LF mixed: decoded line by line, every row loaded (exit 0)', async () => {
    const lines = popLines();
    const half = Math.floor(lines.length / 2);
    const mixed = '\uFEFF' + lines.slice(0, half).join('\r\n') + '\r\n' + lines.slice(half).join('\n') + '\n';
    const r = await load('populations', file('donnees_communes.csv', mixed));
    expect([r.code, r.run.status]).toEqual([0, 'succeeded']);
    expect([r.run.read, r.run.loaded, r.run.rejected]).toEqual([lines.length - 1, lines.length - 1, 0]);
  });

  test('a gzip of 4 GB of zeros: failed within the bounds (exit 1), long before its end', async () => {
    const gz = path.join(dir, 'zeros.csv.gz');
    const chunk = Buffer.alloc(1 << 20);
    async function* zeros() {
      for (let i = 0; i < 4096; i++) yield chunk;
    }
    await pipeline(Readable.from(zeros()), zlib.createGzip({ level: 1 }), fs.createWriteStream(gz));
    const r = await load('populations', gz);
    expect([r.code, r.run.status]).toEqual([1, 'failed']);
    expect(r.run.error).toMatch(/^zeros\.csv\.gz, line 1: (line longer than|decompresses at)/);
  });
});

describe('contours', () => {
  let published: { rows: number; md5: string };
  beforeAll(async () => {
    expect((await load('contours', C35, ['--millesime', '2018'])).code).toBe(0);
    published = await contours();
  });
  afterEach(async () => {
    expect(await contours()).toEqual(published);
    expect(await stagingTables(pool())).toEqual([]);
  });

  test('Rennes only: refused, the other contours of 35 kept (exit 65)', async () => {
    const doc = JSON.parse(fs.readFileSync(C35, 'utf8'));
    doc.features = doc.features.filter((f: { properties: { code: string } }) => f.properties.code === '35238');
    const r = await load('contours', file(path.basename(C35), JSON.stringify(doc)), ['--millesime', '2018']);
    expect([r.code, r.run.status]).toEqual([65, 'refused']);
    expect(r.run.error).toMatch(/^contours : département 35 : 1 commune au lieu de [\d\u202f]+ dans les données publiées \(−\d+,\d %\)/);
  });
});
