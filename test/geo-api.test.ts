import type { FastifyInstance } from 'fastify';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { buildServer } from '../src/server/app';
import { resetGeometrySources } from '../src/geo/zone-geometry';
import { resetDataStamp } from '../src/server/http/cache';
import { nameScore } from '../src/server/routes/geo';
import { readPackageArray } from '../pipelines/cog/embedded';

/** geo.api.gouv.fr-style routes (api-territoire.md §3.1). */
let db: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;

beforeAll(async () => {
  db = await freshDatabase();
  app = await buildServer();
});
afterAll(async () => {
  await app?.close();
  await db.cleanup();
});

const get = async (url: string) => {
  const r = await app.inject({ method: 'GET', url });
  return { status: r.statusCode, type: r.headers['content-type'], body: JSON.parse(r.body) };
};

describe('/communes', () => {
  test('default fields of a commune, by code', async () => {
    const r = await get('/communes?code=35238');
    expect(r.status).toBe(200);
    expect(r.body).toEqual([
      {
        nom: 'Rennes',
        code: '35238',
        codeDepartement: '35',
        siren: '213502388',
        codeEpci: '243500139',
        codeRegion: '53',
        codesPostaux: ['35000', '35200', '35700'],
        population: expect.any(Number),
      },
    ]);
  });
  test('codePostal, siren, codeEpci, codeDepartement, codeRegion', async () => {
    expect((await get('/communes?codePostal=35200')).body.map((c: { code: string }) => c.code)).toContain('35238');
    expect((await get('/communes?siren=213502388')).body.map((c: { code: string }) => c.code)).toEqual(['35238']);
    const members = (await get('/communes?codeEpci=243500139&fields=code')).body;
    expect(members.length).toBe(43);
    const dep35 = (await get('/communes?codeDepartement=35')).body;
    const expected = (readPackageArray('communes') as { type: string; departement?: string }[]).filter(
      (c) => c.type === 'commune-actuelle' && c.departement === '35',
    ).length;
    expect(dep35.length).toBe(expected);
    const reg = (await get('/communes?codeRegion=94&fields=codeDepartement')).body;
    expect(new Set(reg.map((c: { codeDepartement: string }) => c.codeDepartement))).toEqual(new Set(['2A', '2B']));
  });
  test('nom is accent-insensitive and scored', async () => {
    const r = await get('/communes?nom=evreux&fields=nom,code&limit=3');
    expect(r.body[0]).toMatchObject({ nom: 'Évreux', code: '27229' });
    expect(typeof r.body[0]._score).toBe('number');
    expect(r.body.length).toBeLessThanOrEqual(3);
    expect(nameScore('rennes', 'rennes')).toBe(1);
    expect(nameScore('saint malo', 'malo')).toBeGreaterThan(0);
    expect(nameScore('rennes', 'paris')).toBe(0);
    const boosted = (await get('/communes?nom=saint&boost=population&limit=2')).body;
    expect(boosted[0].population).toBeGreaterThanOrEqual(boosted[1].population);
    // geo.api weighs the name score by population (_score = score × (1 + population / 100 000)):
    // a large city whose name starts with the query outranks a small exact-prefix match.
    for (const [nom, first] of [
      ['renn', 'Rennes'],
      ['mars', 'Marseille'],
      ['nant', 'Nantes'],
    ]) {
      const r = (await get(`/communes?nom=${nom}&boost=population&fields=nom&limit=3`)).body;
      expect(r[0].nom).toBe(first);
      expect(r[0]._score).toBeGreaterThan(1);
    }
    // Without boost, the name score alone: Renno (5 letters) is closer to "renn" than Rennes.
    expect((await get('/communes?nom=renn&fields=nom&limit=1')).body[0].nom).toBe('Renno');
  });
  test('type, codeParent, zone, ancienCode', async () => {
    const arr = (await get('/communes?codeParent=75056')).body;
    expect(arr).toHaveLength(20);
    expect(
      (await get('/communes?type=arrondissement-municipal&codeDepartement=13&fields=type')).body.every(
        (c: { type: string }) => c.type === 'arrondissement-municipal',
      ),
    ).toBe(true);
    const com = (await get('/communes?zone=com&fields=zone')).body;
    expect(com.length).toBeGreaterThan(0);
    expect(com.every((c: { zone: string }) => c.zone === 'com')).toBe(true);
    expect((await get('/communes?ancienCode=35112')).body.map((c: { code: string }) => c.code)).toEqual(['35062']);
    const defaults = (await get('/communes?codeDepartement=75&fields=type')).body;
    expect(defaults.every((c: { type: string }) => c.type === 'commune-actuelle')).toBe(true);
  });
  test('fields: nom and code always, objects for departement/region/epci', async () => {
    const r = (await get('/communes?code=35238&fields=departement,region,epci,anciensCodes,zone')).body[0];
    expect(r).toEqual({
      nom: 'Rennes',
      code: '35238',
      departement: { code: '35', nom: 'Ille-et-Vilaine' },
      region: { code: '53', nom: 'Bretagne' },
      epci: { code: '243500139', nom: expect.stringMatching(/Rennes/) },
      anciensCodes: [],
      zone: 'metro',
    });
  });
  test('400s: bad limit, bad type, unfiltered geojson or contour (an unknown format or geometry falls back: test/peer-conformance.test.ts)', async () => {
    for (const u of [
      '/communes?limit=-1',
      '/communes?limit=abc',
      '/communes?type=village',
      '/communes?format=geojson',
      '/communes?fields=contour',
      '/communes?codePostal=35',
    ]) {
      const r = await get(u);
      expect([u, r.status]).toEqual([u, 400]);
      expect(typeof r.body.message).toBe('string');
    }
  });
  test('limit', async () => {
    expect((await get('/communes?codeDepartement=35&limit=5')).body).toHaveLength(5);
    expect((await get('/communes?codeDepartement=35&limit=0')).body).toHaveLength(0);
  });
  test('format=geojson: FeatureCollection, geometry fields out of properties', async () => {
    const r = await get('/communes?code=35238&format=geojson&geometry=contour&fields=nom,code,contour,centre');
    expect(r.type).toMatch(/geo\+json/);
    expect(r.body.type).toBe('FeatureCollection');
    expect(r.body.features[0].properties).toEqual({ nom: 'Rennes', code: '35238' });
    expect(r.body.features[0]).toHaveProperty('geometry');
  });
});

describe('/communes/{code}: the geo.api parameters on the single commune', () => {
  test("without fields: the list route's defaults, then type, pack and donnees", async () => {
    const one = await get('/communes/35238');
    expect(one.status).toBe(200);
    const [listed] = (await get('/communes?code=35238')).body;
    expect(Object.keys(one.body)).toEqual([...Object.keys(listed), 'type', 'pack', 'donnees']);
    expect(one.body).toMatchObject({ ...listed, type: 'commune-actuelle' });
  });
  test('fields: nom and code always, same values as the list route; pack and donnees by name', async () => {
    const fields = 'departement,region,epci,anciensCodes,zone,population,type';
    const one = (await get(`/communes/35238?fields=${fields}`)).body;
    expect(one).toEqual((await get(`/communes?code=35238&fields=${fields}`)).body[0]);
    expect(Object.keys(one).slice(0, 2)).toEqual(['nom', 'code']);
    expect(one).not.toHaveProperty('pack');
    expect(Object.keys((await get('/communes/35238?fields=code,donnees,pack')).body)).toEqual(['nom', 'code', 'donnees', 'pack']);
  });
  test('format=geojson: one Feature, geometry out of properties; geometry=contour|bbox|centre', async () => {
    const f = await get('/communes/35238?format=geojson&fields=nom,code,centre');
    expect(f.type).toMatch(/geo\+json/);
    expect(f.body).toEqual({ type: 'Feature', geometry: null, properties: { nom: 'Rennes', code: '35238' } });
    for (const g of ['centre', 'contour', 'bbox'])
      expect((await get(`/communes/35238?format=geojson&geometry=${g}`)).body.type).toBe('Feature');
    expect((await get('/communes/35238?format=geojson')).body.properties).toMatchObject({
      nom: 'Rennes',
      code: '35238',
      type: 'commune-actuelle',
    });
  });
  test('unknown format or geometry fall back to the defaults as on the list route; 404 and 301 (query kept) as before', async () => {
    for (const u of ['/communes/35238?format=xml', '/communes/35238?geometry=shape', '/communes/35238?format=']) {
      const r = await get(u);
      expect([u, r.status, r.body.nom]).toEqual([u, 200, 'Rennes']);
    }
    expect((await get('/communes/99999?fields=nom')).status).toBe(404);
    expect((await get('/communes/abc')).status).toBe(404);
    const old = await app.inject({ method: 'GET', url: '/communes/35112?fields=nom&format=geojson' });
    expect(old.statusCode).toBe(301);
    expect(old.headers.location).toBe('/communes/35062?fields=nom&format=geojson');
    expect((await get('/communes/2a004?fields=nom')).body).toEqual({ nom: 'Ajaccio', code: '2A004' });
  });
  test('cached answers: same bytes, ETag and 304', async () => {
    const a = await app.inject({ method: 'GET', url: '/communes?codeDepartement=35&fields=nom,code,population' });
    const b = await app.inject({ method: 'GET', url: '/communes?codeDepartement=35&fields=nom,code,population' });
    expect(b.body).toBe(a.body);
    expect(a.headers.etag).toMatch(/^"[\w-]+"$/);
    expect(b.headers.etag).toBe(a.headers.etag);
    const nm = await app.inject({
      method: 'GET',
      url: '/communes?codeDepartement=35&fields=nom,code,population',
      headers: { 'if-none-match': a.headers.etag as string },
    });
    expect(nm.statusCode).toBe(304);
    expect(nm.body).toBe('');
    const one = await app.inject({ method: 'GET', url: '/communes/35238' });
    const again = await app.inject({ method: 'GET', url: '/communes/35238', headers: { 'if-none-match': one.headers.etag as string } });
    expect(again.statusCode).toBe(304);
  });
});

describe('geometry from a contour table, when one exists', () => {
  beforeAll(async () => {
    // One contour in the table of the geography sources (sql/migrations/200_geo.sql): a box around Rennes.
    const box = `st_multi(st_geomfromtext('POLYGON((-1.75 48.08,-1.62 48.08,-1.62 48.14,-1.75 48.14,-1.75 48.08))', 4326))`;
    await pool().query(`insert into commune_contours (code_commune, nom, departement, geom, geom_simple, cog, codes_sources, fichier)
                        values ('35238', 'Rennes', '35', ${box}, ${box}, 2026, '{35238}', 'test')`);
    resetGeometrySources();
  });
  afterAll(async () => {
    await pool().query(`delete from commune_contours where fichier = 'test'`);
    resetGeometrySources();
  });
  test('centre, contour, bbox and surface', async () => {
    const r = (await get('/communes?code=35238&fields=centre,contour,bbox,surface')).body[0];
    expect(r.centre.type).toBe('Point');
    expect(r.centre.coordinates[0]).toBeCloseTo(-1.685, 2);
    expect(r.contour.type).toBe('MultiPolygon');
    expect(r.bbox.type).toBe('Polygon');
    expect(r.surface).toBeGreaterThan(4000);
    const f = (await get('/communes?code=35238&format=geojson')).body.features[0];
    expect(f.geometry.type).toBe('Point');
    // The single commune: same geometries, in a Feature or as fields (answers cached before the contour are not served).
    expect((await get('/communes/35238?format=geojson')).body.geometry.type).toBe('Point');
    expect((await get('/communes/35238?format=geojson&geometry=contour')).body.geometry.type).toBe('MultiPolygon');
    expect((await get('/communes/35238?format=geojson&geometry=bbox')).body.geometry.type).toBe('Polygon');
    const one = (await get('/communes/35238?fields=centre,bbox,surface')).body;
    expect(one).toEqual({ nom: 'Rennes', code: '35238', centre: r.centre, bbox: r.bbox, surface: r.surface });
    const z = (await get('/api/1/spatial/zone/fr:commune:35238')).body;
    expect(z.geometry.type).toBe('MultiPolygon');
    expect(z.geometry.coordinates.length).toBeGreaterThanOrEqual(1);
    expect(z.properties.area).toBeGreaterThan(4000);
  });
  test('mairie: no town-hall source, so null (documented deviation), even when the centre is known', async () => {
    const r = (await get('/communes?code=35238&fields=mairie,centre')).body[0];
    expect(r.centre.type).toBe('Point');
    expect(r).toHaveProperty('mairie', null);
    expect((await get('/communes/35238?fields=mairie')).body).toEqual({ nom: 'Rennes', code: '35238', mairie: null });
    const f = (await get('/communes/35238?format=geojson&geometry=mairie&fields=nom')).body;
    expect(f).toEqual({ type: 'Feature', geometry: null, properties: { nom: 'Rennes', code: '35238' } });
    // The OpenAPI description says so.
    const spec = (await get('/openapi.json')).body;
    const param = spec.paths['/communes'].get.parameters.find((x: { name: string }) => x.name === 'geometry');
    expect(param.description).toMatch(/mairie is always null/);
    // Départements, régions and EPCI have no mairie: as a geometry it is unknown, so the default (centre), as
    // geo.api does for an unknown geometry; as a field it is left out.
    for (const u of ['/epcis/243500139?format=geojson&geometry=mairie', '/departements?geometry=mairie', '/regions/53?geometry=mairie']) {
      const e = await get(u);
      expect([u, e.status]).toEqual([u, 200]);
    }
    expect((await get('/departements/35?fields=mairie,nom')).body).toEqual({ nom: 'Ille-et-Vilaine', code: '35' });
  });
});

describe('département, région and EPCI contours: union of the commune contours, computed once', () => {
  // A synthetic 0.01° grid cell for every current commune of Corse (région 94: 2A then 2B, by code), 20 cells a row.
  let epci: string;
  beforeAll(async () => {
    await pool().query(`
      insert into commune_contours (code_commune, nom, departement, geom, geom_simple, cog, codes_sources, fichier)
      select code, nom, departement, g, g, 2026, array[code], 'grid'
        from (select code, nom, departement,
                     st_multi(st_makeenvelope(8.5 + (i % 20) * 0.01, 41.5 + (i / 20) * 0.01, 8.5 + (i % 20 + 1) * 0.01, 41.5 + (i / 20 + 1) * 0.01, 4326)) as g
                from (select code, nom, departement, (row_number() over (order by code) - 1)::int as i
                        from communes where type = 'commune-actuelle' and region = '94') c) x`);
    // An EPCI all of whose members are in Corse.
    epci = (
      await pool().query(`select m.epci from epci_membres m join communes c on c.code = m.commune
                                 group by m.epci having bool_and(c.region = '94') order by m.epci limit 1`)
    ).rows[0].epci;
    resetGeometrySources();
    resetDataStamp();
  });
  afterAll(async () => {
    await pool().query(`delete from commune_contours where fichier = 'grid'`);
    resetGeometrySources();
    resetDataStamp();
  });
  const extent = (g: { coordinates: number[][][][] }) => {
    const pts = g.coordinates.flat(2);
    return [
      Math.min(...pts.map((p) => p[0])),
      Math.min(...pts.map((p) => p[1])),
      Math.max(...pts.map((p) => p[0])),
      Math.max(...pts.map((p) => p[1])),
    ].map((v) => Math.round(v * 1000) / 1000);
  };

  test('geo.api routes: contour, centre, bbox and surface of a région, its départements and an EPCI', async () => {
    const n2A = Number(
      (await pool().query(`select count(*) from communes where type = 'commune-actuelle' and departement = '2A'`)).rows[0].count,
    );
    const n94 = Number(
      (await pool().query(`select count(*) from communes where type = 'commune-actuelle' and region = '94'`)).rows[0].count,
    );
    const reg = (await get('/regions/94?format=geojson&geometry=contour')).body;
    expect(reg.type).toBe('Feature');
    expect(reg.geometry.type).toBe('MultiPolygon');
    // The union of full rows of cells is one polygon without holes; its extent is the grid's.
    expect(reg.geometry.coordinates).toHaveLength(1);
    expect(reg.geometry.coordinates[0]).toHaveLength(1);
    expect(extent(reg.geometry)).toEqual([8.5, 41.5, 8.7, 41.5 + Math.ceil(n94 / 20) * 0.01].map((v) => Math.round(v * 1000) / 1000));
    const dep = (await get('/departements/2A?fields=nom,code,contour,centre,bbox,surface')).body;
    expect(dep.contour.type).toBe('MultiPolygon');
    expect(dep.centre.type).toBe('Point');
    expect(dep.bbox.type).toBe('Polygon');
    // Sum of the cells' areas (≈ 0.01° × 0.01° at 41.5° N ≈ 92 ha each).
    expect(dep.surface / n2A).toBeGreaterThan(85);
    expect(dep.surface / n2A).toBeLessThan(95);
    expect((await get('/departements/2B?format=geojson&geometry=bbox')).body.geometry.type).toBe('Polygon');
    const e = (await get(`/epcis/${epci}?format=geojson&geometry=contour`)).body;
    expect(e.geometry.type).toBe('MultiPolygon');
    // Lists: the complete zones have a geometry; the others (no contour for all their communes) null.
    const regions = (await get('/regions?format=geojson&geometry=contour')).body.features;
    expect(regions.find((f: { properties: { code: string } }) => f.properties.code === '94').geometry.type).toBe('MultiPolygon');
    expect(regions.find((f: { properties: { code: string } }) => f.properties.code === '53').geometry).toBeNull();
    const deps = (await get('/regions/94/departements?format=geojson')).body.features;
    expect(deps.map((f: { geometry: { type: string } }) => f.geometry.type)).toEqual(['Point', 'Point']);
  });

  test('API Territoire zones at fr:region, fr:departement and fr:epci carry the MultiPolygon and the area', async () => {
    for (const id of ['fr:region:94', 'fr:departement:2A', 'fr:departement:2B', `fr:epci:${epci}`]) {
      const z = (await get(`/api/1/spatial/zone/${id}`)).body;
      expect([id, z.geometry.type, z.geometry.coordinates.length > 0]).toEqual([id, 'MultiPolygon', true]);
      expect(z.properties.area).toBeGreaterThan(0);
    }
    // Incomplete (one commune contour at most in Ille-et-Vilaine): no geometry rather than a wrong shape.
    expect((await get('/api/1/spatial/zone/fr:departement:35')).body.geometry).toEqual({ type: 'MultiPolygon', coordinates: [] });
    const coverage = (await get('/api/1/spatial/coverage/fr:region')).body.features;
    expect(coverage.find((f: { id: string }) => f.id === 'fr:region:94').geometry.type).toBe('MultiPolygon');
  });

  test('computed once per change of the contours, not per request; a change makes it recompute', async () => {
    const state = async () => (await pool().query(`select generation, built, built_at from zone_contours_state`)).rows[0];
    const before = await state();
    expect(before.built).toBe(before.generation);
    const rows = Number(
      (await pool().query(`select count(*) from zone_contours where level = 'departement' and code in ('2A', '2B')`)).rows[0].count,
    );
    expect(rows).toBe(2);
    // New requests (cache emptied) read the table: no rebuild.
    resetDataStamp();
    expect((await get('/api/1/spatial/zone/fr:departement:2B?x=1')).status).toBe(200);
    expect((await get('/departements/2A?format=geojson&geometry=contour&x=2')).body.geometry.type).toBe('MultiPolygon');
    expect((await state()).built_at).toEqual(before.built_at);
    // One commune of 2A loses its contour: 2A and Corse are incomplete now, 2B is still whole.
    await pool().query(
      `delete from commune_contours where code_commune = (select min(code) from communes where type = 'commune-actuelle' and departement = '2A')`,
    );
    resetDataStamp();
    expect((await get('/departements/2A?format=geojson&geometry=contour')).body.geometry).toBeNull();
    expect((await get('/regions/94?format=geojson&geometry=contour')).body.geometry).toBeNull();
    expect((await get('/departements/2B?format=geojson&geometry=contour')).body.geometry.type).toBe('MultiPolygon');
    const after = await state();
    expect(after.built).toBe(after.generation);
    expect(after.generation).toBeGreaterThan(before.generation);
  });
});

describe('/departements, /regions, /epcis', () => {
  test('départements: list (metro+drom by default), one, its communes', async () => {
    const all = (await get('/departements')).body;
    expect(all).toHaveLength(101);
    expect(all.find((d: { code: string }) => d.code === '35')).toEqual({ nom: 'Ille-et-Vilaine', code: '35', codeRegion: '53' });
    expect((await get('/departements/35')).body).toEqual({ nom: 'Ille-et-Vilaine', code: '35', codeRegion: '53' });
    expect((await get('/departements/2a')).body.code).toBe('2A');
    expect((await get('/departements/99')).status).toBe(404);
    const communes = (await get('/departements/35/communes?fields=nom')).body;
    expect(communes.some((c: { code: string }) => c.code === '35238')).toBe(true);
    expect((await get('/departements?codeRegion=53')).body.map((d: { code: string }) => d.code)).toEqual(['22', '29', '35', '56']);
    expect((await get('/departements?nom=ille')).body[0].code).toBe('35');
    expect((await get('/departements/35/communes?limit=x')).status).toBe(400);
  });
  test('régions: list, one, its départements', async () => {
    expect((await get('/regions')).body).toHaveLength(18);
    expect((await get('/regions?zone=com')).body.length).toBeGreaterThan(0);
    expect((await get('/regions/53')).body).toEqual({ nom: 'Bretagne', code: '53' });
    expect((await get('/regions/53/departements')).body.map((d: { code: string }) => d.code)).toEqual(['22', '29', '35', '56']);
    expect((await get('/regions/00')).status).toBe(404);
    expect((await get('/regions?nom=bretagne')).body[0].code).toBe('53');
  });
  test('EPCI: list, one, its communes', async () => {
    const one = (await get('/epcis/243500139')).body;
    expect(one).toMatchObject({ code: '243500139', codesDepartements: ['35'], codesRegions: ['53'] });
    expect(typeof one.population).toBe('number');
    expect((await get('/epcis?codeDepartement=35')).body.some((e: { code: string }) => e.code === '243500139')).toBe(true);
    expect((await get('/epcis/243500139/communes?fields=nom')).body).toHaveLength(43);
    expect((await get('/epcis/000000000')).status).toBe(404);
    expect((await get('/epcis?nom=rennes%20metropole')).body[0].code).toBe('243500139');
  });
});
