import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { describeRealData, sharedFile } from './helpers/shared-data';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { resetSettings } from '../config/settings';

/**
 * Each pipeline on the genuine whole-line extracts of test/fixtures/<source>/real (see each
 * PROVENANCE.md) — BAN, COG, populations légales, Etalab contours — and on the IRIS republication of
 * ../shared/data/real/iris (read at run time). Each test loads the genuine file and checks three
 * communes (or features) against the raw lines, split here independently of the pipeline.
 */
const REAL = (source: string, file: string) => path.join(__dirname, 'fixtures', source, 'real', file);
const run = (id: string, file: string, resource?: string, millesime?: string) =>
  runSource(id, { file, resource, millesime, trigger: 'test', force: true, log: () => undefined });
/** Records of a `;` or `,` delimited extract without quoted delimiters (true of these extracts: checked by the width test). */
function records(file: string, delimiter: string): Record<string, string>[] {
  const [header, ...lines] = fs
    .readFileSync(file, 'utf8')
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .filter(Boolean);
  const names = header.split(delimiter);
  return lines.map((l) => {
    const cells = l.split(delimiter);
    if (cells.length !== names.length) throw new Error(`${path.basename(file)}: ${cells.length} cells for ${names.length} columns`);
    return Object.fromEntries(names.map((n, i) => [n, cells[i]]));
  });
}

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

describe('BAN: genuine adresses-75 lines (23 columns, no quotes, arrondissement codes)', () => {
  const file = REAL('ban', 'adresses-75-extract.csv');
  test('every line loads; three addresses as published, under Paris 75056 with their arrondissement kept', async () => {
    const raw = records(file, ';');
    // The BAN is looked up by its upstream name: the extract is copied under it.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ban-real-'));
    fs.copyFileSync(file, path.join(tmp, 'adresses-75.csv'));
    // The BAN carries no date: the operator states it (this extract was downloaded in June 2024).
    const r = await run('ban', path.join(tmp, 'adresses-75.csv'), undefined, '2024-06-01');
    expect(r).toMatchObject({ status: 'succeeded', read: raw.length, loaded: raw.length, rejected: 0 });
    for (const x of [raw[0], raw.find((l) => l.rep === 'bv')!, raw.find((l) => l.code_insee === '75116' || l.code_postal === '75116')!]) {
      const {
        rows: [a],
      } = await pool().query(
        `select code_commune, code_insee, numero, rep, nom_voie, code_postal, id_fantoir, lon, lat, nom_afnor from adresses where id = $1`,
        [x.id],
      );
      expect(a).toEqual({
        code_commune: '75056',
        code_insee: x.code_insee,
        numero: x.numero,
        rep: x.rep || null,
        nom_voie: x.nom_voie,
        code_postal: x.code_postal,
        id_fantoir: x.id_fantoir || null,
        lon: Number(x.lon),
        lat: Number(x.lat),
        nom_afnor: x.nom_afnor,
      });
    }
  });
});

describe('populations légales: genuine donnees_communes lines (CRLF) and Mayotte (LF)', () => {
  test('three communes (01001, Marseille 1er 13201, Ajaccio 2A004) and Mayotte 97601 equal their raw lines', async () => {
    const raw = records(REAL('populations', 'donnees_communes-extract.csv'), ';');
    const may = records(REAL('populations', 'donnees_communes_mayotte-extract.csv'), ';');
    // Both files of the edition, under their upstream names, as an operator's mirror holds them.
    const mirror = fs.mkdtempSync(path.join(os.tmpdir(), 'populations-real-'));
    fs.copyFileSync(REAL('populations', 'donnees_communes-extract.csv'), path.join(mirror, 'donnees_communes.csv'));
    fs.copyFileSync(REAL('populations', 'donnees_communes_mayotte-extract.csv'), path.join(mirror, 'donnees_communes_mayotte.csv'));
    process.env.MIRROR_DIR = mirror;
    resetSettings();
    const r = await runSource('populations', { trigger: 'test', force: true, log: () => undefined });
    process.env.MIRROR_DIR = '';
    resetSettings();
    expect(r).toMatchObject({ status: 'succeeded', read: raw.length + may.length, rejected: 0 });
    const pop = async (code: string) =>
      (await pool().query(`select pmun, pcap, ptot from population_legale where code_commune = $1 and millesime = $2`, [code, r.millesime]))
        .rows[0];
    for (const code of ['01001', '13201', '2A004']) {
      const x = raw.find((l) => l.COM === code)!;
      expect([code, await pop(code)]).toEqual([code, { pmun: Number(x.PMUN), pcap: Number(x.PCAP), ptot: Number(x.PTOT) }]);
    }
    const m = may.find((l) => l.CODCOM === '601')!;
    expect(
      (await pool().query(`select pmun, pcap, ptot from population_legale where code_commune = '97601' and millesime = $1`, [r.millesime]))
        .rows[0],
    ).toEqual({ pmun: Number(m.PMUN), pcap: Number(m.PCAP), ptot: Number(m.PTOT) });
  });
});

describe('contours: genuine Etalab communes-1000m features (code, nom, departement, region, epci, plm/commune)', () => {
  test('with its COG year stated, 01001, 76001 and Paris load as published; the arrondissements do not replace Paris', async () => {
    const file = REAL('contours', 'communes-1000m-extract.geojson');
    const features = JSON.parse(fs.readFileSync(file, 'utf8')).features as {
      properties: Record<string, unknown>;
      geometry: { type: string };
    }[];
    // The file does not state its COG year (only its download folder does): stated here as an operator would.
    const r = await run('contours', file, 'communes', '2024');
    expect(r).toMatchObject({ status: 'succeeded', read: features.length, rejected: 0, millesime: '2024' });
    for (const code of ['01001', '76001', '75056']) {
      const f = features.find((x) => x.properties.code === code)!;
      const {
        rows: [k],
      } = await pool().query(`select nom, cog, codes_sources, ST_GeometryType(geom) as t from commune_contours where code_commune = $1`, [
        code,
      ]);
      expect(k).toMatchObject({ nom: f.properties.nom, cog: 2024, codes_sources: [code], t: 'ST_MultiPolygon' });
    }
    expect(features.filter((x) => x.properties.commune === '75056').length).toBeGreaterThan(0);
    expect((await pool().query(`select count(*)::int as n from commune_contours where code_commune ~ '^751'`)).rows[0].n).toBe(0);
  });
});

describe('COG: genuine INSEE v_commune_2024 and v_mvt_commune_2024 lines (CRLF)', () => {
  test('three commune lines (a COM, a COMD sharing its code, Mamoudzou without ARR) and the 35112 → 35062 movement as published', async () => {
    const communes = records(REAL('cog', 'communes-v_commune_2024-extract.csv'), ',');
    const mvts = records(REAL('cog', 'mouvements-communes-v_mvt_commune_2024-extract.csv'), ',');
    // The COG year is the file's (INSEE names it v_commune_2024): stated as an operator would for a renamed copy.
    const rc = await run('cog', REAL('cog', 'communes-v_commune_2024-extract.csv'), 'communes', '2024');
    expect(rc.status).toBe('succeeded');
    for (const [typecom, com] of [
      ['COM', '35062'],
      ['COMD', '35062'],
      ['COM', '97611'],
    ]) {
      const x = communes.find((l) => l.TYPECOM === typecom && l.COM === com)!;
      const {
        rows: [c],
      } = await pool().query(`select libelle, dep, reg, arr, comparent from cog_communes_insee where typecom = $1 and com = $2`, [
        typecom,
        com,
      ]);
      expect(c).toEqual({ libelle: x.LIBELLE, dep: x.DEP || null, reg: x.REG || null, arr: x.ARR || null, comparent: x.COMPARENT || null });
    }
    const rm = await run('cog', REAL('cog', 'mouvements-communes-v_mvt_commune_2024-extract.csv'), 'mouvements', '2024');
    expect(rm.status).toBe('succeeded');
    const { rows } = await pool().query(
      `select mod, to_char(date_eff, 'YYYY-MM-DD') as d, typecom_av, com_av, typecom_ap, com_ap from cog_mouvements order by com_av, typecom_ap, com_ap`,
    );
    expect(rows).toEqual(
      mvts
        .map((m) => ({
          mod: Number(m.MOD),
          d: m.DATE_EFF,
          typecom_av: m.TYPECOM_AV,
          com_av: m.COM_AV,
          typecom_ap: m.TYPECOM_AP,
          com_ap: m.COM_AP,
        }))
        .sort((a, b) => a.com_av.localeCompare(b.com_av) || a.typecom_ap.localeCompare(b.typecom_ap) || a.com_ap.localeCompare(b.com_ap)),
    );
  });
});

describeRealData('IRIS: a genuine OpenDataSoft republication (lower-case typ_iris, insee_com as a JSON number)', () => {
  test('every feature loads; three IRIS keep their name, type and commune', async () => {
    const file = sharedFile('real', 'iris', 'iris-idf-ods-extract.geojson');
    const features = JSON.parse(fs.readFileSync(file, 'utf8')).features as { properties: Record<string, string | number> }[];
    // A republication says nothing of IGN's edition: the operator states it.
    const r = await run('iris', file, 'contours', '2024');
    expect(r).toMatchObject({ status: 'succeeded', read: features.length, loaded: features.length, rejected: 0 });
    for (const f of features.slice(0, 3)) {
      const p = f.properties;
      const {
        rows: [i],
      } = await pool().query(`select nom_iris, type_iris, code_insee, code_commune from iris where code_iris = $1`, [p.code_iris]);
      expect(typeof p.insee_com).toBe('number');
      expect(i).toEqual({
        nom_iris: p.nom_iris,
        type_iris: p.typ_iris,
        code_insee: String(p.insee_com).padStart(5, '0'),
        code_commune: String(p.insee_com).padStart(5, '0'),
      });
    }
  });
});
