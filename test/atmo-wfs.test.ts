import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { startHttpServer, type TestServer } from './helpers/http-server';
import { pool } from '../src/db/pool';
import { parseSettings } from '../config/settings';
import { runSource } from '../src/engine/runner';
import { pipeline as atmo } from '../pipelines/atmo/index';

/**
 * The ATMO WFS request as the harvester sends it: the declared URL (data.atmo-france.org's
 * GeoServer, layer ind:ind_atmo_2021) pointed at a local server, which records the request and
 * answers the synthetic GeoJSON fixture. The request must carry the date_ech filter (CQL_FILTER,
 * GeoServer's vendor parameter, as reusers of this GeoServer send it: code-id 62472261642
 * `CQL_FILTER=date_ech='YYYY-MM-DD'` on data.atmo-france.org/geoserver/ind/wfs), never ask for the
 * whole layer (a reuser saw 285 MB come back).
 */
const GEOJSON = path.join(__dirname, 'fixtures', 'atmo', 'ind_atmo_2021.geojson');
const parisDay = (d: Date) =>
  new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);

let db: Awaited<ReturnType<typeof freshDatabase>>;
let server: TestServer;
beforeAll(async () => {
  db = await freshDatabase();
  server = await startHttpServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(fs.readFileSync(GEOJSON));
  });
});
afterAll(async () => {
  await server.close();
  await db.cleanup();
});

test('the downloaded WFS request names the layer and filters date_ech from yesterday (Paris), and the answer loads', async () => {
  const declared = atmo.source.resources[0].url!;
  expect(new URL(declared).host).toBe('data.atmo-france.org');
  const local = declared.replace('https://data.atmo-france.org', server.url);
  const pipeline = { ...atmo, source: { ...atmo.source, resources: [{ ...atmo.source.resources[0], url: local }] } };
  const settings = parseSettings({
    ...db.env,
    NETWORK: 'auto',
    MIRROR_DIR: '',
    DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'atmo-wfs-')),
  });
  const before = new Date(Date.now() - 86400000);
  const r = await runSource('atmo', { pipeline, settings, trigger: 'test', log: () => undefined });
  const after = new Date(Date.now() - 86400000);

  expect(server.requests.length).toBe(1);
  const sent = new URL(server.requests[0].url, server.url);
  expect(sent.pathname).toBe('/geoserver/ind/ows');
  expect(
    Object.fromEntries(['service', 'version', 'request', 'typeNames', 'outputFormat'].map((k) => [k, sent.searchParams.get(k)])),
  ).toEqual({
    service: 'WFS',
    version: '2.0.0',
    request: 'GetFeature',
    typeNames: 'ind:ind_atmo_2021',
    outputFormat: 'application/json',
  });
  // Yesterday in Paris, whichever side of midnight the run fell.
  expect([`date_ech >= '${parisDay(before)}'`, `date_ech >= '${parisDay(after)}'`]).toContain(sent.searchParams.get('CQL_FILTER'));
  expect(r.status).toBe('succeeded');
  expect(r.loaded).toBeGreaterThan(0);
  const { rows } = await pool().query(`select count(*)::int as n from atmo_indice where code_commune = '01001'`);
  expect(rows[0].n).toBe(1);
});
