import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import yazl from 'yazl';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { resetSettings, settings } from '../config/settings';
import { markInterruptedRuns, runSource, RunOptions } from '../src/engine/runner';
import { openText, readSmallText } from '../src/engine/decode';
import { INVALID, parseCount, parseDecimal, readCsv, requireColumns } from '../src/engine/csv';
import { FormatError } from '../src/engine/errors';

/**
 * The load engine: decoding and parsing, then what a run guarantees (populations as the
 * model pipeline, on the synthetic fixtures of test/fixtures/populations): a failed or
 * killed run never touches published rows, leaves no staging behind, and a rerun of the
 * same files is idempotent.
 */
const REPO = path.resolve(__dirname, '..');
const FIXTURES = path.join(__dirname, 'fixtures', 'populations');
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-engine-'));

function run(opts: RunOptions & { mirror?: string } = {}) {
  const { mirror, ...rest } = opts;
  return runSource('populations', {
    trigger: 'test',
    log: () => undefined,
    settings: { ...settings(), MIRROR_DIR: mirror ?? '' },
    ...rest,
  });
}
async function dump() {
  return (await pool().query(`select * from population_legale order by millesime, code_commune`)).rows;
}
async function stagingTables(prefix = 'populations_') {
  const { rows } = await pool().query(
    `select tablename from pg_tables where schemaname = 'staging' and left(tablename, length($1)) = $1 order by 1`,
    [prefix],
  );
  return rows.map((r) => r.tablename as string);
}
async function runRow(id: number) {
  return (await pool().query(`select * from runs where id = $1`, [id])).rows[0];
}
async function withFailAt<T>(step: string, fn: () => Promise<T>): Promise<T> {
  process.env.DOTATION_FAIL_AT = step;
  resetSettings();
  try {
    return await fn();
  } finally {
    delete process.env.DOTATION_FAIL_AT;
    resetSettings();
  }
}
const textOf = async (r: Readable) => {
  let s = '';
  for await (const c of r) s += c.toString();
  return s;
};

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await db.cleanup();
  fs.rmSync(tmpRoot, { recursive: true, force: true });
});

describe('decode and parse', () => {
  test('a zip entry is read by name and labelled archive!entry', async () => {
    const file = path.join(tmpRoot, 'two.zip');
    const zip = new yazl.ZipFile();
    zip.addBuffer(Buffer.from('A;B\r\n1;2\r\n'), 'sub/first.csv');
    zip.addBuffer(Buffer.from('\ufeffX;Y\r\nété;2\r\n'), 'second.csv');
    zip.end();
    await new Promise<void>((resolve, reject) =>
      zip.outputStream.pipe(fs.createWriteStream(file)).on('close', resolve).on('error', reject),
    );
    const o = await openText(file, { entry: 'SECOND.CSV' });
    expect(o.label).toBe('two.zip!second.csv');
    expect(await textOf(o.text)).toBe('X;Y\r\nété;2\r\n'); // BOM stripped
    await expect(openText(file, { entry: 'absent.csv' })).rejects.toThrow(/two\.zip: no entry named 'absent\.csv'/);
  });

  test('a corrupt zip entry fails with a FormatError naming archive!entry', async () => {
    const zip = new yazl.ZipFile();
    zip.addBuffer(Buffer.from('A;B\r\n' + Array.from({ length: 20000 }, (_, i) => `${i};${(i * 7919) % 10007}`).join('\r\n')), 'data.csv');
    zip.end();
    const chunks: Buffer[] = [];
    for await (const c of zip.outputStream) chunks.push(c as Buffer);
    const buf = Buffer.concat(chunks);
    for (let i = 1000; i < 1100; i++) buf[i] ^= 0xff; // inside the deflated data; the central directory stays intact
    const file = path.join(tmpRoot, 'corrupt.zip');
    fs.writeFileSync(file, buf);
    const o = await openText(file, { entry: 'data.csv' });
    const csv = await readCsv(o.text, o.label, { delimiter: ';' }).catch((e: Error) => e);
    const err =
      csv instanceof Error
        ? csv
        : await (async () => {
            for await (const _ of csv.rows) void _;
          })().then(
            () => undefined,
            (e: Error) => e,
          );
    expect(err).toBeInstanceOf(FormatError);
    expect(err!.message).toMatch(/^corrupt\.zip!data\.csv: truncated or corrupt archive entry/);
  });

  test('Windows-1252 is detected and decoded; UTF-8 stays UTF-8', async () => {
    const latin = path.join(tmpRoot, 'latin.txt');
    fs.writeFileSync(latin, Buffer.from([0x52, 0xe9, 0x67, 0x69, 0x6f, 0x6e, 0x0a])); // "Région" in cp1252
    expect(await readSmallText(latin)).toBe('Région\n');
    const utf = path.join(tmpRoot, 'utf.txt');
    fs.writeFileSync(utf, 'Région\n');
    expect(await readSmallText(utf)).toBe('Région\n');
  });

  test('a truncated gzip fails with a FormatError naming the file', async () => {
    const gz = zlib.gzipSync(Buffer.from('A;B\n' + '1;2\n'.repeat(5000)));
    const file = path.join(tmpRoot, 'cut.csv.gz');
    fs.writeFileSync(file, gz.subarray(0, Math.floor(gz.length / 2)));
    const o = await openText(file);
    const err = await textOf(o.text).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(FormatError);
    expect(err!.message).toMatch(/^cut\.csv\.gz: truncated or corrupt gzip/);
  });

  test('rows carry their physical line number (CRLF, empty lines skipped) and keep their width', async () => {
    const csv = await readCsv(Readable.from([Buffer.from('A;B;C\r\n1;2;3\r\n\r\n4;5\r\n6;7;8\r\n')]), 'f.csv', { delimiter: ';' });
    expect(csv.header).toEqual(['A', 'B', 'C']);
    const rows = [];
    for await (const r of csv.rows) rows.push(r);
    expect(rows).toEqual([
      { values: ['1', '2', '3'], line: 2 },
      { values: ['4', '5'], line: 4 },
      { values: ['6', '7', '8'], line: 5 },
    ]);
  });

  test('requireColumns names every missing column, the file and line 1', () => {
    expect(requireColumns('f.csv', ['DEP', ' codcom '], ['DEP', 'CODCOM'])).toEqual({ DEP: 0, CODCOM: 1 });
    let err: FormatError | undefined;
    try {
      requireColumns('f.csv', ['DEP', 'PMUN'], ['DEP', 'PCAP', 'PTOT']);
    } catch (e) {
      err = e as FormatError;
    }
    expect(err).toBeInstanceOf(FormatError);
    expect(err!.message).toMatch(/^f\.csv, line 1, column PCAP, PTOT: missing columns PCAP, PTOT/);
  });

  test('counts and decimals: empty is NULL, never 0; garbage is INVALID', () => {
    expect(parseCount('')).toBeNull();
    expect(parseCount(' 1 234 ')).toBe(1234);
    expect(parseCount('12.5')).toBe(INVALID);
    expect(parseCount('s')).toBe(INVALID);
    expect(parseDecimal('52,00%')).toBe(52);
    expect(parseDecimal('1 234,5')).toBe(1234.5);
    expect(parseDecimal('')).toBeNull();
    expect(parseDecimal('nd')).toBe(INVALID);
  });
});

describe('a failed run never touches published rows', () => {
  let published: unknown[];
  beforeAll(async () => {
    const r = await run({ mirror: FIXTURES, force: true });
    expect(r.status).toBe('succeeded');
    published = await dump();
    expect(published.length).toBeGreaterThan(0);
  });

  test.each(['populations:after-staging', 'populations:before-commit'])('injected failure at %s', async (step) => {
    const {
      rows: [{ n: published0 }],
    } = await pool().query(`select count(*)::int as n from published_datasets`);
    const {
      rows: [pd0],
    } = await pool().query(`select run_id, published_at from published_datasets where source = 'populations'`);
    const err = await withFailAt(step, () => run({ mirror: FIXTURES, force: true })).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(new RegExp(`injected failure at ${step}`));
    expect(await dump()).toEqual(published);
    const {
      rows: [last],
    } = await pool().query(`select * from runs where source = 'populations' order by id desc limit 1`);
    expect(last.status).toBe('failed');
    expect(last.error).toBe(err!.message);
    expect(last.finished_at).not.toBeNull();
    const {
      rows: [pd1],
    } = await pool().query(`select run_id, published_at from published_datasets where source = 'populations'`);
    expect(pd1).toEqual(pd0);
    expect((await pool().query(`select count(*)::int as n from published_datasets`)).rows[0].n).toBe(published0);
    expect(await stagingTables()).toEqual([]);
  });

  test('a killed process leaves published rows intact; the run is marked interrupted and its staging dropped', async () => {
    // A large file in the upstream format, so the kill lands during the load.
    const dir = path.join(tmpRoot, 'big');
    fs.mkdirSync(dir, { recursive: true });
    const big = path.join(dir, 'donnees_communes.csv');
    const out = fs.createWriteStream(big);
    out.write('REG;Région;DEP;CODARR;CODCAN;CODCOM;COM;Commune;PMUN;PCAP;PTOT\r\n');
    const deps = ['01', '02', '03', '35', '69'];
    let chunk = '';
    for (let i = 0; i < 300_000; i++) {
      const dep = deps[i % deps.length];
      const com = String((i % 999) + 1).padStart(3, '0');
      chunk += `84;Région test;${dep};1;01;${com};${dep}${com};Commune ${i};${i % 5000};${i % 50};${(i % 5000) + (i % 50)}\r\n`;
      if (chunk.length > 1 << 20) {
        out.write(chunk);
        chunk = '';
      }
    }
    out.end(chunk);
    await new Promise<void>((r) => out.on('close', () => r()));

    const {
      rows: [{ m: lastId }],
    } = await pool().query(`select coalesce(max(id), 0)::int as m from runs`);
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: db.url, MIRROR_DIR: '', NETWORK: 'never', LOG_LEVEL: 'silent' };
    delete env.DOTATION_FAIL_AT;
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', 'src/cli.ts', 'run', 'populations', '--inline', '--file', big, '--force'], {
      cwd: REPO,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let stderr = '';
    child.stderr!.on('data', (d) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let childDone = false;
    void exited.then(() => {
      childDone = true;
    });

    // Wait until the run is 'running' and its rows are streaming into staging (COPY active), then SIGKILL.
    let runId: number | undefined;
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && !childDone) {
      const { rows } = await pool().query(
        `select r.id, r.status, (r.progress->>'read')::int as read,
                exists (select 1 from pg_stat_activity a where a.datname = current_database() and a.state = 'active' and a.query ilike 'COPY staging.%') as copying
           from runs r where r.source = 'populations' and r.id > $1 order by r.id desc limit 1`,
        [lastId],
      );
      if (rows[0]?.status === 'running' && (rows[0].copying || rows[0].read > 0)) {
        runId = Number(rows[0].id);
        break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    if (!runId) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      throw new Error(`the child run never reached the load (exited: ${childDone}); stderr: ${stderr}`);
    }
    process.kill(-child.pid!, 'SIGKILL');
    await exited;

    const killed = await runRow(runId);
    expect(killed.status).toBe('running'); // nothing recorded the end: the process died mid-load
    expect(await dump()).toEqual(published);
    expect((await stagingTables(`populations_${runId}_`)).length).toBeGreaterThan(0); // left by the dead process

    // Known dead at once (its lease, a session lock, went with the process): no stale heartbeat to wait for.
    expect(await markInterruptedRuns()).toBeGreaterThanOrEqual(1);
    const marked = await runRow(runId);
    expect(marked.status).toBe('interrupted');
    expect(marked.finished_at).not.toBeNull();
    expect(marked.error).toMatch(/lease released/);
    expect(await stagingTables(`populations_${runId}_`)).toEqual([]);
    expect(await dump()).toEqual(published);

    // The next run succeeds and leaves no staging table behind.
    const next = await run({ mirror: FIXTURES, force: true });
    expect(next.status).toBe('succeeded');
    expect(await stagingTables()).toEqual([]);
    expect(await dump()).toEqual(published);
  }, 120_000);
});

describe('idempotence', () => {
  test('the same files loaded twice with force give identical tables; without force the run is unchanged', async () => {
    const first = await run({ mirror: FIXTURES, force: true });
    expect(first.status).toBe('succeeded');
    const a = await dump();
    const pdA = (await pool().query(`select rows, sha256 from published_datasets where source = 'populations'`)).rows;
    const second = await run({ mirror: FIXTURES, force: true });
    expect(second.status).toBe('succeeded');
    expect(second.published).toBe(first.published);
    expect(await dump()).toEqual(a);
    expect((await pool().query(`select rows, sha256 from published_datasets where source = 'populations'`)).rows).toEqual(pdA);

    const third = await run({ mirror: FIXTURES });
    expect(third.status).toBe('unchanged');
    expect(third.read).toBe(0);
    expect((await runRow(third.runId)).status).toBe('unchanged');
    expect(await dump()).toEqual(a);
    const {
      rows: [pd],
    } = await pool().query(`select run_id from published_datasets where source = 'populations'`);
    expect(Number(pd.run_id)).toBe(second.runId);

    // A changed file is not 'unchanged'.
    const dir = path.join(tmpRoot, 'changed');
    fs.mkdirSync(dir, { recursive: true });
    for (const f of fs.readdirSync(FIXTURES, { withFileTypes: true }))
      if (f.isFile()) fs.copyFileSync(path.join(FIXTURES, f.name), path.join(dir, f.name));
    fs.appendFileSync(path.join(dir, 'donnees_communes_mayotte.csv'), '06;;976;;;604;;1000;10;1010\n');
    const fourth = await run({ mirror: dir });
    expect(fourth.status).toBe('succeeded');
    expect((await dump()).length).toBe(a.length + 1);
  });
});
