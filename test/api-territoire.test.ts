import path from 'node:path';
import zlib from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { buildServer } from '../src/server/app';
import { invalidateReferential } from '../src/communes/referential';
import { parseZoneId } from '../src/server/territoire/ids';
import { parseMask, applyMask } from '../src/server/territoire/mask';
import { resetSettings } from '../config/settings';

/** The 20 conformance tests of api-territoire.md §5.4, plus the id resolver of §5.2. */
let db: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;
let cogRun: Awaited<ReturnType<typeof runSource>>;

beforeAll(async () => {
  db = await freshDatabase();
  // INSEE URIs: the cog source finds saved Metadata API answers in the mirror (synthetic fixtures, upstream format).
  process.env.MIRROR_DIR = path.join(__dirname, 'fixtures', 'cog');
  resetSettings();
  cogRun = await runSource('cog', { trigger: 'test', log: () => undefined });
  process.env.MIRROR_DIR = '';
  resetSettings();
  // Legal populations (embedded fallback when no file) so that the populations pack dataset is published.
  await runSource('populations', { trigger: 'test', log: () => undefined });
  // BAN from its synthetic fixture (Ille-et-Vilaine), so that the ban_com pack dataset of test 18 exists.
  await runSource('ban', {
    file: path.join(__dirname, 'fixtures', 'ban', 'adresses-35.csv.gz'),
    millesime: '2024-06-01',
    trigger: 'test',
    log: () => undefined,
  });
  // A contour for Rennes (table of the geography sources, sql/migrations/200_geo.sql): a box around the city.
  const box = `st_multi(st_geomfromtext('POLYGON((-1.75 48.08,-1.62 48.08,-1.62 48.14,-1.75 48.14,-1.75 48.08))', 4326))`;
  await pool().query(`insert into commune_contours (code_commune, nom, departement, geom, geom_simple, cog, codes_sources, fichier)
                      values ('35238', 'Rennes', '35', ${box}, ${box}, 2026, '{35238}', 'test')`);
  // Two harvested datasets covering Rennes exactly, one covering the département.
  await pool().query(`insert into zone_datasets (id, title, uri, page, zones, created_at) values
    ('5a0000000000000000000001', 'Arbres de Rennes', 'https://www.data.gouv.fr/api/1/datasets/arbres-rennes/', 'https://www.data.gouv.fr/fr/datasets/arbres-rennes/', '{fr:commune:35238}', now()),
    ('5a0000000000000000000002', 'Parkings de Rennes', 'https://www.data.gouv.fr/api/1/datasets/parkings-rennes/', 'https://www.data.gouv.fr/fr/datasets/parkings-rennes/', '{fr:commune:35238}', now() - interval '1 day'),
    ('5a0000000000000000000003', 'Bornes Rennes 2', 'https://www.data.gouv.fr/api/1/datasets/bornes/', 'https://www.data.gouv.fr/fr/datasets/bornes/', '{fr:commune:35238}', now() - interval '2 day'),
    ('5a0000000000000000000004', 'Routes d''Ille-et-Vilaine', 'https://www.data.gouv.fr/api/1/datasets/routes-35/', 'https://www.data.gouv.fr/fr/datasets/routes-35/', '{fr:departement:35}', now())`);
  invalidateReferential();
  app = await buildServer();
});
afterAll(async () => {
  await app?.close();
  await db.cleanup();
});

const get = async (url: string, headers: Record<string, string> = {}) => {
  const r = await app.inject({ method: 'GET', url, headers });
  return { status: r.statusCode, headers: r.headers, body: r.body ? JSON.parse(r.body) : undefined };
};
const local = (u: string) => new URL(u).pathname + new URL(u).search;
type Feature = { id: string; type: string; geometry: { type: string; coordinates: unknown[] }; properties: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any -- zone properties are read as loosely as a reuser would;

describe('id resolver (§5.2)', () => {
  test('parses every era of ids', () => {
    expect(parseZoneId('fr:commune:35238')).toEqual({ level: 'fr:commune', code: '35238', at: undefined });
    expect(parseZoneId('fr:commune:35238@1942-01-01')).toEqual({ level: 'fr:commune', code: '35238', at: '1942-01-01' });
    expect(parseZoneId('fr/town/2a004')).toEqual({ level: 'fr:commune', code: '2A004', at: undefined });
    expect(parseZoneId('fr/county/35')?.level).toBe('fr:departement');
    expect(parseZoneId('fr/district/353')?.level).toBe('fr:arrondissement');
    expect(parseZoneId('fr:commune:35238%40latest')?.at).toBe('latest');
    expect(parseZoneId('fr:commune:35238@yesterday')).toBeUndefined();
    expect(parseZoneId('nope')).toBeUndefined();
  });
  test('2a004 and 2A004 give Ajaccio', async () => {
    const a = await get('/api/1/spatial/zone/fr:commune:2a004');
    const b = await get('/api/1/spatial/zone/fr/town/2A004');
    expect(a.status).toBe(200);
    expect(a.body.properties.name).toBe('Ajaccio');
    // Lower case, as data.gouv.fr's ids (test/peer-conformance.test.ts).
    expect(b.body.id).toBe('fr:commune:2a004');
    expect(b.body.properties.code).toBe('2A004');
  });
  test('a retired code resolves to its historical zone with successors; @latest is its own last version', async () => {
    const old = await get('/api/1/spatial/zone/fr:commune:35112');
    expect(old.status).toBe(200);
    expect(old.body.properties.code).toBe('35112');
    expect(old.body.properties.successors).toEqual(['fr:commune:35062']);
    expect(old.body.properties.validity.end).not.toBe('9999-12-31');
    // udata's GeoZone.latest(): the latest version of that code, not its successor (test/peer-conformance.test.ts).
    const latest = await get('/api/1/spatial/zone/fr:commune:35112@latest');
    expect(latest.body.id).toBe('fr:commune:35112@1942-01-01');
    expect(latest.body.properties.successors).toEqual(['fr:commune:35062']);
    expect((await get('/api/1/spatial/zone/fr:commune:35062')).body.properties.ancestors).toContain('fr:commune:35112');
    // A date after the end of the old commune: no version valid then.
    expect((await get('/api/1/spatial/zone/fr:commune:35112@2099-01-01')).status).toBe(404);
  });
  test('X-Fields masks the answer', async () => {
    expect(applyMask({ a: 1, b: { c: 2, d: 3 } }, parseMask('a,b{c}')!)).toEqual({ a: 1, b: { c: 2 } });
    const r = await get('/api/1/spatial/zone/fr:commune:35238', { 'x-fields': 'id,properties{code,name}' });
    expect(r.body).toEqual({ id: 'fr:commune:35238', properties: { code: '35238', name: 'Rennes' } });
  });
});

describe('INSEE URIs (uri of zones)', () => {
  test('from the Metadata API answers found in the mirror: the version valid for the COG; null when unknown', async () => {
    expect(cogRun.files.map((f) => f.resource).sort()).toEqual(['insee-geo-communes', 'insee-geo-departements']);
    // 35999 (uri not an INSEE URI) is quarantined; the others are staged.
    expect(cogRun.rejected).toBe(1);
    const rennes = await get('/api/1/spatial/zone/fr:commune:35238');
    expect(rennes.body.properties.uri).toBe('http://id.insee.fr/geo/commune/00000000-0000-4000-8000-000000035238');
    expect((await get('/api/1/spatial/zone/fr:commune:35062')).body.properties.uri).toBe(
      'http://id.insee.fr/geo/commune/00000000-0000-4000-8000-000002035062',
    );
    expect((await get('/api/1/spatial/zone/fr:departement:35')).body.properties.uri).toBe(
      'http://id.insee.fr/geo/departement/00000000-0000-4000-8000-000000000035',
    );
    expect((await get('/api/1/spatial/zone/fr:commune:75101')).body.properties.uri).toMatch(
      /^http:\/\/id\.insee\.fr\/geo\/arrondissementMunicipal\//,
    );
    // Not in the files: null, as before.
    expect((await get('/api/1/spatial/zone/fr:commune:35001')).body.properties.uri).toBeNull();
    expect((await get('/api/1/spatial/zone/fr:region:53')).body.properties.uri).toBeNull();
    // The retired code 35112 has no current zone: its historical zone carries no URI.
    expect((await get('/api/1/spatial/zone/fr:commune:35112')).body.properties.uri).toBeNull();
    // suggest and coverage carry the same uri.
    const sug = (await get('/api/1/spatial/zones/suggest?q=35238&size=1')).body;
    expect(sug[0].uri).toBe(rennes.body.properties.uri);
  });
});

describe('conformance (§5.4)', () => {
  test('1. zone fr:commune:35238', async () => {
    const r = await get('/api/1/spatial/zone/fr:commune:35238');
    expect(r.status).toBe(200);
    const f = r.body as Feature;
    expect(f.type).toBe('Feature');
    expect(f.id).toBe('fr:commune:35238');
    expect(f.properties.code).toBe('35238');
    expect(f.properties.level).toBe('fr:commune');
    expect(f.properties.name).toBe('Rennes');
    expect(f.properties.slug).toBe('Rennes');
    expect(f.properties.keys.postal).toEqual(expect.arrayContaining(['35000', '35200', '35700']));
    expect(f.properties.keys.siren).toBe('213502388');
    expect(f.properties.parents).toContain('fr:departement:35');
    expect(f.properties.validity).toEqual({ start: '1942-01-01', end: '9999-12-31' });
    expect(typeof f.properties.population).toBe('number');
    expect(f.geometry.type).toBe('MultiPolygon');
    expect(f.geometry.coordinates.length).toBeGreaterThanOrEqual(1);
    expect(f.properties.area).toBeGreaterThan(4000);
    // Without a contour: coordinates [] (a zone never lacks its geometry key).
    const noContour = await get('/api/1/spatial/zone/fr:commune:35001');
    expect(noContour.body.geometry).toEqual({ type: 'MultiPolygon', coordinates: [] });
  });
  test('2. dated, @latest and 2016 slash forms answer 200 directly, same code', async () => {
    for (const u of [
      '/api/1/spatial/zone/fr:commune:35238@1942-01-01',
      '/api/1/spatial/zone/fr:commune:35238@latest',
      '/api/1/spatial/zone/fr/town/35238',
      '/api/1/spatial/zone/fr/commune/35238/',
      '/api/1/spatial/zone/fr:commune:35238/',
      '/api/1/spatial/zone/fr:commune:35238%401942-01-01',
    ]) {
      const r = await get(u);
      expect([u, r.status]).toEqual([u, 200]);
      expect(r.body.properties.code).toBe('35238');
    }
  });
  test('3. unknown commune → 404 JSON message', async () => {
    const r = await get('/api/1/spatial/zone/fr:commune:99999');
    expect(r.status).toBe(404);
    expect(typeof r.body.message).toBe('string');
    expect(r.headers['content-type']).toMatch(/json/);
  });
  test('4. zones in request order', async () => {
    const r = await get('/api/1/spatial/zones/fr:commune:35238,fr:departement:35');
    expect(r.status).toBe(200);
    expect(r.body.type).toBe('FeatureCollection');
    expect(r.body.features.map((f: Feature) => f.id)).toEqual(['fr:commune:35238', 'fr:departement:35']);
    const rev = await get('/api/1/spatial/zones/fr/county/35,fr/town/35238/');
    expect(rev.body.features.map((f: Feature) => f.id)).toEqual(['fr:departement:35', 'fr:commune:35238']);
  });
  test('5. an unknown id among zones → 404, not 500', async () => {
    const r = await get('/api/1/spatial/zones/fr:commune:35238,nope');
    expect(r.status).toBe(404);
    expect(r.body.message).toMatch(/nope/);
  });
  test('6. datasets without dynamic: only real datasets', async () => {
    const r = await get('/api/1/spatial/zone/fr:commune:35238/datasets');
    expect(r.status).toBe(200);
    expect(Array.isArray(r.body)).toBe(true);
    expect(r.body.map((d: { id: string }) => d.id)).toEqual([
      '5a0000000000000000000001',
      '5a0000000000000000000002',
      '5a0000000000000000000003',
    ]);
    for (const d of r.body) {
      for (const k of ['id', 'class', 'title', 'uri', 'page']) expect(typeof d[k]).toBe('string');
      expect(d.class).toBe('Dataset');
    }
  });
  test('7. dynamic=1&size=0: pack entries whose uri resolves', async () => {
    const r = await get('/api/1/spatial/zone/fr:commune:35238/datasets?dynamic=1&size=0');
    expect(r.status).toBe(200);
    expect(r.body.length).toBeGreaterThanOrEqual(2);
    const ids = r.body.map((d: { id: string }) => d.id);
    expect(ids).toEqual(expect.arrayContaining(['pack_com', 'populations_com', 'ban_com']));
    expect(r.body.find((d: { id: string }) => d.id === 'populations_com').aliases).toContain('population_com');
    for (const d of r.body) {
      expect(d.class).not.toBe('Dataset');
      for (const k of ['id', 'class', 'title', 'uri', 'page', 'url']) expect(typeof d[k]).toBe('string');
      const u = await app.inject({ method: 'GET', url: local(d.uri) });
      expect([d.uri, u.statusCode]).toEqual([d.uri, 200]);
      expect(JSON.parse(u.body).id).toBe(d.id);
    }
    const pop = r.body.find((d: { id: string }) => d.id === 'populations_com');
    expect(local(pop.url)).toBe('/communes/35238/fichiers/population.csv');
    expect(local(r.body.find((d: { id: string }) => d.id === 'pack_com').url)).toBe('/communes/35238/pack.zip');
    // No pack built in this database yet: the entries say so.
    expect(r.body.every((d: { available: boolean }) => d.available === false)).toBe(true);
    // The 2017 alias resolves to the same entry.
    const alias = await get('/api/1/spatial/zone/fr:commune:35238/datasets/population_com');
    expect(alias.body.id).toBe('populations_com');
  });
  test('8. dynamic=true&size=2: dynamic first, at most 2 real datasets', async () => {
    const r = await get('/api/1/spatial/zone/fr:commune:35238/datasets?dynamic=true&size=2');
    const classes: string[] = r.body.map((d: { class: string }) => d.class);
    const firstReal = classes.indexOf('Dataset');
    expect(firstReal).toBeGreaterThan(0);
    expect(classes.slice(firstReal).every((c) => c === 'Dataset')).toBe(true);
    expect(classes.filter((c) => c === 'Dataset')).toHaveLength(2);
    expect((await get('/api/1/spatial/zone/fr:commune:35238/datasets?size=-1')).status).toBe(400);
  });
  test('9. legacy 2016 path gives the same as 7', async () => {
    const a = await get('/api/1/spatial/zone/fr/town/35238/datasets?dynamic=1&size=0');
    const b = await get('/api/1/spatial/zone/fr:commune:35238/datasets?dynamic=1&size=0');
    expect(a.status).toBe(200);
    expect(a.body.map((d: { id: string }) => d.id)).toEqual(b.body.map((d: { id: string }) => d.id));
  });
  test('10. children of département 35: its current communes, by name', async () => {
    const r = await get('/api/1/spatial/zone/fr:departement:35/children');
    expect(r.body.type).toBe('FeatureCollection');
    const ids = r.body.features.map((f: Feature) => f.id);
    expect(ids).toContain('fr:commune:35238');
    expect(r.body.features.every((f: Feature) => f.properties.level === 'fr:commune')).toBe(true);
    expect(ids.length).toBeGreaterThan(300);
    expect(ids.length).toBeLessThan(360);
    const names = r.body.features.map((f: Feature) => f.properties.name);
    expect([...names].sort((a, b) => a.localeCompare(b, 'fr'))).toEqual(names);
    const reg = await get('/api/1/spatial/zone/fr:region:53/children/');
    expect(reg.body.features.map((f: Feature) => f.properties.code).sort()).toEqual(['22', '29', '35', '56']);
  });
  test('11. children of a commune: its IRIS, or an empty FeatureCollection', async () => {
    const r = await get('/api/1/spatial/zone/fr:commune:35238/children');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ type: 'FeatureCollection', features: [] });
    const box = `st_multi(st_geomfromtext('POLYGON((-1.70 48.10,-1.69 48.10,-1.69 48.11,-1.70 48.11,-1.70 48.10))', 4326))`;
    await pool().query(`insert into iris (code_iris, nom_iris, type_iris, code_insee, code_commune, departement, geom, geom_simple, fichier)
                        values ('352380101', 'Centre', 'H', '35238', '35238', '35', ${box}, ${box}, 'test')`);
    const withIris = await get('/api/1/spatial/zone/fr:commune:35238/children');
    expect(withIris.body.features.map((f: Feature) => [f.id, f.properties.level, f.geometry.coordinates.length])).toEqual([
      ['fr:iris:352380101', 'fr:iris', 1],
    ]);
  });
  test('12. suggest renn: ranked by level as udata does (EPCI first, Rennes Métropole before the others; then Rennes first of the communes)', async () => {
    expect((await get('/api/1/spatial/zones/suggest?q=renn&size=5')).body.length).toBeLessThanOrEqual(5);
    const r = await get('/api/1/spatial/zones/suggest?q=renn&size=30');
    expect(r.status).toBe(200);
    expect(r.body[0].code).toBe('243500139');
    expect(r.body.find((z: { level: string }) => z.level === 'fr:commune').code).toBe('35238');
    for (const k of ['id', 'name', 'code', 'level', 'keys', 'score']) expect(r.body[0]).toHaveProperty(k);
    expect(typeof r.body[0].score).toBe('number');
    // Accent-insensitive.
    expect((await get('/api/1/spatial/zones/suggest?q=%C3%A9vreux&size=1')).body[0].name).toBe('CA Evreux Portes de Normandie');
  });
  test('13. suggest by postal code; q missing → 400', async () => {
    const r = await get('/api/1/spatial/zones/suggest?q=35200');
    expect(r.body.map((s: { code: string }) => s.code)).toContain('35238');
    const bad = await get('/api/1/spatial/zones/suggest');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/q/);
    expect((await get('/api/1/spatial/zones/suggest/?q=213502388')).body[0].code).toBe('35238');
  });
  test('14. levels and granularities', async () => {
    const levels = await get('/api/1/spatial/levels');
    const ids = levels.body.map((l: { id: string }) => l.id);
    expect(ids).toEqual(expect.arrayContaining(['fr:commune', 'fr:departement', 'fr:region', 'fr:epci']));
    for (const l of levels.body) {
      expect(typeof l.name).toBe('string');
      expect(Array.isArray(l.parents)).toBe(true);
    }
    expect(levels.body.find((l: { id: string }) => l.id === 'fr:commune').parents).toEqual(['fr:arrondissement', 'fr:epci']);
    const en = await get('/api/1/spatial/levels/?lang=en');
    expect(en.body.find((l: { id: string }) => l.id === 'fr:commune').name).toBe('French town');
    const g = await get('/api/1/spatial/granularities');
    expect(g.body.map((x: { id: string }) => x.id)).toEqual([...ids, 'poi', 'other']);
  });
  test('15. coverage of regions', async () => {
    const r = await get('/api/1/spatial/coverage/fr:region');
    expect(r.body.type).toBe('FeatureCollection');
    expect(r.body.features.length).toBe(18);
    for (const f of r.body.features) expect(Number.isInteger(f.properties.datasets) && f.properties.datasets >= 0).toBe(true);
    // Bretagne counts the 3 Rennes datasets and the département's one.
    expect(r.body.features.find((f: Feature) => f.properties.code === '53').properties.datasets).toBe(4);
    expect((await get('/api/1/spatial/coverage/fr:nothing')).status).toBe(404);
  });
  test('16. territory suggest by INSEE code', async () => {
    const r = await get('/api/1/territory/suggest/?q=35238');
    expect(r.status).toBe(200);
    expect(r.body[0]).toMatchObject({ id: 'fr:commune:35238', title: 'Rennes', parent: 'Ille-et-Vilaine' });
    expect(local(r.body[0].page)).toBe('/communes/35238');
    expect(r.body[0]).toHaveProperty('image_url');
  });
  test('17. territory suggest 35: the département first', async () => {
    const r = await get('/api/1/territory/suggest/?q=35');
    expect(r.body[0]).toMatchObject({ id: 'fr:departement:35', title: 'Ille-et-Vilaine', parent: 'Bretagne' });
    expect((await get('/api/1/territory/suggest?q=2a')).body[0].id).toBe('fr:departement:2a');
    expect((await get('/api/1/territory/suggest?q=974')).body[0].id).toBe('fr:departement:974');
  });
  test('18. oEmbed of a pack dataset', async () => {
    const ban = await get('/api/1/oembeds/?references=territory-fr:commune:35238:ban_com');
    expect(ban.status).toBe(200);
    expect(ban.body).toHaveLength(1);
    expect(ban.body[0].type).toBe('rich');
    expect(ban.body[0].html).toContain('/communes/35238/fichiers/adresses.csv');
    // The 2017 id of the same content.
    expect((await get('/api/1/oembeds/?references=territory-fr:commune:35238:ban_odbl_com')).body[0].html).toBe(ban.body[0].html);
    for (const ref of [
      'territory-fr:commune:35238:populations_com',
      'territory-fr:commune:35238@1942-01-01:population_com',
      'territory-fr-town-35238-population',
    ]) {
      const r = await get(`/api/1/oembeds/?references=${encodeURIComponent(ref)}`);
      expect([ref, r.status]).toEqual([ref, 200]);
      expect(r.body).toHaveLength(1);
      expect(r.body[0].type).toBe('rich');
      expect(r.body[0].html).toContain('/communes/35238/fichiers/population.csv');
    }
    const pack = await get('/api/1/oembeds?references=territory-fr:commune:35238:pack_com');
    expect(pack.body[0].html).toContain('/communes/35238/pack.zip');
    expect((await get('/api/1/oembeds?references=bogus')).status).toBe(400);
    // udata answers 400 with its own messages (test/peer-conformance.test.ts).
    expect((await get('/api/1/oembeds?references=territory-fr:commune:35238:nothing_com')).status).toBe(400);
    expect((await get('/api/1/oembeds?references=territory-fr:commune:99999:ban_com')).status).toBe(400);
  });
  test('19. CORS on every route', async () => {
    for (const u of [
      '/api/1/spatial/zone/fr:commune:35238',
      '/api/1/spatial/zone/fr:commune:99999',
      '/api/1/spatial/levels',
      '/api/1/territory/suggest?q=35',
    ]) {
      const r = await app.inject({ method: 'GET', url: u, headers: { origin: 'https://example.org' } });
      expect([u, r.headers['access-control-allow-origin']]).toEqual([u, '*']);
    }
  });
  test('20. /communes geojson with contour: properties have no contour (list route of the compat layer)', async () => {
    const r = await get('/communes?code=35238&format=geojson&geometry=contour');
    expect(r.status).toBe(200);
    expect(r.body.type).toBe('FeatureCollection');
    expect(r.body.features[0].type).toBe('Feature');
    expect(r.body.features[0].properties.code).toBe('35238');
    expect(r.body.features[0].properties).not.toHaveProperty('contour');
  });
});

describe('cached zone answers', () => {
  test('same bytes and ETag, 304 on If-None-Match, X-Fields and ids kept apart', async () => {
    const url = '/api/1/spatial/zone/fr:commune:35238';
    const a = await app.inject({ method: 'GET', url });
    const b = await app.inject({ method: 'GET', url });
    expect(b.body).toBe(a.body);
    expect(a.headers.etag).toMatch(/^"[\w-]+"$/);
    expect(b.headers.etag).toBe(a.headers.etag);
    expect((await app.inject({ method: 'GET', url, headers: { 'if-none-match': a.headers.etag as string } })).statusCode).toBe(304);
    const masked = await get(url, { 'x-fields': 'id,properties{code}' });
    expect(masked.body).toEqual({ id: 'fr:commune:35238', properties: { code: '35238' } });
    expect((await get(url)).body.properties.name).toBe('Rennes');
    expect((await get('/api/1/spatial/zone/fr:commune:35062')).body.id).toBe('fr:commune:35062');
    // Large cached answers go gzipped to clients that accept it, under their own ETag.
    const big = '/communes?codeDepartement=35';
    const plain = await app.inject({ method: 'GET', url: big });
    expect(plain.headers['content-encoding']).toBeUndefined();
    const gz = await app.inject({ method: 'GET', url: big, headers: { 'accept-encoding': 'gzip, deflate' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toBe('accept-encoding');
    expect(gz.headers.etag).not.toBe(plain.headers.etag);
    expect(zlib.gunzipSync(gz.rawPayload).toString()).toBe(plain.body);
    expect(
      (await app.inject({ method: 'GET', url: big, headers: { 'accept-encoding': 'gzip', 'if-none-match': gz.headers.etag as string } }))
        .statusCode,
    ).toBe(304);
  });
});
