import path from 'node:path';
import { PassThrough } from 'node:stream';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { resetSettings } from '../config/settings';
import { runSource } from '../src/engine/runner';
import fs from 'node:fs';
import os from 'node:os';
import zlib from 'node:zlib';
import { LineChecker, BadLine, BanSplitter } from '../pipelines/ban/lines';
import { pipeline as ban } from '../pipelines/ban';
import { perCommuneSql } from '../src/packs/section';

const FIX = path.join(__dirname, 'fixtures', 'ban');
/** The test copies carry no date (nor does the BAN): each run states the edition, as an operator would with --millesime. */
const BAN_DAY = '2024-06-01';
let db: Awaited<ReturnType<typeof freshDatabase>>;
const logs: string[] = [];
// Fixtures of a few addresses: a reload with fewer is what these tests do on purpose (the
// publication guard, which would refuse it, has its own tests: test/guard.test.ts).
const run = (file: string) =>
  runSource('ban', { file: path.join(FIX, file), millesime: BAN_DAY, trigger: 'test', log: (m) => logs.push(m), allowShrink: true });
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

const partitions = async () =>
  (
    await pool().query(
      `select c.relname, c.oid::int as oid from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'adresses'::regclass order by 1`,
    )
  ).rows;

describe('BAN line checker', () => {
  test('prefixes good lines with their number, diverts wrong field counts and unbalanced quotes', async () => {
    const bad: BadLine[] = [];
    let header: string[] = [];
    const c = new LineChecker(
      0x3b,
      (h) => {
        header = h;
        return h.length;
      },
      (b) => bad.push(b),
    );
    const out: Buffer[] = [];
    c.on('data', (d: Buffer) => out.push(d));
    const done = new Promise((r) => c.on('end', r));
    const input = '\uFEFFa;b;c\r\n1;"x;y";3\r\n1;2\n"open;2;3\n4;5;6';
    for (let i = 0; i < input.length; i += 3) c.write(Buffer.from(input.slice(i, i + 3)));
    c.end();
    await done;
    expect(header).toEqual(['a', 'b', 'c']);
    expect(Buffer.concat(out).toString()).toBe('2;1;"x;y";3\n5;4;5;6\n');
    expect(bad.map((b) => [b.line, b.reason])).toEqual([
      [3, 'expected 3 fields, got 2'],
      [4, 'unbalanced double quote'],
    ]);
    void PassThrough;
  });
});

describe('BAN splitter (one Node pass)', () => {
  const header = ['id', 'code_insee', 'lon', 'lat', 'nom'];
  const codes = new Map([
    ['35238', '35238'],
    ['75112', '75056'],
    ['97411', '97411'],
    ['2A004', '2A004'],
  ]);
  const split = (input: string, expectedDep: string | null = null, step = 7) => {
    const bad: BadLine[] = [];
    const s = new BanSplitter({
      delimiter: 0x3b,
      header,
      lookup: (c) => codes.get(c),
      expectedDep,
      onBad: (b) => bad.push(b),
      chunkBytes: 64,
    });
    const out: { dep: string; buf: Buffer }[] = [];
    for (let i = 0; i < input.length; i += step) out.push(...s.scan(Buffer.from(input.slice(i, i + step))));
    out.push(...s.end());
    const byDep: Record<string, string> = {};
    for (const o of out) byDep[o.dep] = (byDep[o.dep] ?? '') + o.buf.toString();
    return { s, bad, byDep };
  };

  test('validates code_insee, lon/lat and field count; prefixes line, département, current commune', () => {
    const { s, bad, byDep } = split(
      [
        'a;35238;-1.6;48.1;x', // 2 good
        'b;75112;2.38;48.84;"Rue; cour"', // 3 good: arrondissement → 75056, quoted ;
        'c;99999;1;2;x', // 4 unknown commune
        'd;;1;2;x', // 5 empty code
        'e;35238;abc;48;x', // 6 not a number
        'f;35238;200;48;x', // 7 out of range
        'g;35238;0;0;x', // 8 null island
        'h;35238;1;2', // 9 field count
        'i;"97411";55.448;-20.879;x\r', // 10 good, quoted code, CRLF
        'j;2A004;8.7;41.9;"open', // 11 unbalanced quote
        'k;2A004;8.7;41.9;x', // 12 good, Corsica
        'l;3523;1;2;x', // 13 malformed code
      ].join('\n'),
    );
    expect(bad.map((b) => [b.line, b.reason])).toEqual([
      [4, "column code_insee: '99999' is not a current commune or arrondissement"],
      [5, 'column code_insee: empty'],
      [6, "columns lon/lat: not a number ('abc', '48')"],
      [7, 'columns lon/lat: out of range (200, 48)'],
      [8, 'columns lon/lat: out of range (0, 0)'],
      [9, 'expected 5 fields, got 4'],
      [11, 'unbalanced double quote'],
      [13, "column code_insee: '3523' is not a current commune or arrondissement"],
    ]);
    expect([s.good, s.bad, s.lines]).toEqual([4, 8, 13]);
    expect(byDep).toEqual({
      35: '2;35;35238;a;35238;-1.6;48.1;x\n',
      75: '3;75;75056;b;75112;2.38;48.84;"Rue; cour"\n',
      974: '10;974;97411;i;"97411";55.448;-20.879;x\n',
      '2A': '12;2A;2A004;k;2A004;8.7;41.9;x\n',
    });
    expect(Object.fromEntries(s.counts)).toEqual({ 35: 1, 75: 1, 974: 1, '2A': 1 });
  });

  test('a line that is not valid UTF-8 or holds a NUL byte is diverted; UTF-8 cut across chunks is not', () => {
    const bad: BadLine[] = [];
    const s = new BanSplitter({
      delimiter: 0x3b,
      header,
      lookup: (c) => codes.get(c),
      expectedDep: null,
      onBad: (b) => bad.push(b),
      chunkBytes: 64,
    });
    const input = Buffer.concat([
      Buffer.from('a;35238;-1.6;48.1;Allée des Chênes\n'), // 2 good (2-byte sequences, cut by the 5-byte chunks below)
      Buffer.from('b;35238;-1.6;48.1;Libert'),
      Buffer.from([0xe9]),
      Buffer.from('\n'), // 3 Latin-1 é
      Buffer.from('c;35238;-1.6;48.1;€ ok\n'), // 4 good (3-byte sequence)
      Buffer.from('d;35238;-1.6;48.1;x'),
      Buffer.from([0x00]),
      Buffer.from('\n'), // 5 NUL
      Buffer.from('e;35238;-1.6;48.1;'),
      Buffer.from([0xe2, 0x82]),
      Buffer.from(';\n'), // 6 truncated sequence (also 6 fields)
      Buffer.from('f;35238;-1.6;48.1;'),
      Buffer.from([0xc3]), // 7 truncated at the end of the file
    ]);
    const out: Buffer[] = [];
    for (let i = 0; i < input.length; i += 5) out.push(...s.scan(input.subarray(i, i + 5)).map((o) => o.buf));
    out.push(...s.end().map((o) => o.buf));
    expect(bad.map((b) => [b.line, b.reason])).toEqual([
      [
        3,
        'invalid UTF-8: byte 0xE9 at byte 25 of the line does not start a valid sequence (the file must be UTF-8; a Latin-1 or Windows-1252 character?)',
      ],
      [5, 'NUL byte (0x00) at byte 20 of the line: not allowed in text'],
      [
        6,
        'invalid UTF-8: byte 0xE2 at byte 19 of the line does not start a valid sequence (the file must be UTF-8; a Latin-1 or Windows-1252 character?)',
      ],
      [
        7,
        'invalid UTF-8: byte 0xC3 at byte 19 of the line does not start a valid sequence (the file must be UTF-8; a Latin-1 or Windows-1252 character?)',
      ],
    ]);
    expect(bad[0].raw).toBe('b;35238;-1.6;48.1;Libert\uFFFD');
    expect(bad[1].raw).toBe('d;35238;-1.6;48.1;x\uFFFD');
    expect(Buffer.concat(out).toString()).toBe('2;35;35238;a;35238;-1.6;48.1;Allée des Chênes\n4;35;35238;c;35238;-1.6;48.1;€ ok\n');
    expect([s.good, s.bad]).toEqual([2, 4]);
  });

  test('département file: a commune of another département is rejected; unsorted input keeps every line', () => {
    const lines = Array.from({ length: 50 }, (_, i) => (i % 2 ? `x${i};35238;-1.6;48.1;n` : `y${i};75112;2.3;48.8;n`));
    const { s, bad, byDep } = split(lines.join('\n') + '\n', '35', 13);
    expect(s.good).toBe(25);
    expect(bad).toHaveLength(25);
    expect(bad[0]).toMatchObject({ line: 2, reason: 'column code_insee: 75112 is not in département 35 of the file' });
    expect(
      byDep['35']
        .split('\n')
        .filter(Boolean)
        .map((l) => Number(l.split(';')[0])),
    ).toEqual(Array.from({ length: 25 }, (_, i) => 3 + 2 * i));
  });
});

describe('ban pipeline', () => {
  test('loads a département file: quoted ;, commune déléguée, quarantine with line numbers', async () => {
    const r = await run('adresses-35.csv.gz');
    expect(r.status).toBe('succeeded');
    expect([r.read, r.loaded, r.rejected, r.published]).toEqual([8, 5, 3, 5]);
    const { rows: q } = await pool().query(`select line, reason from quarantine where run_id = $1 order by line`, [r.runId]);
    expect(q.map((x) => x.line)).toEqual([7, 8, 9]);
    expect(q[0].reason).toBe('expected 23 fields, got 15');
    expect(q[1].reason).toMatch(/code_insee: '99999' is not a current commune/);
    expect(q[2].reason).toMatch(/lon\/lat: not a number \('abc'/);
    const { rows } = await pool()
      .query(`select line, nom_voie, code_insee, code_commune, code_insee_ancienne_commune, departement, ST_SRID(geom) as srid, cad_parcelles
                                           from adresses where departement = '35' order by line`);
    expect(rows.map((x) => x.line)).toEqual(['2', '3', '4', '5', '6'].map(Number));
    expect(rows[1].nom_voie).toBe('Rue du Ty Guen; côté cour');
    expect(rows[2].cad_parcelles).toBe('352380000CD0001|352380000CD0002');
    expect(rows[4]).toMatchObject({ code_insee: '35062', code_commune: '35062', code_insee_ancienne_commune: '35112', srid: 4326 });
    expect((await partitions()).map((p) => p.relname)).toEqual(['adresses_d_35']);
  });

  test('Paris arrondissements roll up to 75056 in the pack; 974 x/y kept, point from lon/lat', async () => {
    expect((await run('adresses-75.csv.gz')).status).toBe('succeeded');
    expect((await run('adresses-974.csv.gz')).status).toBe('succeeded');
    // Per-commune pack queries: `$code` is the commune's code as a literal (src/packs/build.ts).
    const ofCommune = (sql: string, code: string) => pool().query(perCommuneSql(sql, code));
    expect(ban.pack!.tables[0].perCommune).toBe(true);
    const csv = await ofCommune(ban.pack!.tables[0].query, '75056');
    expect(csv.rows.map((x) => x.code_insee)).toEqual(['75112', '75101']);
    expect(Object.keys(csv.rows[0])).toHaveLength(23);
    expect((await ofCommune(ban.pack!.tables[0].query, '75112')).rows.map((x) => x.code_insee)).toEqual(['75112']);
    const {
      rows: [reu],
    } = await pool().query(`select departement, x, y, ST_X(geom) as lon, ST_Y(geom) as lat from adresses where code_insee = '97411'`);
    expect(reu).toEqual({ departement: '974', x: '338514.42', y: '7691240.76', lon: 55.448, lat: -20.879 });
    const layer = await ofCommune(ban.pack!.layers![0].query, '97411');
    expect(JSON.parse(Object.values(layer.rows[0])[0] as string).geometry).toEqual({ type: 'Point', coordinates: [55.448, -20.879] });
  });

  test('reloading one département leaves the others untouched', async () => {
    const before = await partitions();
    const other = (
      await pool().query(`select departement, count(*)::int as n from adresses where departement <> '35' group by 1 order by 1`)
    ).rows;
    const r = await run('v2/adresses-35.csv.gz');
    expect(r.status).toBe('succeeded');
    expect((await pool().query(`select count(*)::int as n from adresses where departement = '35'`)).rows[0].n).toBe(3);
    const after = await partitions();
    const oid = (ps: typeof before, n: string) => ps.find((p) => p.relname === n)?.oid;
    expect(oid(after, 'adresses_d_75')).toBe(oid(before, 'adresses_d_75'));
    expect(oid(after, 'adresses_d_974')).toBe(oid(before, 'adresses_d_974'));
    expect(oid(after, 'adresses_d_35')).not.toBe(oid(before, 'adresses_d_35'));
    expect(
      (await pool().query(`select departement, count(*)::int as n from adresses where departement <> '35' group by 1 order by 1`)).rows,
    ).toEqual(other);
  });

  test('a reload failing before commit keeps the previous addresses published', async () => {
    const published = (await pool().query(`select run_id from adresses_departements where departement = '35'`)).rows[0].run_id;
    process.env.DOTATION_FAIL_AT = 'ban:before-commit';
    resetSettings();
    try {
      await expect(run('adresses-35.csv.gz')).rejects.toThrow(/injected failure at ban:before-commit/);
    } finally {
      delete process.env.DOTATION_FAIL_AT;
      resetSettings();
    }
    expect((await pool().query(`select count(*)::int as n from adresses where departement = '35'`)).rows[0].n).toBe(3);
    expect((await pool().query(`select run_id from adresses_departements where departement = '35'`)).rows[0].run_id).toBe(published);
    expect((await pool().query(`select count(*)::int as n from pg_class where relname ~ '^adresses_n[0-9]'`)).rows[0].n).toBe(0);
    expect((await partitions()).map((p) => p.relname)).toEqual(['adresses_d_35', 'adresses_d_75', 'adresses_d_974']);
  });

  test('a file of several départements, unsorted, with an unknown column: one new partition each, nothing left behind', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ban-'));
    const src = zlib
      .gunzipSync(fs.readFileSync(path.join(FIX, 'adresses-35.csv.gz')))
      .toString()
      .split('\n')
      .filter(Boolean);
    const head = src[0] + ';colonne_inconnue';
    const row = (id: string, code: string, lon: string, lat: string) =>
      `${id};;1;;Rue;00000;${code};Nom;;;1;2;${lon};${lat};entrée;;;NOM;RUE;commune;commune;1;;extra`;
    const body = [
      row('a', '35238', '-1.6', '48.1'),
      row('b', '75101', '2.34', '48.86'),
      row('c', '35051', '-1.59', '48.11'),
      row('d', '97411', '55.4', '-20.9'),
      row('e', '75112', '2.39', '48.84'),
    ];
    const file = path.join(dir, 'adresses-france.csv.gz');
    fs.writeFileSync(file, zlib.gzipSync([head, ...body].join('\n') + '\n'));
    try {
      const r = await runSource('ban', { file, millesime: BAN_DAY, trigger: 'test', log: (m) => logs.push(m), allowShrink: true });
      expect(r.status).toBe('succeeded');
      expect([r.read, r.loaded, r.rejected, r.published]).toEqual([5, 5, 0, 5]);
      const { rows } = await pool().query(
        `select departement, id, line::int as line, code_commune, ST_AsText(geom) as g from adresses where id = any($1::text[]) order by line`,
        [['a', 'b', 'c', 'd', 'e']],
      );
      expect(rows.map((x) => [x.departement, x.id, x.line, x.code_commune])).toEqual([
        ['35', 'a', 2, '35238'],
        ['75', 'b', 3, '75056'],
        ['35', 'c', 4, '35051'],
        ['974', 'd', 5, '97411'],
        ['75', 'e', 6, '75056'],
      ]);
      expect(rows[0].g).toBe('POINT(-1.6 48.1)');
      expect((await partitions()).map((p) => p.relname)).toEqual(['adresses_d_35', 'adresses_d_75', 'adresses_d_974']);
      expect((await pool().query(`select count(*)::int as n from pg_class where relname ~ '^adresses_n[0-9]'`)).rows[0].n).toBe(0);
      // The attached partitions have the partitioned table's layout: a plain geometry, no leftover column, the CHECK of their bound.
      const { rows: cols } = await pool().query(
        `select count(*) filter (where attgenerated <> '')::int as generated, count(*) filter (where attisdropped)::int as dropped
           from pg_attribute where attrelid = 'adresses_d_35'::regclass and attnum > 0`,
      );
      expect(cols[0]).toEqual({ generated: 0, dropped: 1 });
      const {
        rows: [chk],
      } = await pool().query(
        `select pg_get_constraintdef(oid) as def from pg_constraint where conrelid = 'adresses_d_35'::regclass and contype = 'c'`,
      );
      expect(chk.def).toMatch(/departement = '35'/);
      expect((await pool().query(`select rows::int from adresses_departements where departement = '974'`)).rows[0].rows).toBe(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a truncated gzip fails the run and publishes nothing', async () => {
    const before = (await pool().query(`select run_id from adresses_departements order by 1`)).rows;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ban-'));
    const full = fs.readFileSync(path.join(FIX, 'adresses-35.csv.gz'));
    const file = path.join(dir, 'adresses-35.csv.gz');
    fs.writeFileSync(file, full.subarray(0, full.length - 20));
    try {
      await expect(runSource('ban', { file, millesime: BAN_DAY, trigger: 'test', log: (m) => logs.push(m) })).rejects.toThrow(
        /truncated or corrupt gzip/,
      );
      expect((await pool().query(`select run_id from adresses_departements order by 1`)).rows).toEqual(before);
      expect((await pool().query(`select count(*)::int as n from pg_class where relname ~ '^adresses_n[0-9]'`)).rows[0].n).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a line that is not UTF-8 (Latin-1 é) or holds a NUL byte is quarantined with its line number; the others are published', async () => {
    const r = await run('latin1/adresses-35.csv.gz');
    expect(r.status).toBe('succeeded');
    expect([r.read, r.loaded, r.rejected, r.published]).toEqual([5, 3, 2, 3]);
    const { rows: q } = await pool().query(`select file, line::int as line, raw, reason from quarantine where run_id = $1 order by line`, [
      r.runId,
    ]);
    expect(q.map((x) => [x.file, x.line, x.reason])).toEqual([
      [
        'adresses-35.csv.gz',
        3,
        'invalid UTF-8: byte 0xE9 at byte 38 of the line does not start a valid sequence (the file must be UTF-8; a Latin-1 or Windows-1252 character?)',
      ],
      ['adresses-35.csv.gz', 5, 'NUL byte (0x00) at byte 32 of the line: not allowed in text'],
    ]);
    expect(q[0].raw).toMatch(/^35238_2222_00002;;2;;Rue de la Libert\uFFFD;35000;/);
    const { rows } = await pool().query(`select line::int as line, id, nom_voie from adresses where departement = '35' order by line`);
    expect(rows).toEqual([
      { line: 2, id: '35238_1234_00001', nom_voie: 'Rue de la Monnaie' },
      { line: 4, id: '35238_3333_00004', nom_voie: 'Allée des Chênes' },
      { line: 6, id: '35238_5555_00008', nom_voie: 'Place Sainte-Anne' },
    ]);
  });
});

describe('the BAN edition is stated, never taken from a file date', () => {
  test('a copied file without --millesime is refused: the BAN carries no date and a local date says nothing', async () => {
    const file = path.join(FIX, 'adresses-35.csv.gz');
    const err = await runSource('ban', { file, trigger: 'test', force: true, log: () => undefined }).catch((e) => e);
    expect(err.message).toBe(
      "adresses-35.csv.gz: the BAN's edition is the day it was published, which a copied file does not state (the file has no date, and no HTTP Last-Modified came with it): give it with --millesime YYYY-MM-DD",
    );
    const { rows } = await pool().query(`select status, millesime from runs where source = 'ban' order by id desc limit 1`);
    expect(rows[0]).toEqual({ status: 'failed', millesime: null });
  });
});
