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
  } = await pool().query(`select status, error from runs where source = $1 order by id desc limit 1`, [source]);
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
    expect(r.run.error).toMatch(/^populations: nothing to publish: 0 rows \(the published edition \d+ has [\d,]+ communes\) — refused/);
    expect(r.out).toContain(r.run.error);
  });

  test('a 50 MB single line: failed at once, naming the file and line (exit 1)', async () => {
    const r = await load('populations', file('donnees_communes.csv', popLines()[0] + '\r\n' + '1;'.repeat(25 * 1024 * 1024)));
    expect([r.code, r.run.status]).toEqual([1, 'failed']);
    expect(r.run.error).toMatch(/^donnees_communes\.csv, line 2: line longer than 1\.0 MB \(MAX_LINE_BYTES\)/);
  });

  test('BOM, CRLF and LF mixed: every line read, the same edition published (exit 0)', async () => {
    const lines = popLines();
    const half = Math.floor(lines.length / 2);
    const mixed = '\uFEFF' + lines.slice(0, half).join('\r\n') + '\r\n' + lines.slice(half).join('\n') + '\n';
    const r = await load('populations', file('donnees_communes.csv', mixed));
    expect([r.code, r.run.status]).toEqual([0, 'succeeded']);
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
    expect(r.run.error).toMatch(/^contours: département 35: 1 communes instead of [\d,]+ in the published data/);
  });
});
