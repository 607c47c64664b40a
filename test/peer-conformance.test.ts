import type { FastifyInstance } from 'fastify';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { buildServer } from '../src/server/app';
import { invalidateReferential } from '../src/communes/referential';

/**
 * What the peers do, read in their own public tests (and, where they have none, in the code those
 * tests exercise), and the same request here. Each test names the peer file and commit:
 *  - geo.api.gouv.fr: datagouv/api-geo @ 4aa08283d93a7f051cf521a796deca6ad659b88c;
 *  - data.gouv.fr today: opendatateam/udata @ 25b5a2ddd43798da1d7594823e5e9c10ddba34a1;
 *  - data.gouv.fr with territories (2020): opendatateam/udata v2.5.0 @ 1553c0f2ec886bc911b3a8c08411315f3584c792.
 * Issue 12 ("Reusers") listed each divergence below; each test states the peer's behaviour.
 */
let db: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;

beforeAll(async () => {
  db = await freshDatabase();
  await runSource('populations', { trigger: 'test', log: () => undefined });
  // Two contours, boxes around Rennes and Ajaccio (table of the geography sources).
  const box = (x0: number, y0: number, x1: number, y1: number) =>
    `st_multi(st_geomfromtext('POLYGON((${x0} ${y0},${x1} ${y0},${x1} ${y1},${x0} ${y1},${x0} ${y0}))', 4326))`;
  await pool().query(`insert into commune_contours (code_commune, nom, departement, geom, geom_simple, cog, codes_sources, fichier) values
    ('35238', 'Rennes', '35', ${box(-1.75, 48.08, -1.62, 48.14)}, ${box(-1.75, 48.08, -1.62, 48.14)}, 2026, '{35238}', 'test'),
    ('2A004', 'Ajaccio', '2A', ${box(8.6, 41.9, 8.8, 42.0)}, ${box(8.6, 41.9, 8.8, 42.0)}, 2026, '{2A004}', 'test')`);
  invalidateReferential();
  app = await buildServer();
});
afterAll(async () => {
  await app?.close();
  await db.cleanup();
});

const get = async (url: string) => {
  const r = await app.inject({ method: 'GET', url });
  return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
};
const codes = (body: { code: string }[]) => body.map((c) => c.code);

describe('geo.api.gouv.fr (datagouv/api-geo @ 4aa0828)', () => {
  // test/communes.js "All criteria" queries with `pointInContour` (the [lon, lat] that server.js builds
  // from `lat` and `lon`, lines 118–134 of server.js: both finite and in range, else ignored); the
  // GeoIndex test of test/searchableCollection.js says "#find(point): Not tested yet", so the parsing
  // rules are read in server.js.
  test('lat + lon: the communes whose contour holds the point; a bad or half pair is ignored', async () => {
    expect(codes((await get('/communes?lat=48.11&lon=-1.68')).body)).toEqual(['35238']);
    expect(codes((await get('/communes?lat=41.93&lon=8.74&fields=nom')).body)).toEqual(['2A004']);
    // A point in the sea: no commune (not every commune).
    expect((await get('/communes?lat=47.0&lon=-4.0')).body).toEqual([]);
    // Combined with another filter, like every criterion of search().
    expect((await get('/communes?lat=48.11&lon=-1.68&codeDepartement=2A')).body).toEqual([]);
    const all = (await get('/communes?fields=code')).body.length;
    expect(all).toBeGreaterThan(34_000);
    for (const u of ['/communes?lat=200&lon=-1.68&fields=code', '/communes?lat=48.11&fields=code', '/communes?lat=abc&lon=def&fields=code'])
      expect([u, (await get(u)).body.length]).toEqual([u, all]);
  });

  // test/communes.js "Boost for population (integration)": `nant` without boost does not give Nantes
  // first, with boost=population it does (lib/communes.js: score × (1 + population / 100,000)).
  test('boost=population: nant → Nantes, renn → Rennes, mars → Marseille first; without boost, not Nantes first', async () => {
    expect((await get('/communes?nom=nant&fields=nom')).body[0].nom).not.toBe('Nantes');
    expect((await get('/communes?nom=nant&boost=population&fields=nom')).body[0].nom).toBe('Nantes');
    expect((await get('/communes?nom=renn&boost=population&fields=nom')).body[0].nom).toBe('Rennes');
    expect((await get('/communes?nom=mars&boost=population&fields=nom')).body[0].nom).toBe('Marseille');
    const boosted = (await get('/communes?nom=renn&boost=population&fields=nom')).body;
    // _score is the boosted score, in decreasing order.
    expect(boosted.every((c: { _score: number }, i: number) => i === 0 || boosted[i - 1]._score >= c._score)).toBe(true);
  });

  // test/helpers.js initFormat(): "should not accept geojson format" (entities without geometries → json),
  // "should set default geometry in req when geometry in query is unknown (geojson)" → the default.
  test('an unknown format answers json; an unknown geometry the default one (centre)', async () => {
    const xml = await get('/communes?code=35238&format=xml');
    expect([xml.status, Array.isArray(xml.body), xml.body[0].nom]).toEqual([200, true, 'Rennes']);
    const shape = await get('/communes?code=35238&format=geojson&geometry=shape');
    const centre = await get('/communes?code=35238&format=geojson');
    expect(shape.status).toBe(200);
    expect(shape.body).toEqual(centre.body);
    expect(shape.body.features[0].geometry.type).toBe('Point');
    expect((await get('/communes/35238?format=xml')).body.nom).toBe('Rennes');
    expect((await get('/departements/35?format=geojson&geometry=mairie')).body.geometry?.type ?? null).toBe(
      (await get('/departements/35?format=geojson')).body.geometry?.type ?? null,
    );
  });
});

describe('data.gouv.fr spatial API (opendatateam/udata @ 25b5a2ddd)', () => {
  // udata/core/spatial/geoids.py `parse` lower-cases every GeoID (`spatial.lower()`); the zones it serves
  // are keyed that way, hence `fr:commune:2b033`. (tests/test_geoid.py checks the parsing, not the case.)
  test('Corsican ids are lower case, whatever the case asked; the code keeps the COG spelling', async () => {
    for (const id of ['fr:commune:2B033', 'fr:commune:2b033', 'fr/town/2B033']) {
      const r = await get(`/api/1/spatial/zone/${id}`);
      expect([id, r.status, r.body.id, r.body.properties.code]).toEqual([id, 200, 'fr:commune:2b033', '2B033']);
    }
    expect((await get('/api/1/spatial/zone/fr:departement:2A')).body.id).toBe('fr:departement:2a');
    expect((await get('/api/1/spatial/zone/fr:commune:2A004')).body.properties.parents).toContain('fr:departement:2a');
  });

  // tests/test_api.py test_coverage_empty: a level without zones answers an empty FeatureCollection, 200.
  test('coverage answers for every level /levels lists, fr:iris included (empty without IRIS)', async () => {
    const levels = (await get('/api/1/spatial/levels')).body as { id: string }[];
    expect(levels.map((l) => l.id)).toContain('fr:iris');
    for (const { id } of levels) {
      const r = await get(`/api/1/spatial/coverage/${id}`);
      expect([id, r.status, r.body.type]).toEqual([id, 200, 'FeatureCollection']);
    }
    expect((await get('/api/1/spatial/coverage/fr:iris')).body).toEqual({ type: 'FeatureCollection', features: [] });
  });

  // tests/test_api.py test_suggest_zones_on_name (a substring of the name), test_suggest_zones_on_id
  // (q = a zone id → that zone first), test_suggest_zones_sorted (country before region: by admin level),
  // test_suggest_zones_no_match (nothing → []); api.py SuggestZonesAPI: name, code or id icontains.
  test('suggest: ids, mid-name substrings, ranked by level; nothing → []', async () => {
    const byId = (await get('/api/1/spatial/zones/suggest?q=fr:commune:35238')).body;
    expect(byId[0].id).toBe('fr:commune:35238');
    const mid = (await get('/api/1/spatial/zones/suggest?q=fleurign&size=20')).body as { name: string }[];
    expect(mid.map((z) => z.name)).toContain('La Chapelle-Fleurigné');
    const mixed = (await get('/api/1/spatial/zones/suggest?q=bretagne&size=50')).body as { level: string }[];
    const rank = { country: 10, 'fr:region': 40, 'fr:departement': 60, 'fr:epci': 68, 'fr:arrondissement': 70, 'fr:commune': 80 } as Record<
      string,
      number
    >;
    expect(mixed[0].level).toBe('fr:region');
    expect(mixed.every((z, i) => i === 0 || rank[mixed[i - 1].level] <= rank[z.level])).toBe(true);
    expect((await get('/api/1/spatial/zones/suggest?q=xxxxxx')).body).toEqual([]);
  });
});

describe('CORS, as both peers answer reusers in a browser', () => {
  // api-geo@4aa0828 server.js `app.use(cors({origin: true}))` (the npm cors package: a preflight is
  // answered 204 and reflects the requested headers); udata v2.5.0 udata/tests/api/test_oembed_api.py
  // calls assert_cors (udata/tests/helpers.py: Access-Control-Allow-Origin present) on every oEmbed answer.
  // The CORS set-up is src/server/http/security.ts (http helper); this states what the peers' clients rely on.
  test('a preflight from a browser page is answered, with X-Fields allowed; answers carry Access-Control-Allow-Origin', async () => {
    const pre = await app.inject({
      method: 'OPTIONS',
      url: '/api/1/spatial/zone/fr:commune:35238',
      headers: { origin: 'https://reuser.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-fields' },
    });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBeDefined();
    expect(String(pre.headers['access-control-allow-headers']).toLowerCase()).toContain('x-fields');
    for (const url of ['/communes?code=35238', '/api/1/oembeds/?references=territory-fr:commune:35238:population_com']) {
      const r = await app.inject({ method: 'GET', url, headers: { origin: 'https://reuser.example' } });
      expect([url, r.headers['access-control-allow-origin']]).toEqual([url, '*']);
    }
  });
});

describe('data.gouv.fr with territories (opendatateam/udata v2.5.0 @ 1553c0f)', () => {
  // udata/core/spatial/tests/test_models.py test_resolve_with_validity_exact_match and
  // test_resolve_with_validity_match: a dated GeoID resolves to the zone valid then, whose id is its own
  // dated GeoID (`level:code@start`); the 2017 zones carried dated ids.
  test('dated ids are answered dated: the version valid at the date, under its GeoID', async () => {
    const exact = await get('/api/1/spatial/zone/fr:commune:35238@1942-01-01');
    expect([exact.status, exact.body.id]).toEqual([200, 'fr:commune:35238@1942-01-01']);
    const within = await get('/api/1/spatial/zone/fr:commune:35238@2000-06-15');
    expect(within.body.id).toBe('fr:commune:35238@1942-01-01');
    expect(
      (await get('/api/1/spatial/zones/fr:commune:35238@1942-01-01,fr:departement:35')).body.features.map((f: { id: string }) => f.id),
    ).toEqual(['fr:commune:35238@1942-01-01', 'fr:departement:35']);
    // Undated stays undated (today's udata).
    expect((await get('/api/1/spatial/zone/fr:commune:35238')).body.id).toBe('fr:commune:35238');
  });

  // test_models.py test_latest_with_validity_ended: `latest()` of a code whose last version has ended is
  // that version (GeoZoneQuerySet.latest: no end first, else the latest end), not another code.
  test('@latest of a retired code is its own last version, with its successors, not its successor', async () => {
    const r = await get('/api/1/spatial/zone/fr:commune:35112@latest');
    expect(r.status).toBe(200);
    expect(r.body.id).toBe('fr:commune:35112@1942-01-01');
    expect(r.body.properties.code).toBe('35112');
    expect(r.body.properties.successors).toEqual(['fr:commune:35062']);
    expect(r.body.properties.validity.end).not.toBe('9999-12-31');
    expect((await get('/api/1/spatial/zone/fr:commune:35238@latest')).body.id).toBe('fr:commune:35238@1942-01-01');
  });

  // udata/tests/api/test_oembed_api.py (OEmbedsAPI, udata/features/oembed/api.py): 400 and these messages.
  test('oEmbed errors: udata’s status and messages, word for word', async () => {
    const missing = await get('/api/1/oembeds/');
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toHaveProperty('references');
    for (const [references, message] of [
      ['123456789', 'Invalid ID.'],
      ['user-5a0000000000000000000001', 'Invalid object type.'],
      ['dataset-123456789', 'Unknown dataset ID.'],
      ['territory-xyz', 'Invalid territory ID.'],
      ['territory-fr:commune:99999@1970-01-01:xyz', 'Unknown territory identifier.'],
      ['territory-fr:departement:35:population_com', 'Unknown kind of territory.'],
      ['territory-fr:commune:35238:xyz', 'Unknown territory dataset id.'],
    ]) {
      const r = await get(`/api/1/oembeds/?references=${encodeURIComponent(references)}`);
      expect([references, r.status, r.body.message]).toEqual([references, 400, message]);
      expect(typeof r.body.detail).toBe('string'); // the same, in French
    }
    const ok = await get('/api/1/oembeds/?references=territory-fr:commune:35238:population_com');
    expect([ok.status, ok.body[0].type, ok.body[0].version]).toEqual([200, 'rich', '1.0']);
  });
});
