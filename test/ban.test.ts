import path from 'node:path';
import { PassThrough } from 'node:stream';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { LineChecker, BadLine } from '../pipelines/ban/lines';
import { pipeline as ban } from '../pipelines/ban';

const FIX = path.join(__dirname, 'fixtures', 'ban');
let db: Awaited<ReturnType<typeof freshDatabase>>;
const logs: string[] = [];
const run = (file: string) => runSource('ban', { file: path.join(FIX, file), trigger: 'test', log: (m) => logs.push(m) });
beforeAll(async () => { db = await freshDatabase(); });
afterAll(async () => db.cleanup());

const partitions = async () => (await pool().query(
  `select c.relname, c.oid::int as oid from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'adresses'::regclass order by 1`)).rows;

describe('BAN line checker', () => {
  test('prefixes good lines with their number, diverts wrong field counts and unbalanced quotes', async () => {
    const bad: BadLine[] = [];
    let header: string[] = [];
    const c = new LineChecker(0x3b, (h) => { header = h; return h.length; }, (b) => bad.push(b));
    const out: Buffer[] = [];
    c.on('data', (d: Buffer) => out.push(d));
    const done = new Promise((r) => c.on('end', r));
    const input = '\uFEFFa;b;c\r\n1;"x;y";3\r\n1;2\n"open;2;3\n4;5;6';
    for (let i = 0; i < input.length; i += 3) c.write(Buffer.from(input.slice(i, i + 3)));
    c.end();
    await done;
    expect(header).toEqual(['a', 'b', 'c']);
    expect(Buffer.concat(out).toString()).toBe('2;1;"x;y";3\n5;4;5;6\n');
    expect(bad.map((b) => [b.line, b.reason])).toEqual([[3, 'expected 3 fields, got 2'], [4, 'unbalanced double quote']]);
    void PassThrough;
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
    const { rows } = await pool().query(`select line, nom_voie, code_insee, code_commune, code_insee_ancienne_commune, departement, ST_SRID(geom) as srid, cad_parcelles
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
    const csv = await pool().query(ban.pack!.tables[0].query, [['75056']]);
    expect(csv.rows.map((x) => [x.code_commune, x.code_insee])).toEqual([['75056', '75112'], ['75056', '75101']]);
    expect(Object.keys(csv.rows[0])).toHaveLength(24);
    const { rows: [reu] } = await pool().query(`select departement, x, y, ST_X(geom) as lon, ST_Y(geom) as lat from adresses where code_insee = '97411'`);
    expect(reu).toEqual({ departement: '974', x: '338514.42', y: '7691240.76', lon: 55.448, lat: -20.879 });
    const layer = await pool().query(ban.pack!.layers![0].query, [['97411']]);
    expect(JSON.parse(layer.rows[0].geometry)).toEqual({ type: 'Point', coordinates: [55.448, -20.879] });
  });

  test('reloading one département leaves the others untouched', async () => {
    const before = await partitions();
    const other = (await pool().query(`select departement, count(*)::int as n from adresses where departement <> '35' group by 1 order by 1`)).rows;
    const r = await run('v2/adresses-35.csv.gz');
    expect(r.status).toBe('succeeded');
    expect((await pool().query(`select count(*)::int as n from adresses where departement = '35'`)).rows[0].n).toBe(3);
    const after = await partitions();
    const oid = (ps: typeof before, n: string) => ps.find((p) => p.relname === n)?.oid;
    expect(oid(after, 'adresses_d_75')).toBe(oid(before, 'adresses_d_75'));
    expect(oid(after, 'adresses_d_974')).toBe(oid(before, 'adresses_d_974'));
    expect(oid(after, 'adresses_d_35')).not.toBe(oid(before, 'adresses_d_35'));
    expect((await pool().query(`select departement, count(*)::int as n from adresses where departement <> '35' group by 1 order by 1`)).rows).toEqual(other);
  });

  test('a reload failing before commit keeps the previous addresses published', async () => {
    const published = (await pool().query(`select run_id from adresses_departements where departement = '35'`)).rows[0].run_id;
    process.env.DOTATION_FAIL_AT = 'ban:before-commit';
    try {
      await expect(run('adresses-35.csv.gz')).rejects.toThrow(/injected failure at ban:before-commit/);
    } finally {
      delete process.env.DOTATION_FAIL_AT;
    }
    expect((await pool().query(`select count(*)::int as n from adresses where departement = '35'`)).rows[0].n).toBe(3);
    expect((await pool().query(`select run_id from adresses_departements where departement = '35'`)).rows[0].run_id).toBe(published);
    expect((await pool().query(`select count(*)::int as n from pg_class where relname ~ '^adresses_n[0-9]'`)).rows[0].n).toBe(0);
    expect((await partitions()).map((p) => p.relname)).toEqual(['adresses_d_35', 'adresses_d_75', 'adresses_d_974']);
  });
});
