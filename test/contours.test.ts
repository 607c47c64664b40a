import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { splitGeoJson } from '../src/geo/features';
import { pipeline as contours } from '../pipelines/contours';
import { ensureZoneContours } from '../src/geo/zone-geometry';
import { readEdition } from '../src/harvest/match';

const FIX = path.join(__dirname, 'fixtures', 'contours');
let db: Awaited<ReturnType<typeof freshDatabase>>;
const logs: string[] = [];
/** zone_contours_state: fresh when built from the current generation of its source tables. */
const zoneState = async () => (await pool().query(`select generation, built, built_at from zone_contours_state`)).rows[0];
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

describe('GeoJSON splitter', () => {
  test('yields each feature of a FeatureCollection cut anywhere, and a single Feature whole', async () => {
    const doc = JSON.stringify({
      type: 'FeatureCollection',
      bbox: [0, 0, 1, 1],
      features: [
        { type: 'Feature', properties: { nom: 'a "quoted" } name [x]' }, geometry: { type: 'Point', coordinates: [1, 2] } },
        { type: 'Feature', properties: { nom: 'b' }, geometry: null },
      ],
    });
    const chunks = async function* () {
      for (let i = 0; i < doc.length; i += 7) yield Buffer.from(doc.slice(i, i + 7));
    };
    const got = [];
    for await (const f of splitGeoJson(chunks(), 't')) got.push(JSON.parse(f.text).properties.nom);
    expect(got).toEqual(['a "quoted" } name [x]', 'b']);
    const single = JSON.stringify({ type: 'Feature', properties: { code: '35' }, geometry: { type: 'Point', coordinates: [0, 0] } });
    const one = [];
    for await (const f of splitGeoJson([Buffer.from(single)], 't')) one.push(f);
    expect(one).toHaveLength(1);
    expect(JSON.parse(one[0].text).properties.code).toBe('35');
  });
});

describe('contours pipeline (synthetic COG 2018 file)', () => {
  test('re-codes 2018 codes to the current COG, unites merged communes, quarantines bad features', async () => {
    const r = await runSource('contours', {
      file: path.join(FIX, 'communes-35-ille-et-vilaine.geojson'),
      resource: 'communes',
      millesime: '2018',
      trigger: 'test',
      log: (m) => logs.push(m),
    });
    expect(r.status).toBe('succeeded');
    expect(r.read).toBe(7);
    expect(r.rejected).toBe(2);
    const { rows: q } = await pool().query(`select line, reason from quarantine where run_id = $1 order by line`, [r.runId]);
    expect(q.map((x) => x.line)).toEqual([6, 7]);
    expect(q[0].reason).toMatch(/35999 is neither a commune of COG 2018/);
    expect(q[1].reason).toBe('feature 7 (35003): no geometry');
    const { rows } = await pool().query(
      `select code_commune, codes_sources, cog, ST_SRID(geom) as srid, round(ST_Area(geom)::numeric, 4)::float8 as area,
              ST_NumGeometries(geom) as parts, ST_IsValid(geom_simple) as ok from commune_contours order by code_commune`,
    );
    expect(rows.map((x) => x.code_commune)).toEqual(['35051', '35062', '35238', '35281']);
    const merged = rows.find((x) => x.code_commune === '35062');
    expect(merged).toMatchObject({ codes_sources: ['35062', '35112'], cog: 2018, srid: 4326, area: 0.02, parts: 1, ok: true });
    const layer = await pool().query(contours.pack!.layers![0].query, [['35062']]);
    expect(layer.rows).toHaveLength(1);
    expect(JSON.parse(layer.rows[0].geometry).type).toBe('MultiPolygon');
    expect(layer.rows[0].properties.codes_sources).toEqual(['35062', '35112']);
  });

  test('a single-Feature département file fills departement_contours', async () => {
    const r = await runSource('contours', {
      file: path.join(FIX, 'departement-35-ille-et-vilaine.geojson'),
      resource: 'departements',
      millesime: '2018',
      trigger: 'test',
      log: (m) => logs.push(m),
    });
    expect(r.status).toBe('succeeded');
    const { rows } = await pool().query(`select code, nom, GeometryType(geom) as t from departement_contours`);
    expect(rows).toEqual([{ code: '35', nom: 'Ille-et-Vilaine', t: 'MULTIPOLYGON' }]);
    // The commune contours of 35 are untouched by a département-only file.
    expect((await pool().query(`select count(*)::int as n from commune_contours`)).rows[0].n).toBe(4);
  });

  test('zone contours are rebuilt by the run itself: fresh right after it, no request pays the rebuild', async () => {
    // A change to the source tables (as any publication does) marks zone_contours stale...
    await pool().query(`update departement_contours set nom = nom where code = '35'`);
    const stale = await zoneState();
    expect(stale.built).not.toBe(stale.generation);
    // ...and a contours run rebuilds it before it ends.
    const r = await runSource('contours', {
      file: path.join(FIX, 'departement-35-ille-et-vilaine.geojson'),
      resource: 'departements',
      millesime: '2018',
      trigger: 'test',
      force: true,
      log: (m) => logs.push(m),
    });
    expect(r.status).toBe('succeeded');
    const fresh = await zoneState();
    expect(fresh.built).toBe(fresh.generation);
    expect(fresh.generation).not.toBe(stale.generation);
    expect(logs.some((m) => /zone contours rebuilt/.test(m))).toBe(true);
    // The official outline of 35 is there; the first reader finds nothing to rebuild.
    const { rows } = await pool().query(`select level, code, origine from zone_contours where level = 'departement' order by code`);
    expect(rows).toEqual([{ level: 'departement', code: '35', origine: 'departement_contours' }]);
    expect(await ensureZoneContours()).toBe(false);
    expect((await zoneState()).built_at).toEqual(fresh.built_at);
  });
});

describe('contours: the COG year is what the file or the operator says, never assumed', () => {
  test('a genuine Etalab file (its year only in the download folder) fails without a stated COG year, loads with --millesime', async () => {
    const file = path.join(FIX, 'real', 'communes-1000m-extract.geojson');
    const before = (await pool().query(`select count(*)::int as n from commune_contours`)).rows[0].n;
    // Which resource a name like this is cannot be told…
    await expect(runSource('contours', { file, trigger: 'test', log: () => {} })).rejects.toThrow(
      /cannot tell which resource of contours communes-1000m-extract\.geojson is: name it with --resource \(communes, departements, and \d+ copies recognised by their names\)$/,
    );
    // …and, named, its COG year is not known either.
    await expect(runSource('contours', { file, resource: 'communes', trigger: 'test', force: true, log: () => {} })).rejects.toThrow(
      /communes-1000m-extract\.geojson: the COG year of the codes is not known .*--millesime YYYY/,
    );
    expect((await pool().query(`select count(*)::int as n from commune_contours`)).rows[0].n).toBe(before);
    const r = await runSource('contours', { file, resource: 'communes', millesime: '2025', trigger: 'test', force: true, log: () => {} });
    expect(r.status).toBe('succeeded');
    expect(r.files[0]).toMatchObject({ resource: 'communes', edition: '2025', editionFrom: 'operator (--millesime)' });
    const { rows } = await pool().query(
      `select code_commune, cog from commune_contours where code_commune in ('01001', '75056', '76001') order by 1`,
    );
    expect(rows).toEqual([
      { code_commune: '01001', cog: 2025 },
      { code_commune: '75056', cog: 2025 },
      { code_commune: '76001', cog: 2025 },
    ]);
  });

  test('the declared Etalab files carry their COG year in their URL; the france-geojson copies of ../shared/data are COG 2018 by name', () => {
    const byName = new Map(contours.source.resources.map((r) => [r.name, r]));
    const communes = byName.get('communes')!;
    expect(communes.url).toMatch(
      /^https:\/\/etalab-datasets\.geo\.data\.gouv\.fr\/contours-administratifs\/\d{4}\/geojson\/communes-50m\.geojson$/,
    );
    expect(readEdition(communes.edition, { url: communes.url })?.edition).toBe(/\/(\d{4})\//.exec(communes.url!)![1]);
    const legacy = byName.get('communes-35')!;
    expect([legacy.url, legacy.mirrorOnly, legacy.mirrorNames, readEdition(legacy.edition, {})?.edition]).toEqual([
      undefined,
      true,
      ['communes-35-ille-et-vilaine.geojson'],
      '2018',
    ]);
  });
});
