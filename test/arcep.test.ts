import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { resetSettings } from '../config/settings';
import { quarterOf } from '../pipelines/arcep/source';
import { pack } from '../pipelines/arcep/pack';

const FIX = path.join(__dirname, 'fixtures', 'arcep');
const METRO = path.join(FIX, '2024_T3_sites_Metropole.csv');
const quiet = { trigger: 'test' as const, log: () => undefined };

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

async function sites(code: string, op?: string): Promise<Record<string, number>> {
  const { rows } = await pool().query(
    `select code_op, technologie, sites from arcep_sites where millesime = '2024_T3' and code_commune = $1 and ($2::text is null or code_op = $2)`,
    [code, op ?? null],
  );
  return Object.fromEntries(rows.map((r) => [`${r.code_op}:${r.technologie}`, r.sites]));
}

describe('arcep: Mon réseau mobile sites', () => {
  test('the quarter comes from the upstream file name', () => {
    expect(quarterOf('2024_T3_sites_Metropole.csv')).toBe('2024_T3');
    expect(quarterOf('2022_T1_sites_Outremer.zip')).toBe('2022_T1');
    expect(quarterOf('sites.csv')).toBeUndefined();
  });

  test('loads the fixture: counts per commune × operator × technology, read = loaded + rejected', async () => {
    const r = await runSource('arcep', { ...quiet, file: METRO });
    expect(r.status).toBe('succeeded');
    expect(r.millesime).toBe('2024_T3');
    expect(r).toMatchObject({ read: 14, loaded: 7, rejected: 7 });
    expect(await sites('01001', '20801')).toEqual({ '20801:2G': 1, '20801:3G': 1, '20801:4G': 1, '20801:5G': 0, '20801:tous': 1 });
    expect(await sites('01001', '20810')).toEqual({ '20810:2G': 0, '20810:3G': 0, '20810:4G': 1, '20810:5G': 1, '20810:tous': 1 });
    const {
      rows: [pub],
    } = await pool().query(`select rows, details from published_datasets where source = 'arcep' and millesime = '2024_T3'`);
    expect(pub.details).toMatchObject({ cog: 2024, trimestre: '2024_T3' });
  });

  test('a merged commune sums the sites of its former communes and lists their codes', async () => {
    expect(await sites('35062')).toEqual({ '20801:2G': 0, '20801:3G': 0, '20801:4G': 2, '20801:5G': 1, '20801:tous': 2 });
    const { rows } = await pool().query(`select codes_sources from arcep_sites where code_commune = '35062' and technologie = 'tous'`);
    expect(rows[0].codes_sources).toEqual(['35062', '35112']);
    expect(await sites('35112')).toEqual({});
  });

  test('a 4-digit code and a 1-digit département are left-padded; Corsica keeps its letter', async () => {
    expect((await sites('01004'))['20801:4G']).toBe(1);
    expect((await sites('2A004'))['20820:2G']).toBe(1);
  });

  test('an arrondissement keeps its own row and is counted in Paris', async () => {
    expect((await sites('75107'))['20815:5G']).toBe(1);
    expect((await sites('75056'))['20815:5G']).toBe(1);
    const { rows } = await pool().query(`select type from arcep_sites where code_commune = '75107' limit 1`);
    expect(rows[0].type).toBe('arrondissement-municipal');
  });

  test('bad rows are quarantined with their line and reason', async () => {
    const { rows } = await pool().query(
      `select line, reason from quarantine where source = 'arcep' and run_id = (select max(id) from runs where source = 'arcep' and status = 'succeeded') order by line`,
    );
    expect(rows.map((r) => Number(r.line))).toEqual([9, 10, 11, 12, 13, 14, 15]);
    const reason = (l: number) => rows.find((r) => Number(r.line) === l)!.reason as string;
    expect(reason(9)).toMatch(/site 00000001T1 of operator 20801 already listed at line 2/);
    expect(reason(10)).toMatch(/column insee_com: empty commune code/);
    expect(reason(11)).toMatch(/column site_4g: expected 0 or 1, got 'oui'/);
    expect(reason(12)).toMatch(/column code_op/);
    expect(reason(13)).toMatch(/column insee_dep: département '69' disagrees with commune 01001/);
    expect(reason(14)).toMatch(/code 99999 is neither a commune of COG 2024/);
    expect(reason(15)).toMatch(/expected 29 fields, got 28/);
  });

  test('the Outremer file is read from the mirror with the metropolitan one', async () => {
    const mirror = fs.mkdtempSync(path.join(os.tmpdir(), 'arcep-mirror-'));
    for (const f of ['2024_T3_sites_Metropole.csv', '2024_T3_sites_Outremer.csv']) fs.copyFileSync(path.join(FIX, f), path.join(mirror, f));
    process.env.MIRROR_DIR = mirror;
    resetSettings();
    try {
      const r = await runSource('arcep', quiet);
      expect(r).toMatchObject({ status: 'succeeded', read: 15, loaded: 8, rejected: 7 });
      expect(await sites('97411')).toMatchObject({ '64710:2G': 1, '64710:4G': 1, '64710:5G': 0 });
    } finally {
      process.env.MIRROR_DIR = '';
      resetSettings();
    }
  });

  test('a header lacking columns fails the run, naming them, and the published quarter stays', async () => {
    const before = (await pool().query(`select count(*)::int as n from arcep_sites where millesime = '2024_T3'`)).rows[0].n;
    expect(before).toBeGreaterThan(0);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arcep-'));
    const bad = path.join(dir, '2024_T3_sites_Metropole.csv');
    const lines = fs.readFileSync(METRO, 'utf8').split('\n');
    const header = lines[0].split(';');
    const drop = [header.indexOf('insee_com'), header.indexOf('site_5g')];
    const strip = (l: string) =>
      l
        .split(';')
        .filter((_v, i) => !drop.includes(i))
        .join(';');
    fs.writeFileSync(bad, lines.map(strip).join('\n'));
    await expect(runSource('arcep', { ...quiet, file: bad })).rejects.toThrow(/missing columns insee_com, site_5g/);
    const after = (await pool().query(`select count(*)::int as n from arcep_sites where millesime = '2024_T3'`)).rows[0].n;
    expect(after).toBe(before);
    const {
      rows: [run],
    } = await pool().query(`select status, error from runs where source = 'arcep' order by id desc limit 1`);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/insee_com, site_5g/);
  });

  test('a file whose name states no quarter is refused unless the operator states it (never the declared quarter)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arcep-'));
    const renamed = path.join(dir, 'sites-mobiles.csv');
    fs.copyFileSync(METRO, renamed);
    await expect(runSource('arcep', { ...quiet, file: renamed, resource: 'metropole' })).rejects.toThrow(
      /sites-mobiles\.csv: no quarter \(AAAA_Tn\) in the file name: give it with --millesime/,
    );
    const r = await runSource('arcep', { ...quiet, file: renamed, resource: 'metropole', millesime: '2024_T2', force: true });
    expect([r.status, r.millesime]).toEqual(['succeeded', '2024_T2']);
    await pool().query(`delete from arcep_sites where millesime = '2024_T2'`);
  });

  test('the pack query returns French columns for a batch of communes', async () => {
    const { rows } = await pool().query(pack.tables[0].query, [['35062']]);
    expect(rows.length).toBe(5);
    expect(Object.keys(rows[0]).length).toBe(pack.tables[0].fields.length + 1);
    expect(pack.tables[0].fields.map((f) => f.name)).toContain('nombre_sites');
    const text = pack.readme({ millesime: '2024_T3', publishedAt: '', details: {} });
    expect(text).toMatch(/Arcep/);
    // The licence line is written once for every section by src/packs/lisezmoi.ts, from the same fact as catalogue.csv.
    expect(text).not.toMatch(/Licence/);
    expect(text).toMatch(/Citer/);
  });
});
