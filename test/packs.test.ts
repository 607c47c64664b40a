import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { freshDatabase } from './helpers/db';
import { unzip } from './helpers/zip';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { buildPacks } from '../src/packs/build';
import { settings } from '../config/settings';
import { readManifest } from '../src/packs/store';
import { CATALOGUE_SCHEMA } from '../src/packs/catalogue';
import { parseCsv, validateCsv, TableSchema } from '../src/packs/format';

const FIXTURE = path.join(__dirname, 'fixtures', 'packs', 'donnees_communes.csv');
const CODES = ['35238', '75056', '75101', '2A004', '35062'];

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
  const r = await runSource('populations', { file: FIXTURE, trigger: 'test', log: () => undefined });
  expect(r.status).toBe('succeeded');
});
afterAll(async () => db.cleanup());

function latestZip(code: string): string {
  const m = readManifest(settings().PACKS_DIR, code)!;
  return path.join(settings().PACKS_DIR, code, m.versions[0].file);
}

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

describe('commune packs', () => {
  let first: Awaited<ReturnType<typeof buildPacks>>;
  beforeAll(async () => {
    first = await buildPacks({ communes: CODES, log: () => undefined });
  });

  test('one pack per commune actuelle and arrondissement municipal requested', async () => {
    expect(first).toMatchObject({ built: CODES.length, unchanged: 0, failed: 0 });
    for (const code of CODES) expect(fs.existsSync(latestZip(code))).toBe(true);
    const { rows } = await pool().query(`select code, version from pack_builds order by code`);
    expect(rows.map((r) => r.code)).toEqual([...CODES].sort());
  });

  test('every datapackage resource exists with its declared bytes and sha256, and each CSV follows its Table Schema', async () => {
    for (const code of CODES) {
      const files = await unzip(latestZip(code));
      const dpText = files.get('datapackage.json')!.toString('utf8');
      const dp = JSON.parse(dpText);
      // Written as JSON.stringify(…, null, 2) writes it (the resources' descriptions are cached as text per build).
      expect(dpText).toBe(JSON.stringify(dp, null, 2) + '\n');
      expect(dp.resources.length).toBe(files.size - 1);
      expect(dp.licenses[0].name).toBe('etalab-2.0');
      expect(dp.sources.map((s: { version: string }) => s.version)).toContain('2021');
      for (const r of dp.resources) {
        const data = files.get(r.path);
        expect(data).toBeDefined();
        expect(data!.length).toBe(r.bytes);
        expect(r.hash).toBe(`sha256:${sha(data!)}`);
        expect(r.encoding).toBe('utf-8');
        if (r.format === 'csv') {
          expect(r.dialect).toEqual({ delimiter: ';' });
          const text = data!.toString('utf8');
          expect(validateCsv(text, r.schema as TableSchema)).toEqual([]);
        }
      }
    }
  });

  test('the validator catches wrong types, missing required values and bad headers', () => {
    const schema: TableSchema = {
      fields: [
        { name: 'a', type: 'integer', title: 'A', description: '', constraints: { required: true } },
        { name: 'b', type: 'year', title: 'B', description: '' },
      ],
      missingValues: [''],
    };
    expect(validateCsv('a;b\r\n1;2021\r\n', schema)).toEqual([]);
    expect(validateCsv('a;b\r\nx;2021\r\n;21\r\n', schema)).toEqual([
      "line 2, a: 'x' is not a valid integer",
      'line 3, a: required value missing',
      "line 3, b: '21' is not a valid year",
    ]);
    expect(validateCsv('a;c\r\n', schema)[0]).toMatch(/header/);
  });

  test('population.csv holds the INSEE figures; merged communes and Paris sum the population municipale only', async () => {
    const rows = (code: string) => unzip(latestZip(code)).then((f) => parseCsv(f.get('population.csv')!.toString('utf8')));
    expect((await rows('35238'))[1]).toEqual(['2021', '222485', '4434', '226919', '35238', '2021']);
    // INSEE: comptée à part and totale must not be added across communes; the file has no figure for the whole.
    expect((await rows('35062'))[1]).toEqual(['2021', '2370', '', '', '35062 35112', '2021']);
    expect((await rows('75056'))[1].slice(0, 5)).toEqual(['2021', '36819', '', '', '75101 75102']);
    expect((await rows('75101'))[1].slice(0, 4)).toEqual(['2021', '15919', '186', '16105']);
  });

  test('catalogue.csv has the SCDL catalogue fields, one row per dataset', async () => {
    const files = await unzip(latestZip('35238'));
    const [header, ...rows] = parseCsv(files.get('catalogue.csv')!.toString('utf8'));
    expect(header).toEqual([
      'COLL_NOM',
      'COLL_SIRET',
      'ID',
      'TITRE',
      'DESCRIPTION',
      'THEME',
      'PRODUCTEUR_NOM',
      'PRODUCTEUR_SIRET',
      'COUV_SPAT_MAILLE',
      'COUV_SPAT_NOM',
      'COUV_TEMP_DEBUT',
      'COUV_TEMP_FIN',
      'DATE_PUBL',
      'FREQ_MAJ',
      'DATE_MAJ',
      'MOTS_CLES',
      'LICENCE',
      'NOMBRE_RESSOURCES',
      'FORMAT_RESSOURCES',
      'URL',
    ]);
    expect(header).toEqual(CATALOGUE_SCHEMA.fields.map((f) => f.name));
    const byId = new Map(rows.map((r) => [r[2], Object.fromEntries(header.map((h, i) => [h, r[i]]))]));
    expect([...byId.keys()]).toEqual(['35238-cog', '35238-populations']);
    expect(byId.get('35238-populations')).toMatchObject({
      COLL_NOM: 'Rennes',
      COUV_SPAT_MAILLE: 'Communale',
      COUV_TEMP_DEBUT: '2021-01-01',
      LICENCE: 'Licence Ouverte-LO',
      FREQ_MAJ: 'Annuelle',
      FORMAT_RESSOURCES: 'csv',
      NOMBRE_RESSOURCES: '1',
    });
    const arr = parseCsv((await unzip(latestZip('75101'))).get('catalogue.csv')!.toString('utf8'));
    expect(arr[1][8]).toBe('Infracommunale');
  });

  test('LISEZMOI.md is in French and names the files, the millésime and how to publish', async () => {
    const md = (await unzip(latestZip('2A004'))).get('LISEZMOI.md')!.toString('utf8');
    expect(md).toMatch(/^# Données ouvertes d'Ajaccio \(2A004\)/);
    expect(md).toContain('| population.csv |');
    expect(md).toContain('millésime 2021');
    expect(md).toContain('data.gouv.fr');
    const commune = JSON.parse((await unzip(latestZip('2A004'))).get('commune.json')!.toString('utf8'));
    expect(commune).toMatchObject({ code: '2A004', nom: 'Ajaccio', departement: { code: '2A' }, region: { code: '94' } });
  });

  test('an unchanged commune is not rebuilt; a forced rebuild from scratch gives a byte-identical ZIP', async () => {
    // No source republished since: every pack is known unchanged without reading a row.
    const again = await buildPacks({ communes: CODES, log: () => undefined });
    expect(again).toMatchObject({ built: 0, unchanged: CODES.length, skipped: CODES.length, failed: 0 });
    // Re-reading the rows reaches the same verdict through the fingerprints.
    const reread = await buildPacks({ communes: CODES, recheck: true, log: () => undefined });
    expect(reread).toMatchObject({ built: 0, unchanged: CODES.length, skipped: 0, failed: 0 });
    const before = fs.readFileSync(latestZip('35238'));
    fs.rmSync(path.join(settings().PACKS_DIR, '35238'), { recursive: true });
    await pool().query(`delete from pack_builds where code = '35238'`);
    const rebuilt = await buildPacks({ communes: ['35238'], log: () => undefined });
    expect(rebuilt.built).toBe(1);
    const after = fs.readFileSync(latestZip('35238'));
    expect(sha(after)).toBe(sha(before));
    expect(after.equals(before)).toBe(true);
  });

  test('changing one population row rebuilds only that pack, and its changes.json says what changed', async () => {
    const v1 = readManifest(settings().PACKS_DIR, '35238')!;
    // A new publication of the source (the real way rows change): every pack is re-read, one is rebuilt.
    const changed = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-pop-')), 'donnees_communes.csv');
    fs.writeFileSync(
      changed,
      fs
        .readFileSync(FIXTURE, 'utf8')
        .split('\r\n')
        .map((l) => {
          const f = l.split(';');
          if (f[6] !== '35238') return l;
          f[8] = String(Number(f[8]) + 1);
          f[10] = String(Number(f[10]) + 1);
          return f.join(';');
        })
        .join('\r\n'),
    );
    expect((await runSource('populations', { file: changed, trigger: 'test', log: () => undefined })).status).toBe('succeeded');
    const r = await buildPacks({ communes: CODES, log: () => undefined });
    expect(r.skipped).toBe(0);
    expect(r).toMatchObject({ built: 1, unchanged: CODES.length - 1, failed: 0 });
    const v2 = readManifest(settings().PACKS_DIR, '35238')!;
    expect(v2.versions.map((v) => v.version)).toEqual([v2.latest, v1.latest]);
    expect(v2.versions[0].sha256).not.toBe(v1.versions[0].sha256);
    const files = await unzip(latestZip('35238'));
    const changes = JSON.parse(files.get('changes.json')!.toString('utf8'));
    expect(changes).toMatchObject({
      versionPrecedente: v1.latest,
      premiereVersion: false,
      fichiers: { ajoutes: [], retires: [], modifies: expect.arrayContaining(['population.csv']) },
      tables: [
        {
          fichier: 'population.csv',
          clePrimaire: ['millesime'],
          lignesAjoutees: 0,
          lignesRetirees: 0,
          lignesModifiees: 1,
          colonnesModifiees: { population_municipale: 1, population_totale: 1 },
          exemples: { modifiees: [{ cle: { millesime: '2021' }, colonnes: { population_municipale: { apres: '222486' } } }] },
        },
      ],
    });
    expect(changes.resume).toBe('Population légale 2021 modifiée (population_municipale, population_totale).');
    expect(parseCsv(files.get('population.csv')!.toString('utf8'))[1][1]).toBe('222486');
    // the other packs kept their single version
    expect(readManifest(settings().PACKS_DIR, '2A004')!.versions).toHaveLength(1);
  });

  test('only PACK_VERSIONS_KEPT versions stay on disk', async () => {
    const keep = settings().PACK_VERSIONS_KEPT;
    for (let i = 0; i < keep + 1; i++) {
      await pool().query(`update population_legale set pmun = pmun + 1 where code_commune = '2A004'`);
      await buildPacks({ communes: ['2A004'], recheck: true, log: () => undefined }); // edited by hand: re-read
    }
    const m = readManifest(settings().PACKS_DIR, '2A004')!;
    expect(m.versions).toHaveLength(keep);
    const zips = fs
      .readdirSync(path.join(settings().PACKS_DIR, '2A004'))
      .filter((f) => f.endsWith('.zip'))
      .sort();
    expect(zips).toEqual(m.versions.map((v) => v.file).sort());
    expect(fs.readdirSync(path.join(settings().PACKS_DIR, '2A004')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
