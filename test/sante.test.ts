import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { settings } from '../config/settings';
import { buildPacks } from '../src/packs/build';
import { pipeline } from '../pipelines/sante';

/**
 * Santé on the SYNTHETIC fixtures of test/fixtures/sante (README.md: no genuine extract exists;
 * the layouts are the producers'): FINESS (two record types, Windows-1252, overseas départements
 * 9A–9J, each territory's projection) and the Annuaire Santé (`|`, 56 columns, counts per commune,
 * never names). Expected values come from the raw lines, split here by hand.
 */
const DIR = path.join(__dirname, 'fixtures', 'sante');
const FINESS = path.join(DIR, 'etalab-cs1100507-stock-20260512-0339.csv');
const RPPS = path.join(DIR, 'PS_LibreAcces_Personne_activite_202606101208.txt');
const quiet = { trigger: 'test', log: () => undefined } as const;
const table = (name: string) => pipeline.pack!.tables.find((t) => t.name === name)!;

/** Fields with `"…""…"` quoting, split by hand. */
function splitQuoted(line: string, sep = ';'): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q && c === '"' && line[i + 1] === '"') {
      cur += '"';
      i++;
    } else if (c === '"') q = !q;
    else if (c === sep && !q) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  return [...out, cur];
}
const finessLines = iconv
  .decode(fs.readFileSync(FINESS), 'win1252')
  .split('\r\n')
  .filter(Boolean)
  .map((l) => splitQuoted(l));
const structures = finessLines.filter((v) => v[0] === 'structureet' && v.length === 32);
const geolocs = new Map(finessLines.filter((v) => v[0] === 'geolocalisation').map((v) => [v[1], v]));
/** Code INSEE of a structureet record: département (9A–9F → 97, 9J → 98) + commune. */
const inseeOf = (v: string[]) => (/^9[A-I]$/.test(v[13]) ? '97' : v[13] === '9J' ? '98' : v[13]) + v[12];

const rppsText = fs.readFileSync(RPPS, 'utf8').split('\n').filter(Boolean);
const rppsHeader = rppsText[0].split('|');
/** Every data line, as read; `whole` are those with the header's width (the cut one is not). */
const rpps = rppsText
  .slice(1)
  .map((l) => Object.fromEntries(splitQuoted(l, '|').map((v, i) => [rppsHeader[i], v])) as Record<string, string>);
const whole = rppsText
  .slice(1)
  .map((l) => splitQuoted(l, '|'))
  .filter((v) => v.length === rppsHeader.length)
  .map((v) => Object.fromEntries(v.map((x, i) => [rppsHeader[i], x])) as Record<string, string>);

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

describe('FINESS geolocated establishments', () => {
  let report: Awaited<ReturnType<typeof runSource>>;
  beforeAll(async () => {
    report = await runSource('sante', { ...quiet, file: FINESS });
  });

  test('both record types read; the edition is the date of line 1; the cut record and the orphan position are quarantined', async () => {
    expect(report.status).toBe('succeeded');
    expect(report.read).toBe(finessLines.length - 1);
    expect(report.read).toBe(report.loaded + report.rejected);
    expect(report.millesime).toBe(finessLines[0][3]);
    const { rows } = await pool().query(`select line, reason from quarantine where run_id = $1 order by line`, [report.runId]);
    expect(rows.map((r) => r.reason)).toEqual([
      'structureet record: expected 32 fields, got 15',
      'geolocalisation of nofinesset 350088888: no structureet record has this number',
    ]);
  });

  test('three communes (Rennes, Ajaccio with a quoted name, Saint-Denis de La Réunion in UTM 40S) equal their raw records', async () => {
    for (const code of ['35238', '2A004', '97411']) {
      const raw = structures.filter((v) => inseeOf(v) === code);
      expect(raw.length).toBeGreaterThan(0);
      const { rows } = await pool().query(table('etablissements_sante').query, [[code]]);
      expect(rows.map((r) => [r.numero_finess, r.nom, r.categorie, r.libelle_categorie]).sort()).toEqual(
        raw.map((v) => [v[1], v[4] || v[3], v[18], v[19]]).sort(),
      );
      for (const r of rows) {
        const g = geolocs.get(r.numero_finess)!;
        const epsg = Number(/EPSG:(\d+)/.exec(g[4])![1]);
        const {
          rows: [want],
        } = await pool().query(
          `select st_x(p) as lon, st_y(p) as lat from (select st_transform(st_setsrid(st_makepoint($1, $2), $3), 4326) p) x`,
          [Number(g[2]), Number(g[3]), epsg],
        );
        expect([Number(r.longitude), Number(r.latitude)]).toEqual([Number(want.lon.toFixed(6)), Number(want.lat.toFixed(6))]);
      }
    }
    const { rows } = await pool().query(table('etablissements_sante').query, [['2A004']]);
    expect(rows[0].nom).toBe('LIEU DE VIE "U SOLE"');
  });

  test('a position naming no projection takes its territory’s (Mayotte: UTM 38S); Saint-Barthélemy (9A 123) and Fleurigné (35112) are re-coded', async () => {
    const { rows } = await pool().query(
      `select code_commune, code_source, round(st_x(geom)::numeric, 3) as lon, round(st_y(geom)::numeric, 3) as lat from sante_etablissement
        where nofinesset in ('9F0056789', '9A0067890', '350023456') order by nofinesset`,
    );
    expect(rows).toEqual([
      { code_commune: '35062', code_source: '35112', lon: '-1.110', lat: '48.220' },
      { code_commune: '97701', code_source: '97701', lon: '-62.850', lat: '17.896' },
      { code_commune: '97611', code_source: '97611', lon: '45.228', lat: '-12.781' },
    ]);
  });

  test('Paris: an establishment of the 12e is in the 12e’s pack and in Paris’s', async () => {
    for (const code of ['75112', '75056']) {
      const { rows } = await pool().query(table('etablissements_sante').query, [[code]]);
      expect(rows.map((r) => r.numero_finess)).toEqual(['750034567']);
    }
  });
});

describe('Annuaire Santé (RPPS): counts per commune, profession and savoir-faire, never names', () => {
  let report: Awaited<ReturnType<typeof runSource>>;
  beforeAll(async () => {
    report = await runSource('sante', { ...quiet, file: RPPS });
  });

  test('the edition is the timestamp of the file name; lines add up; FINESS stays as published', async () => {
    expect(report.status).toBe('succeeded');
    expect(report.read).toBe(rpps.length);
    expect(report.read).toBe(report.loaded + report.rejected);
    expect(report.rejected).toBe(2);
    expect(report.millesime).toBe('2026-06-10');
    const { rows } = await pool().query(`select details from published_datasets where source = 'sante'`);
    expect(rows).toHaveLength(1);
    expect(rows[0].details.editions.finess.edition).toBe('2026-05-12');
    expect(rows[0].details.rpps_sans_commune).toBe(whole.filter((r) => !r['Code commune (coord. structure)']).length);
    expect((await pool().query(`select count(*)::int as n from sante_etablissement`)).rows[0].n).toBeGreaterThan(0);
  });

  const distinct = (rs: Record<string, string>[], f: (r: Record<string, string>) => boolean) =>
    new Set(rs.filter(f).map((r) => r['Identifiant PP'])).size;

  test('three communes (Rennes, Paris by its arrondissements, Saint-Denis) equal the distinct professionals of their raw lines', async () => {
    const places: Record<string, (c: string) => boolean> = {
      '35238': (c) => c === '35238',
      '75056': (c) => c.startsWith('751'),
      '97411': (c) => c === '97411',
    };
    for (const [code, inCommune] of Object.entries(places)) {
      const lines = whole.filter((r) => inCommune(r['Code commune (coord. structure)']));
      expect(lines.length).toBeGreaterThan(0);
      const professions = [...new Set(lines.map((r) => r['Code profession']))].sort();
      const want = professions.map((p) => [
        p,
        distinct(lines, (r) => r['Code profession'] === p),
        distinct(lines, (r) => r['Code profession'] === p && r['Code mode exercice'] === 'L'),
      ]);
      const { rows } = await pool().query(table('professionnels_sante').query, [[code]]);
      expect({ code, rows: rows.map((r) => [r.code_profession, r.professionnels, r.dont_liberaux]) }).toEqual({ code, rows: want });
      const sfs = [...new Set(lines.map((r) => r['Code savoir-faire']).filter(Boolean))].sort();
      const { rows: sf } = await pool().query(table('professionnels_sante_specialites').query, [[code]]);
      expect(sf.map((r) => [r.code_savoir_faire, r.professionnels])).toEqual(
        sfs.map((s) => [s, distinct(lines, (r) => r['Code savoir-faire'] === s)]),
      );
    }
  });

  test('a GP at two places of Rennes counts once; one in the 8e and the 12e counts in each and once in Paris', async () => {
    const gp = async (code: string) =>
      (await pool().query(table('professionnels_sante_specialites').query, [[code]])).rows.find((r) => r.code_savoir_faire === 'SM54')
        ?.professionnels;
    expect(await gp('35238')).toBe(3);
    expect([await gp('75108'), await gp('75112'), await gp('75056')]).toEqual([1, 2, 2]);
  });

  test('no name, phone or address of a professional is stored, published or quarantined', async () => {
    const names = rpps.map((r) => r["Nom d'exercice"]).filter(Boolean);
    expect(names.length).toBeGreaterThan(0);
    for (const t of ['sante_profession', 'sante_savoir_faire', 'quarantine']) {
      const { rows } = await pool().query(`select t::text as x from ${t} t`);
      for (const r of rows) for (const n of names) expect(r.x).not.toContain(n);
    }
  });

  test('a copy named without its date is refused with what to do; --millesime states it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rpps-'));
    const bare = path.join(dir, 'ps-libreacces-personne-activite.txt');
    fs.copyFileSync(RPPS, bare);
    await expect(runSource('sante', { ...quiet, file: bare, force: true })).rejects.toThrow(
      /date of the extract .* give it with --millesime YYYY-MM-DD/,
    );
    const ok = await runSource('sante', { ...quiet, file: bare, millesime: '2026-06-11', force: true });
    expect(ok.status).toBe('succeeded');
    const { rows } = await pool().query(`select details from published_datasets where source = 'sante'`);
    expect(rows[0].details.editions.rpps).toEqual({
      edition: '2026-06-11',
      from: 'operator (--millesime)',
      fichier: 'ps-libreacces-personne-activite.txt',
    });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('MIRROR_DIR: of two FINESS extracts named by date, the latest is taken', async () => {
    const mirror = fs.mkdtempSync(path.join(os.tmpdir(), 'finess-mirror-'));
    fs.mkdirSync(path.join(mirror, 'sante'));
    const text = fs.readFileSync(FINESS);
    fs.writeFileSync(
      path.join(mirror, 'sante', 'etalab-cs1100507-stock-20260311-0343.csv'),
      text.toString('latin1').replace('2026-05-12', '2026-03-11'),
      'latin1',
    );
    fs.writeFileSync(
      path.join(mirror, 'sante', 'etalab-cs1100507-stock-20260701-0340.csv'),
      text.toString('latin1').replace('2026-05-12', '2026-07-01'),
      'latin1',
    );
    const r = await runSource('sante', { ...quiet, settings: { ...settings(), MIRROR_DIR: mirror } });
    expect(r.status).toBe('succeeded');
    expect(r.files.find((f) => f.resource === 'finess')?.path).toMatch(/20260701-0340\.csv$/);
    const { rows } = await pool().query(`select details from published_datasets where source = 'sante'`);
    expect(rows[0].details.editions.finess.edition).toBe('2026-07-01');
    fs.rmSync(mirror, { recursive: true, force: true });
  });

  test('a new RPPS extract changing one commune rebuilds only the packs whose slice changed', async () => {
    const codes = ['35238', '75056', '75112', '97411', '2A004'];
    expect((await buildPacks({ communes: codes, log: () => undefined })).failed).toBe(0);
    expect((await buildPacks({ communes: codes, log: () => undefined })).skipped).toBe(codes.length);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rpps-new-'));
    const next = path.join(dir, 'PS_LibreAcces_Personne_activite_202606171208.txt');
    // One more nurse in Saint-Denis de La Réunion.
    const nurse = rppsText[7].replace('60000000001', '60000000099').replace(/\|35000\|35238\|Rennes\|/, '|97400|97411|Saint-Denis|');
    expect(nurse).toContain('|97411|');
    fs.writeFileSync(next, [...rppsText, nurse].join('\n') + '\n');
    expect(await runSource('sante', { ...quiet, file: next })).toMatchObject({ status: 'succeeded' });
    const { rows } = await pool().query(`select details from published_datasets where source = 'sante'`);
    expect(rows[0].details.editions.rpps.edition).toBe('2026-06-17');
    const after = await buildPacks({ communes: codes, log: () => undefined });
    expect(after).toMatchObject({ built: 1, skipped: codes.length - 1, failed: 0 });
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
