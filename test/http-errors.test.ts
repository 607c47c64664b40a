import fs from 'node:fs';
import path from 'node:path';
import { FastifyInstance } from 'fastify';
import { freshDatabase } from './helpers/db';
import { resetSettings } from '../config/settings';
import { buildServer } from '../src/server/app';
import { closeQueues } from '../src/queue/queue';
import { closeRedisConnections } from '../src/queue/connection';

/**
 * One error mechanism for the whole server (src/server/http/errors.ts): every error of every route
 * family, and every unknown route, answers the one body shape {message}, in French; the operator side
 * is behind one preHandler hook (src/server/http/operator-auth.ts).
 */
const TOKEN = 'operator-token-for-tests-0123456789';
let db: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;

beforeAll(async () => {
  db = await freshDatabase({ OPERATOR_TOKEN: TOKEN, PUBLISHER_NAME: 'Région Exemple' });
  app = await buildServer();
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await closeQueues();
  await closeRedisConnections();
  await db.cleanup();
});

const auth = { authorization: `Bearer ${TOKEN}` };
// Words of French error messages (every message below holds at least one of them).
const FRENCH = /inconnu|invalide|aucune?|n’est pas|n’existe pas|doit|requis|désactivée|adresse|dossier|obligatoire/;

describe('one error body for every route', () => {
  test.each([
    ['GET', '/communes/abc', 404],
    ['GET', '/communes/99999', 404],
    ['GET', '/communes/99999/pack.zip', 404],
    ['GET', '/communes/35238/pack.zip', 404], // no pack built in this database
    ['GET', '/communes/35238/pack/../../etc.zip', 404],
    ['GET', '/communes/35238/pack/x.txt', 400],
    ['GET', '/communes?limit=-3', 400],
    ['GET', '/departements/XX', 404],
    ['GET', '/api/1/spatial/zone/fr:commune:00000', 404],
    ['GET', '/api/1/spatial/zones/suggest', 400],
    ['GET', '/catalog.jsonld?page=0', 400],
    ['GET', '/catalog.jsonld?page=9999', 404],
    ['GET', '/nulle-part', 404],
    ['POST', '/communes/35238', 404],
  ])('%s %s → %i {message} in French', async (method, url, status) => {
    const r = await app.inject({ method: method as 'GET', url });
    expect([url, r.statusCode]).toEqual([url, status]);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const body = r.json();
    expect(Object.keys(body)).toEqual(['message']);
    expect(body.message).toMatch(FRENCH);
  });

  test('operator: validation errors of query, path and body go through the same handler', async () => {
    for (const [method, url, payload] of [
      ['GET', '/operator/runs?limit=0', undefined],
      ['GET', '/operator/runs?status=perdu', undefined],
      ['GET', '/operator/runs/abc/quarantine', undefined],
      ['POST', '/operator/runs/populations', { force: 'oui' }],
    ] as const) {
      const r = await app.inject({ method, url, headers: auth, payload });
      expect([url, r.statusCode]).toEqual([url, 400]);
      expect(Object.keys(r.json())).toEqual(['message']);
      expect(r.json().message).toMatch(/invalides :/);
    }
    const missing = await app.inject({ url: '/operator/runs/987654/quarantine', headers: auth });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ message: 'aucun passage n° 987654' });
    const unknown = await app.inject({ method: 'POST', url: '/operator/runs/nope', headers: auth, payload: {} });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().message).toMatch(/source inconnue/);
  });

  test('a malformed JSON body is a 400 in French, not Fastify’s own shape', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/operator/runs/populations',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"force": tr',
    });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual({ message: 'corps JSON invalide' });
  });
});

describe('operator auth is one preHandler hook over the whole operator plugin', () => {
  const routes: [string, string][] = [
    ['GET', '/operator/sources'],
    ['GET', '/operator/runs'],
    ['GET', '/operator/runs/1/quarantine'],
    ['POST', '/operator/runs/populations'],
  ];
  test('every operator route answers 401 with WWW-Authenticate without the token, and 503 when no token is set', async () => {
    for (const [method, url] of routes) {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: TOKEN }]) {
        const r = await app.inject({ method: method as 'GET', url, headers, payload: method === 'POST' ? {} : undefined });
        expect([url, r.statusCode]).toEqual([url, 401]);
        expect(r.headers['www-authenticate']).toBe('Bearer');
        expect(r.json().message).toMatch(/jeton d’exploitation requis/);
      }
    }
    const saved = process.env.OPERATOR_TOKEN;
    delete process.env.OPERATOR_TOKEN;
    resetSettings();
    try {
      for (const [method, url] of routes) {
        const r = await app.inject({ method: method as 'GET', url, headers: auth, payload: method === 'POST' ? {} : undefined });
        expect([url, r.statusCode]).toEqual([url, 503]);
        expect(r.json().message).toMatch(/OPERATOR_TOKEN/);
      }
    } finally {
      process.env.OPERATOR_TOKEN = saved;
      resetSettings();
    }
  });

  test('no route answers an error by hand: every error goes through HttpError and the one handler', () => {
    const dir = path.join(__dirname, '..', 'src', 'server', 'routes');
    const byHand = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && f !== 'health.ts') // /health/ready's 503 is a report of its checks
      .flatMap((f) =>
        fs
          .readFileSync(path.join(dir, f), 'utf8')
          .split('\n')
          .map((l, i) => [`${f}:${i + 1}`, l] as const)
          .filter(([, l]) => /\.code\([45]\d\d\)|class \w+Error extends Error/.test(l))
          .map(([where]) => where),
      );
    expect(byHand).toEqual([]);
  });

  test('the hook is declared once, not per route', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const src: string = require('node:fs').readFileSync(require.resolve('../src/server/routes/operator.ts'), 'utf8');
    expect(src.match(/addHook\('preHandler', requireOperator\)/g)).toHaveLength(1);
    expect(src).not.toMatch(/authori[sz]ed\(|reply\.code\(4/);
  });
});
