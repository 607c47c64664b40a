import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { FastifyInstance } from 'fastify';
import { freshDatabase } from './helpers/db';
import { resetSettings } from '../config/settings';
import { runSource } from '../src/engine/runner';
import { buildPacks } from '../src/packs/build';
import { publishVersion, readManifest } from '../src/packs/store';
import { zipFiles } from '../src/packs/zip';
import { settings } from '../config/settings';
import { buildServer } from '../src/server/app';
import type { FastPath, FastPathOptions } from '../src/server/pack-fast';
import { metricsText } from '../src/server/metrics';
import { DOCUMENT_ONLY_HEADERS } from '../src/server/http/security';
import { closeQueues } from '../src/queue/queue';
import { closeRedisConnections } from '../src/queue/connection';

/**
 * The pack downloads' fast path (src/server/pack-fast.ts) answers as the route through Fastify
 * would: each case sends the same request, over real HTTP, to a server built as deployed (fast path
 * in front) and to one built without it (`packFastPath: false`), and compares status, every header
 * but Date, and the body; it also checks the fast path answered the requests it should (its
 * counters), so a case the fast path silently handed to Fastify does not pass for it. The packs
 * are built by the pack builder from the synthetic fixture of test/fixtures/packs.
 */
const FIXTURE = path.join(__dirname, 'fixtures', 'packs', 'donnees_communes.csv');
const TOKEN = 'operator-token-for-tests-0123456789';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

let db: Awaited<ReturnType<typeof freshDatabase>>;
const servers: FastifyInstance[] = [];
let etag: string;
let version: string;

/** Runs `fn` with extra settings, then puts the environment back. */
async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  resetSettings();
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    resetSettings();
  }
}

interface Pair {
  fast: string;
  plain: string;
  stats: FastPath['stats'];
  /** A third server without fast path, for warming the shared caches without counting in the pair's rate limits. */
  warm: FastifyInstance;
}

/** A server as deployed and the same without fast path, both listening (on `host`), plus a warmer; built with extra settings. */
async function pair(env: Record<string, string> = {}, host = '127.0.0.1', options: FastPathTestOptions = {}): Promise<Pair> {
  return withEnv(env, async () => {
    const listen = async (fastPath: boolean) => {
      const app = await buildServer({ packFastPath: fastPath && options });
      await app.listen({ port: 0, host });
      servers.push(app);
      return app;
    };
    const fast = await listen(true);
    const plain = await listen(false);
    // Never rate-limited itself, so it always reaches the route (which fills the caches).
    const warm = await withEnv({ RATE_LIMIT_MAX: '0' }, () => buildServer({ packFastPath: false }));
    await warm.ready();
    servers.push(warm);
    // The referential's first load takes longer than its 2 s freshness: one request to have it loaded and checked.
    await warm.inject({ url: '/communes/35238/pack' });
    const url = (a: FastifyInstance) => `http://${host.includes(':') ? `[${host}]` : host}:${(a.server.address() as AddressInfo).port}`;
    return { fast: url(fast), plain: url(plain), stats: (fast as unknown as { packFastPath: FastPath }).packFastPath.stats, warm };
  });
}

type FastPathTestOptions = Pick<FastPathOptions, 'acceptingMs'>;

/** One request, on a connection of its own, or on one of `agent`'s kept-alive connections. */
function request(
  base: string,
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
  agent: http.Agent | false = false,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${url}`, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every header but Date and the rate limit's reset (whole seconds left, counted by each server's own store: compared apart). */
function comparable(a: Answer): Record<string, unknown> {
  const { date: _date, 'x-ratelimit-reset': _reset, ...rest } = a.headers;
  return { status: a.status, headers: rest, body: a.body.toString('base64') };
}

/** comparable(a)'s headers but those that differ between answers of the same pack: the count left, the connection's. */
function samePackHeaders(a: Answer): Record<string, unknown> {
  const { 'x-ratelimit-remaining': _r, connection: _c, 'keep-alive': _k, ...rest } = comparable(a).headers as Record<string, unknown>;
  return rest;
}

/**
 * Sends `url` to both servers (after warming the shared caches through the warmer, so the fast path
 * has what it needs), expects the same answer, and that the fast path answered it (`fast`) or
 * handed it to Fastify.
 */
async function same(
  p: Pair,
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
  fast = true,
  via: 'both' | 'own' | 'kept' = 'both',
  lane = fast,
): Promise<Answer> {
  await p.warm.inject({ method: 'GET', url: url.startsWith('/communes/') ? url.replace(/(\.zip).*$/, '$1') : url });
  // Twice (`via`): on a connection of its own (`Connection: close`: the lane hands it to node:http,
  // where the fast path answers), then on a kept-alive one (the lane answers, below node:http,
  // unless `lane` is false: then it hands the connection over too).
  const kept = [new http.Agent({ keepAlive: true }), new http.Agent({ keepAlive: true })];
  const answers: Answer[] = [];
  for (const keepAlive of via === 'both' ? [false, true] : [via === 'kept']) {
    const before = { ...p.stats };
    const a = await request(p.fast, url, headers, method, keepAlive && kept[0]);
    const b = await request(p.plain, url, headers, method, keepAlive && kept[1]);
    const what = [method, url, headers, keepAlive ? 'kept alive' : 'own connection'];
    expect([...what, comparable(a)]).toEqual([...what, comparable(b)]);
    const [ra, rb] = [a.headers['x-ratelimit-reset'], b.headers['x-ratelimit-reset']];
    expect(ra === undefined ? 'none' : Math.abs(Number(ra) - Number(rb))).toEqual(rb === undefined ? 'none' : expect.any(Number));
    if (ra !== undefined) expect(Math.abs(Number(ra) - Number(rb))).toBeLessThanOrEqual(1);
    expect([...what, p.stats.served - before.served, p.stats.lane - before.lane]).toEqual([
      ...what,
      fast ? 1 : 0,
      keepAlive && lane ? 1 : 0,
    ]);
    answers.push(a);
  }
  for (const k of kept) k.destroy();
  return answers[0];
}

/** An answer read off a raw connection. */
interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** The first `count` answers on one raw connection to `base`, after writing each of `writes` 50 ms apart (HTTP/1.1 answers, each with its Content-Length or none, read in order). */
function rawExchange(base: string, writes: string[], count: number): Promise<RawAnswer[]> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let buf = Buffer.alloc(0);
    const answers: RawAnswer[] = [];
    socket.on('error', reject);
    socket.on('connect', async () => {
      for (const w of writes) {
        socket.write(w);
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) break;
        const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
        const headers = Object.fromEntries(
          lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
        );
        const length = Number(headers['content-length'] ?? 0);
        if (buf.length < end + 4 + length) break;
        answers.push({ status: Number(statusLine.split(' ')[1]), headers, body: buf.subarray(end + 4, end + 4 + length) });
        buf = buf.subarray(end + 4 + length);
      }
      if (answers.length >= count) {
        socket.destroy();
        resolve(answers);
      }
    });
  });
}

beforeAll(async () => {
  db = await freshDatabase({ OPERATOR_TOKEN: TOKEN });
  await runSource('populations', { file: FIXTURE, trigger: 'test', log: () => undefined });
  const r = await buildPacks({ communes: ['35238', '35062'], log: () => undefined });
  expect(r.built).toBe(2);
  const m = (await readManifest(settings().PACKS_DIR, '35238'))!;
  version = m.latest;
  etag = `"${m.versions.find((v) => v.version === m.latest)!.sha256}"`;
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await closeQueues();
  await closeRedisConnections();
  await db.cleanup();
});

describe('pack downloads: the fast path answers as the route through Fastify', () => {
  test('200, HEAD, 304, ranges and the version URL: same status, headers and bytes, answered by the fast path', async () => {
    const p = await pair();
    const full = await same(p, '/communes/35238/pack.zip');
    // What the route promises, present on the fast answer (not only equal to the other).
    for (const h of [
      'etag',
      'last-modified',
      'cache-control',
      'content-disposition',
      'accept-ranges',
      'content-length',
      'access-control-allow-origin',
      'access-control-expose-headers',
      'x-content-type-options',
      'cross-origin-resource-policy',
      'referrer-policy',
      'x-ratelimit-limit',
      'x-ratelimit-remaining',
      'x-ratelimit-reset',
    ])
      expect([h, full.headers[h]]).toEqual([h, expect.any(String)]);
    // A download is never rendered: no header meant for documents (both paths, compared by `same`).
    for (const h of DOCUMENT_ONLY_HEADERS) expect([h, full.headers[h]]).toEqual([h, undefined]);
    expect(full.headers.etag).toBe(etag);
    expect(full.headers['cache-control']).toBe('public, max-age=300');
    expect(full.body.subarray(0, 2).toString()).toBe('PK');

    await same(p, '/communes/35238/pack.zip', { origin: 'https://reuser.example' });
    await same(p, '/communes/35238/pack.zip?source=site');
    await same(p, '/communes/35238/pack.zip', {}, 'HEAD');
    for (const inm of [etag, `W/${etag}`, '*', `"autre", ${etag}`]) {
      const r = await same(p, '/communes/35238/pack.zip', { 'if-none-match': inm });
      expect([inm, r.status]).toEqual([inm, 304]);
    }
    expect((await same(p, '/communes/35238/pack.zip', { 'if-none-match': '"autre"' })).status).toBe(200);
    expect((await same(p, '/communes/35238/pack.zip', { 'if-none-match': etag }, 'HEAD')).status).toBe(304);
    for (const [range, status] of [
      ['bytes=10-99', 206],
      ['bytes=-20', 206],
      ['bytes=0-9,5-19', 206], // merged
      ['bytes=0-9,20-29', 200], // disjoint: the whole ZIP
      ['octets=0-9', 200],
      ['bytes=abc', 200], // malformed
    ] as const) {
      const r = await same(p, '/communes/35238/pack.zip', { range });
      expect([range, r.status]).toEqual([range, status]);
    }
    expect((await same(p, '/communes/35238/pack.zip', { range: 'bytes=0-9', 'if-range': etag })).status).toBe(206);
    expect((await same(p, '/communes/35238/pack.zip', { range: 'bytes=0-9', 'if-range': '"autre"' })).status).toBe(200);
    expect((await same(p, '/communes/35238/pack.zip', { range: 'bytes=0-9' }, 'HEAD')).status).toBe(206);

    const v = await same(p, `/communes/35238/pack/${version}.zip`);
    expect(v.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(v.body.equals(full.body)).toBe(true);
    await same(p, `/communes/35238/pack/${version}.zip`, {}, 'HEAD');
    await same(p, `/communes/35238/pack/${version}.zip`, { 'if-none-match': etag });
    await same(p, `/communes/35238/pack/${version}.zip`, { range: 'bytes=5-' });
    await same(p, '/communes/35062/pack.zip', { origin: 'https://reuser.example' });
  });

  test('what the fast path leaves to Fastify gets the same answer: 301, 404, 400, 416, other methods, other spellings', async () => {
    const p = await pair();
    const size = (await p.warm.inject({ url: '/communes/35238/pack.zip' })).rawPayload.length;
    for (const [url, headers, method] of [
      ['/communes/35112/pack.zip', {}, 'GET'], // old code of a merged commune: 301
      ['/communes/99999/pack.zip', {}, 'GET'],
      ['/communes/35238/pack/2019.9.zip', {}, 'GET'],
      ['/communes/35238/pack/x.txt', {}, 'GET'],
      ['/communes/2a004/pack.zip', {}, 'GET'],
      ['/communes/35238/pack.zip', { range: `bytes=${size + 5}-` }, 'GET'], // 416
      ['/communes/35238/pack.zip/', {}, 'GET'],
      ['/communes/35238/pack.zip', { origin: 'https://reuser.example', 'access-control-request-method': 'GET' }, 'OPTIONS'],
      ['/communes/35238/pack.zip', {}, 'POST'],
    ] as const)
      await same(p, url, headers, method, false);
    const r = await request(p.fast, '/communes/35238/pack.zip', { range: `bytes=${size + 5}-` });
    expect([r.status, JSON.parse(r.body.toString()).message]).toEqual([416, expect.stringMatching(/^plage non satisfaisable/)]);
  });

  test('CORS with a list of origins: an allowed origin reflected, another one not, Vary: Origin', async () => {
    const p = await pair({ CORS_ORIGINS: 'https://a.example, https://b.example' });
    const ok = await same(p, '/communes/35238/pack.zip', { origin: 'https://b.example' });
    expect(ok.headers['access-control-allow-origin']).toBe('https://b.example');
    expect(String(ok.headers.vary)).toMatch(/Origin/);
    const no = await same(p, '/communes/35238/pack.zip', { origin: 'https://c.example' });
    expect(no.headers['access-control-allow-origin']).toBeUndefined();
    await same(p, '/communes/35238/pack.zip');
  });

  test('rate limit: the same count, headers and 429 in French; per client address behind a trusted proxy', async () => {
    const p = await pair({ RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_S: '60' });
    const statuses = [];
    // One request per call, on its own connection or a kept-alive one in turn: node:http's fast path and the lane count in the same store.
    for (let i = 0; i < 5; i++) statuses.push((await same(p, '/communes/35238/pack.zip', {}, 'GET', i < 3, i % 2 ? 'kept' : 'own')).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const r = await request(p.fast, '/communes/35238/pack.zip');
    expect(JSON.parse(r.body.toString()).message).toMatch(/^trop de requêtes : au plus 3 par 60 s/);
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);

    const q = await pair({ RATE_LIMIT_MAX: '2', TRUST_PROXY: '1' });
    const codes = [];
    for (const [xff, fast] of [
      ['203.0.113.1', true],
      ['203.0.113.1', true],
      ['203.0.113.1', false],
      ['198.51.100.7, 203.0.113.2', true], // one trusted hop: the nearest address is the client
      ['203.0.113.2', true],
      ['203.0.113.2', false],
    ] as const)
      codes.push(
        (await same(q, '/communes/35238/pack.zip', { 'x-forwarded-for': xff }, 'GET', fast, codes.length % 2 ? 'kept' : 'own')).status,
      );
    expect(codes).toEqual([200, 200, 429, 200, 200, 429]);
  });

  test('rate limit of IPv6 clients: the plug-in’s key (the /64), counted in the same store by the first request and the next ones', async () => {
    // The fast path counts an IPv6 address itself once the plug-in has given its key (the first request from it).
    const p = await pair({ RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_S: '60' }, '::1');
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await same(p, '/communes/35238/pack.zip', {}, 'GET', i < 3, i % 2 ? 'kept' : 'own')).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);

    const q = await pair({ RATE_LIMIT_MAX: '3', TRUST_PROXY: '1' });
    const codes = [];
    const seen = new Set<string>();
    for (const [xff, fast] of [
      ['2001:db8:0:1::1', true],
      ['2001:DB8:0:1::2', true], // the same /64
      ['2001:db8:0:1::1', true],
      ['2001:db8:0:1::3', false],
      ['2001:db8:0:2::1', true], // another /64
      ['::ffff:198.51.100.9', true], // an IPv4-mapped address: the IPv4 address's count
      ['198.51.100.9', true],
      ['198.51.100.9', true],
      ['::ffff:198.51.100.9', false],
    ] as const) {
      // The lane hands over the first request of an IPv6 address (its key is the plug-in's to compute): the fast path in node:http counts it.
      const known = seen.has(xff) || !xff.includes(':');
      seen.add(xff);
      codes.push(
        (
          await same(
            q,
            '/communes/35238/pack.zip',
            { 'x-forwarded-for': xff },
            'GET',
            fast,
            codes.length % 2 ? 'kept' : 'own',
            fast && known,
          )
        ).status,
      );
    }
    expect(codes).toEqual([200, 200, 200, 429, 200, 200, 200, 200, 429]);
  });

  test('large packs: the same answers, several at once written over turns of the event loop', async () => {
    // A ZIP of ≈ 300 KB (the fixture's packs are small): bodies from 64 KB on are written within a byte budget per turn.
    const zip = await zipFiles([{ name: 'bruit.bin', data: crypto.randomBytes(300 * 1024) }]);
    const sha256 = crypto.createHash('sha256').update(zip).digest('hex');
    const v = {
      version: '2026.1',
      sha256,
      bytes: zip.length,
      createdAt: '2026-01-05T10:00:00.000Z',
      dataHash: 'gros',
      millesime: '2026',
      files: [],
    };
    await publishVersion(settings().PACKS_DIR, '35001', zip, v, 1, null, 'Acigné');
    const p = await pair();
    const full = await same(p, '/communes/35001/pack.zip');
    expect([full.status, full.body.equals(zip)]).toEqual([200, true]);
    expect((await same(p, '/communes/35001/pack.zip', { range: 'bytes=1000-199999' })).status).toBe(206);
    expect((await same(p, '/communes/35001/pack.zip', {}, 'HEAD')).status).toBe(200);
    expect((await same(p, '/communes/35001/pack/2026.1.zip', { 'if-none-match': `"${sha256}"` })).status).toBe(304);
    // Twelve at once (3.6 MB) on kept-alive connections, so they reach the server in the same turn:
    // some wait for a later turn; each gets the whole pack, with the headers of one answered alone.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 12 });
    const get = () => request(p.fast, '/communes/35001/pack.zip', {}, 'GET', agent);
    const before = { ...p.stats };
    await Promise.all(Array.from({ length: 12 }, get)); // opens the twelve connections
    const answers = await Promise.all(Array.from({ length: 12 }, get));
    agent.destroy();
    const alone = await request(p.plain, '/communes/35001/pack.zip');
    for (const a of answers) expect([a.status, samePackHeaders(a), a.body.equals(zip)]).toEqual([200, samePackHeaders(alone), true]);
    expect(p.stats.served - before.served).toBe(24);
    expect(p.stats.deferred - before.deferred).toBeGreaterThan(0);
  });

  /**
   * 64 requests at once on 64 kept-alive connections opened first (then `pauseMs` without any new
   * connection): each must get the same answer as the route alone; returns the fast path's counters'
   * changes over those 64.
   */
  async function sixtyFourAtOnce(p: Pair, pauseMs: number): Promise<{ served: number; lane: number; deferred: number }> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const get = () => request(p.fast, '/communes/35238/pack.zip', {}, 'GET', agent);
    await Promise.all(Array.from({ length: 64 }, get)); // opens the connections
    await new Promise((r) => setTimeout(r, pauseMs));
    const before = { ...p.stats };
    const answers = await Promise.all(Array.from({ length: 64 }, get));
    agent.destroy();
    const alone = await request(p.plain, '/communes/35238/pack.zip');
    for (const a of answers) expect([a.status, samePackHeaders(a), a.body.equals(alone.body)]).toEqual([200, samePackHeaders(alone), true]);
    return { served: p.stats.served - before.served, lane: p.stats.lane - before.lane, deferred: p.stats.deferred - before.deferred };
  }

  test('many small answers at once while connections are being accepted: at most 16 per turn of the event loop, the others in a later turn, each the same answer', async () => {
    // While connections are being accepted (here: at any time after one, acceptingMs), no more than
    // 16 are answered per turn, so that the server keeps accepting new connections (libuv accepts
    // one per poll); the others wait for the next turns and get the same answer.
    const d = await sixtyFourAtOnce(await pair({}, '127.0.0.1', { acceptingMs: 3_600_000 }), 0);
    // All on kept-alive connections: answered by the lane, those queued too.
    expect([d.served, d.lane]).toEqual([64, 64]);
    expect(d.deferred).toBeGreaterThan(0);
  });

  test('many small answers at once with no connection being accepted: each answered in the turn that reads it', async () => {
    // Once no connection has been accepted for a while (the default 20 ms): nothing waits to be
    // accepted, so none waits for a later turn (parsed requests kept in memory for later turns cost
    // the young generation's collections).
    expect(await sixtyFourAtOnce(await pair(), 200)).toEqual({ served: 64, lane: 64, deferred: 0 });
  });

  test('one kept-alive connection: packs answered by the lane, another route handed to node:http with what follows, in order, pipelined or not', async () => {
    const p = await pair();
    await p.warm.inject({ url: '/communes/35238/pack.zip' });
    const pack = (await request(p.plain, '/communes/35238/pack.zip')).body;
    const get = (url: string) => `GET ${url} HTTP/1.1\r\nHost: localhost\r\n\r\n`;
    const three = [get('/communes/35238/pack.zip'), get('/communes/35238'), get('/communes/35238/pack.zip')];
    for (const writes of [three, [three.join('')]]) {
      const before = { ...p.stats };
      const answers = await rawExchange(p.fast, writes, 3);
      expect(answers.map((a) => [a.status, a.headers['content-type']])).toEqual([
        [200, 'application/zip'],
        [200, expect.stringContaining('application/json')],
        [200, 'application/zip'],
      ]);
      expect([answers[0].body.equals(pack), answers[2].body.equals(pack), JSON.parse(answers[1].body.toString()).code]).toEqual([
        true,
        true,
        '35238',
      ]);
      // The first pack below node:http; the connection then handed over, and the last pack answered by the fast path inside node:http.
      expect([p.stats.lane - before.lane, p.stats.handedOff - before.handedOff, p.stats.served - before.served]).toEqual([1, 1, 2]);
    }
  });

  test("what the lane does not read is node:http's: a body, Connection: close, HTTP/1.0, a repeated header, a malformed head", async () => {
    const p = await pair();
    await p.warm.inject({ url: '/communes/35238/pack.zip' });
    for (const head of [
      'GET /communes/35238/pack.zip HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n',
      'GET /communes/35238/pack.zip HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
      'GET /communes/35238/pack.zip HTTP/1.0\r\nHost: a\r\n\r\n',
      'GET /communes/35238/pack.zip HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nRange: bytes=2-3\r\n\r\n',
      'GET /communes/35238/pack.zip HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n',
      'GET /communes/35238/pack.zip HTTP/1.1\r\n\r\n',
      `GET /communes/35238/pack.zip HTTP/1.1\r\nHost: a\r\nX-Long: ${'a'.repeat(17 * 1024)}\r\n\r\n`, // over 16 KB: node:http's 431
    ]) {
      const before = { ...p.stats };
      const [a] = await rawExchange(p.fast, [head], 1).catch(() => [{ status: 0, headers: {}, body: Buffer.alloc(0) }]);
      expect([head.slice(0, 80), p.stats.lane - before.lane, p.stats.handedOff - before.handedOff]).toEqual([head.slice(0, 80), 0, 1]);
      // node:http's own answer: the pack (the fast path inside node:http), its 400 or its 431.
      expect([head.slice(0, 80), [200, 206, 400, 431].includes(a.status)]).toEqual([head.slice(0, 80), true]);
    }
  });

  test("a head that does not come whole at once (a slow client) is node:http's, with its head time-out", async () => {
    const p = await pair();
    await p.warm.inject({ url: '/communes/35238/pack.zip' });
    const before = { ...p.stats };
    const [a] = await rawExchange(p.fast, ['GET /communes/35238/pack.zip HTTP/1.1\r\nHo', 'st: a\r\n\r\n'], 1);
    expect([a.status, p.stats.lane - before.lane, p.stats.handedOff - before.handedOff, p.stats.served - before.served]).toEqual([
      200, 0, 1, 1,
    ]);
  });

  test("a closing server closes the lane's idle connections at once", async () => {
    const app = await buildServer();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    await request(`http://127.0.0.1:${port}`, '/communes/35238/pack.zip'); // fills the caches through Fastify
    const socket = net.connect(port, '127.0.0.1');
    const closed = new Promise((r) => socket.on('close', r));
    const answered = new Promise((r) => socket.once('data', r));
    socket.write('GET /communes/35238/pack.zip HTTP/1.1\r\nHost: a\r\n\r\n');
    await answered;
    const started = Date.now();
    await app.close();
    await closed;
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  test('metrics: each fast answer is counted under the route pattern, method and status', async () => {
    const p = await pair();
    const count = async (method: string, route: string, status: number) => {
      const m = new RegExp(
        `^dotation_http_request_duration_seconds_count\\{method="${method}",route="${route.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}",status_code="${status}"\\} (\\d+)$`,
        'm',
      ).exec((await metricsText()).body);
      return m ? Number(m[1]) : 0;
    };
    for (const [method, url, headers, route, status] of [
      ['GET', '/communes/35238/pack.zip', {}, '/communes/:code/pack.zip', 200],
      ['HEAD', '/communes/35238/pack.zip', {}, '/communes/:code/pack.zip', 200],
      ['GET', '/communes/35238/pack.zip', { 'if-none-match': etag }, '/communes/:code/pack.zip', 304],
      ['GET', '/communes/35238/pack.zip', { range: 'bytes=0-9' }, '/communes/:code/pack.zip', 206],
      ['GET', `/communes/35238/pack/${version}.zip`, {}, '/communes/:code/pack/:file', 200],
    ] as const) {
      await p.warm.inject({ url: url.replace(/\?.*$/, '') });
      const before = await count(method, route, status);
      const served = p.stats.served;
      await request(p.fast, url, headers, method);
      await new Promise((r) => setImmediate(r));
      expect([method, url, status, p.stats.served - served, (await count(method, route, status)) - before]).toEqual([
        method,
        url,
        status,
        1,
        1,
      ]);
    }
  });
});
