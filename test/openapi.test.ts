import type { FastifyInstance } from 'fastify';
import { freshDatabase } from './helpers/db';
import { buildServer } from '../src/server/app';
import { CommunesQuery } from '../src/server/geo/schemas';

/** /openapi.json documents every public route from the zod schemas that validate them. */
let db: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;
let spec: {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        parameters: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
        responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
      }
    >
  >;
};

beforeAll(async () => {
  // A publisher, so the DCAT catalogs answer (without PUBLISHER_NAME they answer 503 by design: test/catalog.test.ts).
  db = await freshDatabase({ PUBLISHER_NAME: 'Région Exemple' });
  app = await buildServer();
  const r = await app.inject({ method: 'GET', url: '/openapi.json' });
  expect(r.statusCode).toBe(200);
  spec = JSON.parse(r.body);
});
afterAll(async () => {
  await app?.close();
  await db.cleanup();
});

const SAMPLE: Record<string, string> = {
  id: 'fr:commune:35238',
  ids: 'fr:commune:35238,fr:departement:35',
  dataset: 'pack_com',
  level: 'fr:region',
  code: '35',
  name: 'population.csv',
  file: '2026.1.zip',
};

describe('/openapi.json', () => {
  test('is OpenAPI 3 and lists every route of the API Territoire, geo and catalog', () => {
    expect(spec.openapi).toMatch(/^3\./);
    for (const p of [
      '/api/1/spatial/zone/{id}',
      '/api/1/spatial/zones/{ids}',
      '/api/1/spatial/zone/{id}/datasets',
      '/api/1/spatial/zone/{id}/children',
      '/api/1/spatial/zones/suggest',
      '/api/1/spatial/levels',
      '/api/1/spatial/granularities',
      '/api/1/spatial/coverage/{level}',
      '/api/1/territory/suggest',
      '/api/1/oembeds',
      '/communes',
      '/departements',
      '/departements/{code}',
      '/departements/{code}/communes',
      '/regions',
      '/regions/{code}',
      '/regions/{code}/departements',
      '/epcis',
      '/epcis/{code}',
      '/epcis/{code}/communes',
      '/catalog.jsonld',
      '/catalog.ttl',
      '/catalog.rdf',
      '/communes/{code}/catalog.jsonld',
      '/openapi.json',
      '/health',
      '/changes.atom',
      '/changes.feed.json',
      '/communes/{code}/changes.atom',
      '/communes/{code}/changes.feed.json',
      '/communes/{code}/fichiers/changes.json',
    ]) {
      expect([p, Boolean(spec.paths[p]?.get)]).toEqual([p, true]);
    }
  });
  test('routes registered by other modules are listed too', async () => {
    const tree = app.printRoutes({ commonPrefix: false });
    if (tree.includes('/fichiers/:name')) expect(spec.paths['/communes/{code}/fichiers/{name}']?.get).toBeDefined();
    // Fastify's `:param` never leaks into OpenAPI paths.
    expect(Object.keys(spec.paths).filter((p) => /\/:/.test(p))).toEqual([]);
    expect(spec.paths['/communes/{code}']?.get).toBeDefined();
  });
  test('query parameters come from the zod schemas', () => {
    const params = spec.paths['/communes'].get.parameters;
    const names = params.map((p) => p.name);
    expect(names.sort()).toEqual(Object.keys(CommunesQuery.shape).sort());
    const limit = params.find((p) => p.name === 'limit')!;
    expect(limit).toMatchObject({ in: 'query', required: false });
    expect(limit.schema.pattern).toBeDefined();
    const format = params.find((p) => p.name === 'format')!;
    expect(format.schema.enum).toEqual(['json', 'geojson']);
    const q = spec.paths['/api/1/spatial/zones/suggest'].get.parameters.find((p) => p.name === 'q')!;
    expect(q.required).toBe(true);
    const id = spec.paths['/api/1/spatial/zone/{id}'].get.parameters.find((p) => p.name === 'id')!;
    expect(id).toMatchObject({ in: 'path', required: true });
  });
  test('errors are documented as JSON {message}, and answered so', async () => {
    const err = spec.paths['/communes'].get.responses['400'];
    expect(err.content!['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
    for (const u of [
      '/communes?limit=-3',
      '/api/1/spatial/zones/suggest',
      '/catalog.jsonld?page=0',
      '/api/1/spatial/zone/fr:commune:00000',
      '/departements/XX',
    ]) {
      const r = await app.inject({ method: 'GET', url: u });
      expect([u, r.statusCode >= 400 && r.statusCode < 500]).toEqual([u, true]);
      expect(Object.keys(JSON.parse(r.body))).toEqual(['message']);
    }
  });
  test('every documented GET of ours answers with a sample request (never 500)', async () => {
    for (const [p, ops] of Object.entries(spec.paths)) {
      if (!ops.get || !/^\/(api\/1|communes$|departements|regions|epcis|catalog|openapi)/.test(p)) continue;
      const required = ops.get.parameters
        .filter((x) => x.in === 'query' && x.required)
        .map((x) => `${x.name}=${x.name === 'references' ? 'territory-fr:commune:35238:pack_com' : '35'}`);
      let url = p.replace(/\{([^}]+)\}/g, (_m, n: string) => SAMPLE[n] ?? 'x');
      if (p.startsWith('/regions/')) url = url.replace('/35', '/53');
      if (p.startsWith('/epcis/')) url = url.replace('/35', '/243500139');
      if (required.length) url += `?${required.join('&')}`;
      const r = await app.inject({ method: 'GET', url });
      expect([url, r.statusCode]).toEqual([url, 200]);
    }
  });
});

describe('/openapi.json for reusers: pack routes, security, licence, Redocly lint', () => {
  type Op = {
    security?: unknown[];
    parameters: { name: string; in: string }[];
    responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, unknown> }>;
  };
  const op = (p: string) => (spec.paths as unknown as Record<string, { get: Op }>)[p].get;

  test('the pack routes: media types, 206/301/304/404/416, ETag and Range', () => {
    const zip = op('/communes/{code}/pack.zip');
    expect(Object.keys(zip.responses).sort()).toEqual(['200', '206', '301', '304', '404', '416', '500']);
    expect(Object.keys(zip.responses['200'].content!)).toEqual(['application/zip']);
    expect(zip.responses['200'].headers).toHaveProperty('ETag');
    expect(zip.responses['206'].headers).toHaveProperty('Content-Range');
    expect(zip.responses['301'].headers).toHaveProperty('Location');
    expect(zip.parameters.filter((p) => p.in === 'header').map((p) => p.name)).toEqual(['If-None-Match', 'Range', 'If-Range']);
    const version = op('/communes/{code}/pack/{file}');
    expect(version.responses['400']).toBeDefined();
    expect(Object.keys(op('/communes/{code}/fichiers/{name}').responses['200'].content!).sort()).toEqual([
      'application/geo+json',
      'application/json',
      'text/csv',
      'text/markdown',
    ]);
    expect(op('/communes/{code}/pack').responses['200'].content).toEqual({
      'application/json': { schema: { $ref: '#/components/schemas/PackVersions' } },
    });
    expect(Object.keys(op('/communes/{code}/page').responses['200'].content!)).toEqual(['text/html']);
  });

  test('the change feeds and changes.json (issue 15): media types, paging, ETag/304, schemas; the feeds answer as documented', async () => {
    for (const [p, type] of [
      ['/changes.atom', 'application/atom+xml'],
      ['/changes.feed.json', 'application/feed+json'],
      ['/communes/{code}/changes.atom', 'application/atom+xml'],
      ['/communes/{code}/changes.feed.json', 'application/feed+json'],
    ]) {
      const o = op(p) as Op & { tags: string[] };
      expect([p, o.tags]).toEqual([p, ['changes']]);
      expect([p, Object.keys(o.responses['200'].content!)]).toEqual([p, [type]]);
      expect(o.responses['200'].headers).toHaveProperty('ETag');
      expect(o.responses['304']).toBeDefined();
      expect(o.parameters.filter((x) => x.in === 'header').map((x) => x.name)).toEqual(['If-None-Match']);
      if (type === 'application/feed+json')
        expect(o.responses['200'].content![type]).toEqual({ schema: { $ref: '#/components/schemas/JsonFeed' } });
    }
    expect(
      op('/changes.atom')
        .parameters.filter((x) => x.in === 'query')
        .map((x) => x.name),
    ).toEqual(['avant', 'par_page']);
    expect(Object.keys(op('/communes/{code}/changes.atom').responses)).toEqual(expect.arrayContaining(['200', '304', '404']));
    expect(Object.keys(op('/changes.feed.json').responses)).toEqual(expect.arrayContaining(['200', '304', '400']));
    const changes = op('/communes/{code}/fichiers/changes.json');
    expect(changes.responses['200'].content).toEqual({ 'application/json': { schema: { $ref: '#/components/schemas/Changes' } } });
    const schemas = (spec as unknown as { components: { schemas: Record<string, { required?: string[] }> } }).components.schemas;
    expect(schemas.Changes.required).toEqual(['versionPrecedente', 'premiereVersion', 'resume', 'jeuxDeDonnees', 'fichiers', 'tables']);
    expect(schemas.JsonFeed.required).toEqual(['version', 'title', 'items']);
    // The national feeds need no pack: what they answer is what the document says.
    for (const [url, type] of [
      ['/changes.atom?par_page=5', 'application/atom+xml'],
      ['/changes.feed.json', 'application/feed+json'],
    ]) {
      const r = await app.inject({ url });
      expect([url, r.statusCode, r.headers['content-type']]).toEqual([url, 200, `${type}; charset=utf-8`]);
      expect((await app.inject({ url, headers: { 'if-none-match': String(r.headers.etag) } })).statusCode).toBe(304);
    }
    const feed = JSON.parse((await app.inject({ url: '/changes.feed.json' })).body);
    for (const k of schemas.JsonFeed.required!) expect(feed).toHaveProperty(k);
    const bad = await app.inject({ url: '/changes.atom?par_page=0' });
    expect([bad.statusCode, Object.keys(bad.json())]).toEqual([400, ['message']]);
  });

  test('every operation is public (security: []); the operator routes are not published; a licence', () => {
    const s = spec as unknown as { info: { license?: { name: string; url: string } }; paths: Record<string, Record<string, Op>> };
    expect(s.info.license).toEqual({ name: 'MIT (software)', url: 'https://opensource.org/license/mit' });
    for (const [p, ops] of Object.entries(s.paths))
      for (const [m, o] of Object.entries(ops)) expect([p, m, o.security]).toEqual([p, m, []]);
    expect(Object.keys(s.paths).filter((p) => p.startsWith('/operator') || p.startsWith('/static'))).toEqual([]);
    expect(app.printRoutes({ commonPrefix: false })).toContain('operator');
  });

  test('Redocly CLI (recommended rules): no error, no warning', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { execFileSync } = await import('node:child_process');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'openapi-')), 'openapi.json');
    fs.writeFileSync(file, JSON.stringify(spec));
    let out: string;
    try {
      out = execFileSync(require.resolve('@redocly/cli/bin/cli.js'), ['lint', file, '--format=json'], {
        encoding: 'utf8',
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      out = (err as { stdout?: string }).stdout ?? String(err);
    }
    const report = JSON.parse(out.slice(out.indexOf('{'))) as {
      totals: { errors: number; warnings: number };
      problems: { ruleId: string; message: string }[];
    };
    expect(report.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });
});
