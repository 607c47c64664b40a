import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yazl from 'yazl';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { settings } from '../config/settings';
import { runSource, RunOptions } from '../src/engine/runner';
import { explainMissingPopulations } from '../pipelines/populations/transform';

/**
 * Populations légales pipeline on small synthetic fixtures in the upstream format
 * (test/fixtures/populations, see its README): re-coding to the current COG, PLM,
 * Mayotte, counts, and clear messages for broken inputs.
 */
const FIXTURES = path.join(__dirname, 'fixtures', 'populations');
const MAIN = 'donnees_communes.csv';
const MAYOTTE = 'donnees_communes_mayotte.csv';

interface FileRow {
  line: number;
  code: string;
  pmun: number;
  pcap: number;
  ptot: number;
}

/** Reads a fixture the simple way (no engine code), to compute expected figures. */
function readFixture(file: string, mayotte = false): FileRow[] {
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
  const header = lines[0].split(';');
  const col = (n: string) => header.indexOf(n);
  const out: FileRow[] = [];
  lines.slice(1).forEach((l, i) => {
    if (!l) return;
    const v = l.split(';');
    const code = mayotte ? v[col('DEP')].slice(0, 2) + v[col('CODCOM')] : v[col('COM')];
    out.push({ line: i + 2, code, pmun: Number(v[col('PMUN')]), pcap: Number(v[col('PCAP')]), ptot: Number(v[col('PTOT')]) });
  });
  return out;
}
const mainRows = readFixture(path.join(FIXTURES, MAIN));
const mayotteRows = readFixture(path.join(FIXTURES, MAYOTTE), true);
const byCode = new Map([...mainRows, ...mayotteRows].map((r) => [r.code, r]));
/**
 * What a row made of several codes holds: the sum of the population municipale, and no comptée à
 * part nor totale (INSEE: they must not be added across communes). One code: INSEE's own three figures.
 */
const sumOf = (codes: string[]) => ({
  pmun: codes.reduce((s, c) => s + byCode.get(c)!.pmun, 0),
  pcap: codes.length === 1 ? byCode.get(codes[0])!.pcap : null,
  ptot: codes.length === 1 ? byCode.get(codes[0])!.ptot : null,
});

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-pop-'));
/** A copy of the fixture folder, the main file optionally edited line by line. */
function fixtureDir(name: string, edit?: (lines: string[]) => string[], withMayotte = true): string {
  const dir = path.join(tmpRoot, name);
  fs.mkdirSync(dir, { recursive: true });
  const lines = fs.readFileSync(path.join(FIXTURES, MAIN), 'utf8').split('\r\n');
  fs.writeFileSync(path.join(dir, MAIN), (edit ? edit(lines) : lines).join('\r\n'));
  if (withMayotte) fs.copyFileSync(path.join(FIXTURES, MAYOTTE), path.join(dir, MAYOTTE));
  return dir;
}

function run(opts: RunOptions & { mirror?: string } = {}) {
  const { mirror, ...rest } = opts;
  return runSource('populations', {
    trigger: 'test',
    log: () => undefined,
    force: true,
    settings: { ...settings(), MIRROR_DIR: mirror ?? '' },
    ...rest,
  });
}

async function population(code: string) {
  const { rows } = await pool().query(
    `select code_commune, type, pmun, pcap, ptot, codes_sources, fichier, annee_recensement
                                         from population_legale where millesime = '2021' and code_commune = $1`,
    [code],
  );
  return rows[0];
}
async function dump() {
  return (await pool().query(`select * from population_legale order by millesime, code_commune`)).rows;
}
async function runRow(id: number) {
  return (await pool().query(`select * from runs where id = $1`, [id])).rows[0];
}

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await db.cleanup();
  fs.rmSync(tmpRoot, { recursive: true, force: true });
});

describe('populations légales: fixture load', () => {
  let report: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    report = await run({ mirror: FIXTURES });
  });

  test('the run succeeds and read = loaded + rejected in the runs table', async () => {
    expect(report.status).toBe('succeeded');
    const r = await runRow(report.runId);
    expect(r.status).toBe('succeeded');
    expect(Number(r.rows_read)).toBe(mainRows.length + mayotteRows.length);
    expect(Number(r.rows_read)).toBe(Number(r.rows_loaded) + Number(r.rows_rejected));
    expect(Number(r.rows_rejected)).toBe(0);
    expect(r.millesime).toBe('2021');
  });

  test('communes merged since the file (COG 2023) are summed under the commune nouvelle', async () => {
    for (const [nouvelle, parts] of [
      ['35062', ['35062', '35112']],
      ['69149', ['69149', '69152']],
    ] as const) {
      const p = await population(nouvelle);
      expect(p).toMatchObject({ type: 'commune-actuelle', ...sumOf([...parts]), codes_sources: [...parts] });
    }
    expect(await population('35112')).toBeUndefined();
    expect(await population('69152')).toBeUndefined();
  });

  test('PLM: arrondissements kept as their own rows and summed into the commune', async () => {
    const paris = mainRows.filter((r) => r.code.startsWith('751')).map((r) => r.code);
    const lyon = mainRows.filter((r) => r.code.startsWith('6938')).map((r) => r.code);
    expect(paris.length).toBeGreaterThan(1);
    for (const code of [...paris, ...lyon]) {
      const { pmun, pcap, ptot } = byCode.get(code)!;
      expect(await population(code)).toMatchObject({ type: 'arrondissement-municipal', pmun, pcap, ptot, codes_sources: [code] });
    }
    expect(await population('75056')).toMatchObject({ type: 'commune-actuelle', ...sumOf(paris), codes_sources: paris });
    expect(await population('69123')).toMatchObject({ type: 'commune-actuelle', ...sumOf(lyon), codes_sources: lyon });
  });

  test('Mayotte is loaded from its own file (code 97 + CODCOM), census 2017', async () => {
    expect(mayotteRows.length).toBeGreaterThan(0);
    for (const r of mayotteRows) {
      expect(r.code).toMatch(/^976\d\d$/);
      expect(await population(r.code)).toMatchObject({
        pmun: r.pmun,
        pcap: r.pcap,
        ptot: r.ptot,
        fichier: MAYOTTE,
        annee_recensement: '2017',
      });
    }
  });

  test('plain communes keep their figures (2A004 keeps its letter, 97411 overseas)', async () => {
    for (const code of ['01001', '2A004', '97411']) {
      const { pmun, pcap, ptot } = byCode.get(code)!;
      expect(await population(code)).toMatchObject({
        type: 'commune-actuelle',
        pmun,
        pcap,
        ptot,
        codes_sources: [code],
        annee_recensement: '2021',
      });
    }
  });

  test('the published row count is what the file makes after re-coding', async () => {
    const {
      rows: [{ n }],
    } = await pool().query(`select count(*)::int as n from population_legale where millesime = '2021'`);
    const merged = ['35112', '69152'];
    const arm = mainRows.filter((r) => /^(751|6938)/.test(r.code)).length;
    // every non-merged code once, plus one row per PLM commune rolled up from its arrondissements
    expect(n).toBe(mainRows.length + mayotteRows.length - merged.length + 2);
    expect(report.published).toBe(n);
    expect(arm).toBeGreaterThan(0);
    const {
      rows: [pub],
    } = await pool().query(`select rows, run_id from published_datasets where source = 'populations' and millesime = '2021'`);
    expect(Number(pub.rows)).toBe(n);
    expect(Number(pub.run_id)).toBe(report.runId);
  });

  test('explainMissingPopulations gives a reason for every commune without population', async () => {
    const missing = await explainMissingPopulations(pool(), '2021');
    const {
      rows: [{ n }],
    } = await pool().query(
      `select count(*)::int as n from communes c where c.type = 'commune-actuelle'
          and not exists (select 1 from population_legale p where p.millesime = '2021' and p.code_commune = c.code)`,
    );
    expect(missing).toHaveLength(n);
    expect(missing.every((m) => m.raison.length > 0)).toBe(true);
    expect(missing.map((m) => m.code)).not.toContain('35062');
    expect(missing.map((m) => m.code)).not.toContain('97601');
  });
});

describe('populations légales: zipped ensemble.zip', () => {
  let zipFile: string;
  beforeAll(async () => {
    const dir = path.join(tmpRoot, 'zip');
    fs.mkdirSync(dir, { recursive: true });
    zipFile = path.join(dir, 'ensemble.zip');
    const zip = new yazl.ZipFile();
    zip.addFile(path.join(FIXTURES, MAIN), MAIN);
    zip.addFile(path.join(FIXTURES, MAYOTTE), MAYOTTE);
    zip.end();
    await new Promise<void>((resolve, reject) =>
      zip.outputStream.pipe(fs.createWriteStream(zipFile)).on('close', resolve).on('error', reject),
    );
  });

  test('the archive loads like the CSV files, Mayotte entry included', async () => {
    const before = await dump();
    const r = await run({ file: zipFile });
    expect(r.status).toBe('succeeded');
    expect(r.read).toBe(mainRows.length + mayotteRows.length);
    const after = await dump();
    expect(after.map((x) => ({ ...x, fichier: undefined }))).toEqual(before.map((x) => ({ ...x, fichier: undefined })));
    expect(await population('97601')).toMatchObject({ pmun: byCode.get('97601')!.pmun });
  });

  test('a truncated archive fails with a message naming the file, published rows intact', async () => {
    const before = await dump();
    const dir = path.join(tmpRoot, 'truncated');
    fs.mkdirSync(dir, { recursive: true });
    const cut = path.join(dir, 'ensemble.zip');
    const bytes = fs.readFileSync(zipFile);
    fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(run({ file: cut })).rejects.toThrow(/ensemble\.zip.*(truncated|corrupt)/);
    const {
      rows: [r],
    } = await pool().query(`select status, error from runs where source = 'populations' order by id desc limit 1`);
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/ensemble\.zip/);
    expect(await dump()).toEqual(before);
  });
});

describe('populations légales: broken inputs give clear messages', () => {
  test('a missing column fails the run naming the file and the column', async () => {
    const before = await dump();
    const dir = fixtureDir('missing-column', (lines) => [lines[0].replace(/;PTOT$/, ''), ...lines.slice(1)]);
    const err = await run({ mirror: dir }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/donnees_communes\.csv/);
    expect(err!.message).toMatch(/line 1/);
    expect(err!.message).toMatch(/PTOT/);
    const {
      rows: [r],
    } = await pool().query(`select status, error from runs where source = 'populations' order by id desc limit 1`);
    expect(r).toMatchObject({ status: 'failed', error: err!.message });
    expect(await dump()).toEqual(before);
  });

  test('a bad code, a row of the wrong width and an unknown code are quarantined with file, line and column', async () => {
    const badLine = mainRows.find((r) => r.code === '01001')!.line;
    const shortLine = mainRows.find((r) => r.code === '97411')!.line;
    const unknownLine = mainRows.find((r) => r.code === '2A004')!.line;
    const dir = fixtureDir('bad-rows', (lines) =>
      lines.map((l, i) => {
        const v = l.split(';');
        if (i + 1 === badLine) v[5] = 'x1';
        if (i + 1 === shortLine) v.splice(4, 1);
        if (i + 1 === unknownLine) {
          v[5] = '999';
          v[6] = '2A999';
        }
        return v.join(';');
      }),
    );
    // 3 of the fixture's 16 communes quarantined: more than the guard lets go, forced on purpose.
    const r = await run({ mirror: dir, allowShrink: true });
    expect(r.status).toBe('succeeded');
    expect(r.rejected).toBe(3);
    expect(r.read).toBe(r.loaded + r.rejected);
    const { rows: q } = await pool().query(`select file, line::int as line, raw, reason from quarantine where run_id = $1 order by line`, [
      r.runId,
    ]);
    const at = (line: number) => q.find((x) => x.line === line);
    expect(q).toHaveLength(3);
    expect(at(badLine)).toMatchObject({ file: MAIN });
    expect(at(badLine).reason).toMatch(/column CODCOM/);
    expect(at(badLine).reason).toMatch(/x1/);
    expect(at(badLine).raw).toContain(';x1;');
    expect(at(shortLine)).toMatchObject({ file: MAIN });
    expect(at(shortLine).reason).toMatch(/expected 11 fields, got 10/);
    expect(at(unknownLine)).toMatchObject({ file: MAIN });
    expect(at(unknownLine).reason).toMatch(/column CODCOM.*2A999/);
    const run_ = await runRow(r.runId);
    expect(Number(run_.rows_rejected)).toBe(3);
    expect(Number(run_.rows_read)).toBe(Number(run_.rows_loaded) + Number(run_.rows_rejected));
    // the rejected communes are not published; the others are
    expect(await population('01001')).toBeUndefined();
    expect(await population('35062')).toMatchObject(sumOf(['35062', '35112']));
  });

  test('a commune split since into communes that all took new codes is quarantined, not silently dropped', async () => {
    // History of this test database only: 01999 split on 2024-01-01 into 01001 and 01002.
    await pool().query(`insert into cog_mouvements (mod, date_eff, typecom_av, com_av, libelle_av, typecom_ap, com_ap, libelle_ap)
                        values (21, '2024-01-01', 'COM', '01999', 'Scindée', 'COM', '01001', 'A'), (21, '2024-01-01', 'COM', '01999', 'Scindée', 'COM', '01002', 'B')`);
    try {
      const extra = '84;Auvergne-Rhône-Alpes;01;1;01;999;01999;Scindée;500;5;505';
      const dir = fixtureDir('split', (lines) => [...lines.slice(0, -1), extra, '']);
      const line = fs.readFileSync(path.join(dir, MAIN), 'utf8').split('\r\n').indexOf(extra) + 1;
      const r = await run({ mirror: dir });
      expect(r.status).toBe('succeeded');
      expect(r.read).toBe(r.loaded + r.rejected);
      const { rows: q } = await pool().query(`select file, line::int as line, reason from quarantine where run_id = $1`, [r.runId]);
      expect(q).toHaveLength(1);
      expect(q[0]).toMatchObject({ file: MAIN, line });
      expect(q[0].reason).toMatch(/column CODCOM: commune 01999 .*split.*01001, 01002/);
      const { pmun, pcap, ptot } = byCode.get('01001')!;
      expect(await population('01001')).toMatchObject({ pmun, pcap, ptot, codes_sources: ['01001'] });
    } finally {
      await pool().query(`delete from cog_mouvements where com_av = '01999'`);
    }
  });
});
