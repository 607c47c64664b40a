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
    const table = pack.tables.find((t) => t.name === 'sites_mobiles')!;
    const { rows } = await pool().query(table.query, [['35062']]);
    expect(rows.length).toBe(5);
    expect(Object.keys(rows[0]).length).toBe(table.fields.length + 1);
    expect(table.fields.map((f) => f.name)).toContain('nombre_sites');
    const text = pack.readme({ millesime: '2024_T3', publishedAt: '', details: {} });
    expect(text).toMatch(/Arcep/);
    // The licence line is written once for every section by src/packs/lisezmoi.ts, from the same fact as catalogue.csv.
    expect(text).not.toMatch(/Licence/);
    expect(text).toMatch(/Citer/);
  });
});

const COVERAGE = path.join(FIX, '2024T3_op_communes.csv');

/** The fixture's raw line for a technology, operator and commune, split as ARCEP writes it. */
function rawLine(techno: string, op: string, commune: string): string[] {
  const line = fs
    .readFileSync(COVERAGE, 'utf8')
    .split('\n')
    .map((l) => l.split(';').map((v) => v.replace(/^"|"$/g, '')))
    .find((v) => v[0] === techno && v[1] === op && v[2] === commune);
  if (!line) throw new Error(`no line ${techno};${op};${commune} in the fixture`);
  return line;
}
const num = (v: string) => (v === '' ? null : Number(v.replace(',', '.')));

async function coverage(code: string): Promise<Record<string, unknown>[]> {
  const { rows } = await pool().query(
    `select code_source, code_op, operateur, technologie, type,
            surface_nc::float8 as couv_nc, surface_cl::float8 as couv_cl, surface_bc::float8 as couv_bc, surface_tbc::float8 as couv_tbc,
            population_nc::float8 as pop_nc, population_cl::float8 as pop_cl, population_bc::float8 as pop_bc, population_tbc::float8 as pop_tbc
       from arcep_couverture where millesime = '2024_T3' and code_commune = $1 order by code_source, code_op, technologie`,
    [code],
  );
  return rows;
}
const SHARES = ['couv_nc', 'couv_cl', 'couv_bc', 'couv_tbc', 'pop_nc', 'pop_cl', 'pop_bc', 'pop_tbc'];
const sharesOf = (raw: string[]) => Object.fromEntries(SHARES.map((k, i) => [k, num(raw[3 + i])]));

describe('arcep: coverage per commune (Mon réseau mobile statistics, the main table)', () => {
  test('the quarter of ARCEP’s coverage file name (2023T3_op_communes.csv) is read without its underscore', () => {
    expect(quarterOf('2023T3_op_communes.csv')).toBe('2023_T3');
    expect(quarterOf('2024_T3_op_communes.csv')).toBe('2024_T3');
  });

  test('the coverage file loads alone, its quarter from its name; the sites of the quarter stay', async () => {
    const sitesBefore = (await pool().query(`select count(*)::int as n from arcep_sites where millesime = '2024_T3'`)).rows[0].n;
    expect(sitesBefore).toBeGreaterThan(0);
    const r = await runSource('arcep', { ...quiet, file: COVERAGE });
    expect([r.status, r.millesime]).toEqual(['succeeded', '2024_T3']);
    expect(r).toMatchObject({ read: 18, loaded: 10, rejected: 8 });
    expect((await pool().query(`select count(*)::int as n from arcep_sites where millesime = '2024_T3'`)).rows[0].n).toBe(sitesBefore);
    const {
      rows: [pub],
    } = await pool().query(`select details from published_datasets where source = 'arcep' and millesime = '2024_T3'`);
    expect(pub.details).toMatchObject({ trimestre: '2024_T3', tables: ['arcep_couverture'], couverture: '2024T3_op_communes.csv' });
  });

  test('three communes hold the shares of their raw lines, by operator and technology', async () => {
    // 01001: Orange 2G (ARCEP's own example line) and 4G, SFR 2G/3G and 4G (lower-case techno, decimal commas).
    const c01001 = await coverage('01001');
    expect(c01001.map((r) => `${r.code_op}:${r.technologie}`)).toEqual(['20801:2G', '20801:4G', '20810:2G/3G', '20810:4G']);
    expect(c01001[0]).toMatchObject({ operateur: 'Orange', ...sharesOf(rawLine('2G', '20801', '01001')) });
    expect(c01001[0]).toMatchObject({ couv_nc: 0.18, couv_tbc: 26.26, pop_bc: 78.38, pop_tbc: 6.91 });
    expect(c01001[1]).toMatchObject({ ...sharesOf(rawLine('4G', '20801', '01001')), couv_cl: null, pop_bc: null });
    expect(c01001[2]).toMatchObject({ operateur: 'SFR', ...sharesOf(rawLine('2G3G', '20810', '01001')) });
    expect(c01001[3]).toMatchObject({ ...sharesOf(rawLine('4g', '20810', '01001')), couv_nc: 12.5, pop_tbc: 99.6 });
    // 2A004 (Corsica keeps its letter).
    const c2a004 = await coverage('2A004');
    expect(c2a004).toEqual([
      expect.objectContaining({
        code_source: '2A004',
        code_op: '20820',
        operateur: 'Bouygues Telecom',
        technologie: '4G',
        ...sharesOf(rawLine('4G', '20820', '2A004')),
      }),
    ]);
    // 01004, written 1004 (a number, leading zero lost): padded.
    const c01004 = await coverage('01004');
    expect(c01004).toEqual([
      expect.objectContaining({ code_source: '01004', code_op: '20801', ...sharesOf(rawLine('4G', '20801', '1004')) }),
    ]);
  });

  test('shares are never summed: a merged commune keeps one row per former commune; an arrondissement its own row', async () => {
    const c = await coverage('35062');
    expect(c.map((r) => [r.code_source, r.pop_tbc])).toEqual([
      ['35062', 98.5],
      ['35112', 88],
    ]);
    expect(await coverage('35112')).toEqual([]);
    const paris = await coverage('75107');
    expect(paris).toEqual([expect.objectContaining({ type: 'arrondissement-municipal', code_source: '75107', pop_tbc: 100 })]);
    expect(await coverage('75056')).toEqual([]);
  });

  test('an operator not known by code takes its name from the sites file of ARCEP (overseas)', async () => {
    expect((await coverage('97411'))[0]).toMatchObject({ code_op: '64710', operateur: 'SRR', technologie: '5G' });
  });

  test('bad lines are quarantined with their line, column and reason', async () => {
    const { rows } = await pool().query(
      `select line, reason from quarantine where source = 'arcep' and run_id = (select max(id) from runs where source = 'arcep' and status = 'succeeded') order by line`,
    );
    expect(rows.map((r) => Number(r.line))).toEqual([12, 13, 14, 15, 16, 17, 18, 19]);
    const reason = (l: number) => rows.find((r) => Number(r.line) === l)!.reason as string;
    expect(reason(12)).toMatch(/column techno: expected 2G, 2G3G, 3G, 4G or 5G, got '6G'/);
    expect(reason(13)).toMatch(/column mcc_mnc: not an operator code/);
    expect(reason(14)).toMatch(/column couv_nc: a share in % must be within 0–100, got 101.50/);
    expect(reason(15)).toMatch(/column commune: 4G of operator 20801 in commune 01001 already given at line 3/);
    expect(reason(16)).toMatch(/99999/);
    expect(reason(17)).toMatch(/column commune: empty commune code/);
    expect(reason(18)).toMatch(/no share given/);
    expect(reason(19)).toMatch(/expected 11 fields, got 10/);
  });

  test('headers are read without case, the operator column also as « operateur »; without one the run fails naming mcc_mnc', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arcep-cov-'));
    const f = path.join(dir, '2024T2_op_communes.csv');
    fs.writeFileSync(
      f,
      'TECHNO;OPERATEUR;Commune;COUV_NC;COUV_CL;COUV_BC;COUV_TBC;POP_NC;POP_CL;POP_BC;POP_TBC\n4G;20801;1001;1;;;99;0;;;100\n',
    );
    const r = await runSource('arcep', { ...quiet, file: f });
    expect([r.status, r.millesime, r.loaded]).toEqual(['succeeded', '2024_T2', 1]);
    const { rows } = await pool().query(
      `select code_commune, population_tbc::float8 as p from arcep_couverture where millesime = '2024_T2'`,
    );
    expect(rows).toEqual([{ code_commune: '01001', p: 100 }]);
    fs.writeFileSync(f, 'techno;commune;couv_nc;couv_cl;couv_bc;couv_tbc;pop_nc;pop_cl;pop_bc;pop_tbc\n4G;01001;1;;;99;0;;;100\n');
    await expect(runSource('arcep', { ...quiet, file: f, force: true })).rejects.toThrow(/missing column mcc_mnc/);
    await pool().query(`delete from arcep_couverture where millesime = '2024_T2'`);
    await pool().query(`delete from published_datasets where source = 'arcep' and millesime = '2024_T2'`);
  });

  test('a later quarter of sites alone is compared on its sites, not refused for the coverage it did not bring', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arcep-q4-'));
    const f = path.join(dir, '2024_T4_sites_Metropole.csv');
    // The quarter's sites as published for T3 (metropolitan lines and the overseas one), without any coverage file.
    const outremer = fs.readFileSync(path.join(FIX, '2024_T3_sites_Outremer.csv'), 'utf8').trim().split('\n').slice(1);
    fs.writeFileSync(f, fs.readFileSync(METRO, 'utf8').trimEnd() + '\n' + outremer.join('\n') + '\n');
    const r = await runSource('arcep', { ...quiet, file: f });
    expect([r.status, r.millesime]).toEqual(['succeeded', '2024_T4']);
    const published = (await pool().query(`select count(*)::int as n from arcep_sites where millesime = '2024_T4'`)).rows[0].n;
    expect(published).toBeGreaterThan(10);
    // A T4 losing most of its sites is refused by the publication guard, and T4 stays as published.
    fs.writeFileSync(f, fs.readFileSync(METRO, 'utf8').split('\n').slice(0, 3).join('\n') + '\n');
    // Refused by the guard (its message names the published edition compared with).
    const refused = runSource('arcep', { ...quiet, file: f, force: true });
    await expect(refused).rejects.toMatchObject({ name: 'PublicationRefused' });
    await expect(refused).rejects.toThrow(/2024_T4/);
    expect((await pool().query(`select count(*)::int as n from arcep_sites where millesime = '2024_T4'`)).rows[0].n).toBe(published);
    await pool().query(`delete from arcep_sites where millesime = '2024_T4'`);
    await pool().query(`delete from published_datasets where source = 'arcep' and millesime = '2024_T4'`);
  });

  test('the coverage pack table: French columns, one row per former commune', async () => {
    const table = pack.tables[0];
    expect(table.name).toBe('couverture_mobile');
    const { rows } = await pool().query(table.query, [['35062', '01001']]);
    expect(rows.length).toBe(6);
    expect(Object.keys(rows[0]).sort()).toEqual(['code_commune', ...table.fields.map((f) => f.name)].sort());
    expect(rows.filter((r) => r.code_commune === '35062').map((r) => r.code_commune_arcep)).toEqual(['35062', '35112']);
    const text = pack.readme({ millesime: '2024_T3', publishedAt: '', details: {} });
    expect(text).toMatch(/couverture_mobile\.csv/);
    expect(text).toMatch(/sites_mobiles\.csv/);
  });
});
