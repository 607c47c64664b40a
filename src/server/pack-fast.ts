import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import parseRange from 'range-parser';
import { settings } from '../../config/settings';
import { referential, referentialInMemory } from '../communes/referential';
import { latestVersion } from '../packs/store';
import { ServedFile, cachedManifest, cachedServedFile, manifestInMemory, matchesEtag } from './pack-files';
import type { FlatHeaders, PublicRouteHeaders } from './http/security';
import { httpObserver } from './metrics';

/**
 * The pack downloads' fast path (issue 13: serve a pack at ≥ 0.5× nginx).
 *
 * What it is: a function the HTTP server calls on every request before Fastify (app.ts,
 * `serverFactory`). It answers GET and HEAD of `/communes/{code}/pack.zip` and
 * `/communes/{code}/pack/{version}.zip` itself when everything the route would need is in memory,
 * and hands every other request to Fastify untouched.
 *
 * Why before Fastify: on a 10 KB pack from memory (wrk, 50 connections, one process) the route
 * through Fastify cost ≈ 100 µs of CPU per request, a bare `http.createServer` writing the same
 * bytes and headers ≈ 22 µs, and this path ≈ 45 µs (65–85 µs with the rate limiter) — measured
 * with process.cpuUsage() per request on a loaded machine, so ±30 %. A CPU profile (node
 * --cpu-prof) of this path shows the writev(2) of the answer as the largest item, then garbage
 * collection, header validation in writeHead, the rate limiter's promises and the histogram; the
 * per-request lifecycle (request/reply objects, the onRequest hooks of CORS, helmet, rate limit and
 * compression, onSend, onResponse) is what is no longer paid. Precomputing headers alone (already
 * done by pack-files.ts) did not remove it. Then (CPU per request over 5 s wrk runs, server
 * process's utime + stime from /proc, base and change alternated on a loaded machine): ≈ 50 µs →
 * ≈ 39 µs by counting the rate limit synchronously in the plug-in's in-memory store (no promise,
 * the answer written from the request's own callback), one header list per (file, CORS answer),
 * one histogram child per series, and no closure created per request (tsx's keepNames names each).
 *
 * What it keeps (test/pack-fast.test.ts compares it, request by request, with the same server
 * built without it):
 * - the answer: the route's own caches decide it — the referential in memory, the manifest
 *   (`manifestInMemory`), the version file's precomputed headers and bytes (`cachedServedFile`,
 *   files ≤ 1 MB). When one is missing, the request goes to Fastify, whose route does the I/O and
 *   fills it (the first request of a pack). When one is due for its periodic check (the manifest
 *   every second, the referential every 2 s), the fast path starts that check once, in the
 *   background, and answers from what it has meanwhile: sending those requests through Fastify
 *   while the check ran was up to a fifth of the requests at 1,000 connections on a 500 KB pack. A
 *   publication by this process drops the manifest at once (`packEvents`), so only another
 *   process's is seen later, by the time of one stat(2) more than the route;
 * - 200, 206 (one range, the same range-parser call, If-Range), 304 (If-None-Match), HEAD: the
 *   route's logic, copied from `sendPackVersion`; everything else — 301 of an old code, 404 and
 *   400 in French, 416, 429, 503, files > 1 MB (streamed from disk, where the lifecycle's cost is
 *   small against the transfer), malformed or non-canonical URLs (lower-case code, trailing slash,
 *   percent-encoding) — is answered by Fastify, so it is the very same answer;
 * - the headers of the plug-ins: helmet's of a download (without DOCUMENT_ONLY_HEADERS), captured
 *   from helmet itself once; CORS's for the request's Origin; the rate limit's three X-RateLimit-*
 *   (src/server/http/security.ts);
 * - the rate limit: the plug-in's own store counts each request once, with the plug-in's key —
 *   synchronously (security.ts, `RateLimiter.now`), or through the plug-in's own limiter for the
 *   first request of an IPv6 address (whose key, its /64, the plug-in computes). A request over
 *   the limit goes to Fastify, which counts it again and answers the 429 (the count is already
 *   over, so the answer is the same: remaining 0, the same reset);
 * - the metrics: each answer is observed in dotation_http_request_duration_seconds with the
 *   route's pattern, method and status, timed from the request to the response's end as Fastify's
 *   onResponse hook does;
 * - logging: when the server logs requests (LOG_LEVEL info or debug), one line per answer,
 *   "request completed" with method, URL, status and time, where Fastify writes two;
 * - closing: once the server is closing (`preClose`), every request goes to Fastify (503).
 *
 * What it adds: each turn of the event loop gives at most 16 answers, and at most 1 MB of bodies of
 * 64 KB or more; the others are queued for the next turns (`respond`), because libuv accepts one
 * connection per poll. At 1,000 connections on a 500 KB pack, turns that wrote hundreds of bodies
 * left new connections seconds in the accept queue (wrk's time-outs: 3 to 395 per 3 s run, 12 runs
 * of 13; with the byte budget, none in 12 of 13, the same CPU per request). On a 10 KB pack the
 * byte budget did not apply and wrk still counted 381 time-outs in 10 s; a bare Node server writing
 * 10 KB from memory (wrk, 1,000 connections, 6 s, on a loaded machine) had accepted 750 connections
 * after 3.2–3.4 s and counted 196–541 time-outs when it answered every ready request at once, and
 * accepted all 1,000 in 0.6–1.0 s with no time-out, at the same or a higher rate, when it answered
 * at most 8 to 32 per turn.
 */

/** `/communes/{code}/pack.zip` or `/communes/{code}/pack/{version}.zip`, code upper-case as the route uppercases it. */
const PACK_URL = /^\/communes\/(\d{5}|2[AB]\d{3})\/pack(?:\.zip|\/([0-9A-Za-z][0-9A-Za-z._-]{0,63})\.zip)$/;
const ROUTE_LATEST = '/communes/:code/pack.zip';
const ROUTE_VERSION = '/communes/:code/pack/:file';
/** Per turn of the event loop, at most this many answers (see `respond`). */
const ANSWERS_PER_TURN = 16;
/** Bodies from this size on are also written within a byte budget per turn of the event loop. */
const LARGE = 64 * 1024;
const TURN_BYTES = 1024 * 1024;

/** One answer the fast path has decided: what `answer` writes, now or in a later turn. */
interface Answer {
  req: IncomingMessage;
  res: AnsweredResponse;
  f: ServedFile;
  route: string;
  status: number;
  start: number;
  end: number;
  /** performance.now() when the request arrived. */
  started: number;
  limitHeaders: FlatHeaders;
}

export interface FastPathOptions {
  headers: PublicRouteHeaders;
  /** The server's logger when it logs requests, else undefined. */
  log?: FastifyBaseLogger;
  /** Whether the server is closing (then Fastify answers). */
  closing: () => boolean;
}

/** Counters for tests and the report: answered here, or handed to Fastify after matching a pack URL. */
interface FastPathStats {
  served: number;
  passed: number;
  /** Of the served, those that waited for a later turn of the event loop (`respond`). */
  deferred: number;
}

export type FastPath = ((req: IncomingMessage, res: ServerResponse, next: (req: IncomingMessage, res: ServerResponse) => void) => void) & {
  stats: FastPathStats;
};

/** What the answer's 'finish' listener needs, kept on the response (one listener function for all answers). */
interface Answered {
  started: number;
  method: string;
  url: string;
  status: number;
  observe: (seconds: number) => void;
}
const ANSWERED = Symbol('packFastPath.answered');
type AnsweredResponse = ServerResponse & { [ANSWERED]?: Answered };

/** Null when the fast path cannot compute what the rate limiter counts (TRUST_PROXY as addresses): Fastify answers all. */
export function packFastPath(opts: FastPathOptions): FastPath | null {
  const { headers, log } = opts;
  const clientIp = headers.clientIp;
  if (!clientIp) return null;
  const limiter = headers.rateLimit;
  const stats: FastPathStats = { served: 0, passed: 0, deferred: 0 };
  // Per version file and CORS answer (the same array for the same answer): the headers every answer
  // about it starts with (helmet's, the file's own, CORS's), computed once.
  const prefixes = new WeakMap<ServedFile, Map<FlatHeaders, FlatHeaders>>();
  const prefix = (f: ServedFile, cors: FlatHeaders): FlatHeaders => {
    let byCors = prefixes.get(f);
    if (!byCors) prefixes.set(f, (byCors = new Map()));
    let h = byCors.get(cors);
    if (!h) byCors.set(cors, (h = [...headers.download, ...Object.entries(f.headers).flat(), ...cors]));
    return h;
  };
  const noLimit: FlatHeaders = [];
  // The histogram's series of the answers given here: 2 routes × 2 methods × 3 statuses, each made when first used.
  const observers: ((seconds: number) => void)[] = [];
  const observerOf = (method: string, route: string, status: number) => {
    const i = (route === ROUTE_LATEST ? 0 : 6) + (method === 'GET' ? 0 : 3) + (status === 200 ? 0 : status === 206 ? 1 : 2);
    return (observers[i] ??= httpObserver(method, route, status));
  };
  let ids = 0;
  // At most one check in flight per cache; a failed check leaves the cache as the route would (kept, or dropped when the file is gone).
  let referentialCheck: Promise<unknown> | null = null;
  const refreshReferential = () => {
    referentialCheck ??= referential()
      .catch(() => undefined)
      .finally(() => (referentialCheck = null));
  };
  const manifestChecks = new Set<string>();
  const recheckManifest = (dir: string, code: string) => {
    const key = `${dir}\0${code}`;
    if (manifestChecks.has(key)) return;
    manifestChecks.add(key);
    cachedManifest(dir, code)
      .catch(() => undefined)
      .finally(() => manifestChecks.delete(key));
  };

  // Functions created once, not per request: under tsx (esbuild's keepNames) every closure created
  // per request also paid an Object.defineProperty of its name.
  const pass = (req: IncomingMessage, res: ServerResponse, next: (req: IncomingMessage, res: ServerResponse) => void) => {
    stats.passed++;
    next(req, res);
  };
  function finished(this: AnsweredResponse): void {
    const a = this[ANSWERED]!;
    const ms = performance.now() - a.started;
    a.observe(ms / 1000);
    log?.info(
      { reqId: `fast-${(++ids).toString(36)}`, method: a.method, url: a.url, statusCode: a.status, responseTime: ms },
      'request completed',
    );
  }
  const answer = (a: Answer) => {
    const { req, res, f, route, status, start, end, started, limitHeaders } = a;
    const method = req.method!;
    const h = prefix(f, headers.cors(req.headers.origin)).concat(limitHeaders);
    if (status === 206) h.push('content-range', `bytes ${start}-${end}/${f.size}`, 'content-length', String(end - start + 1));
    else if (status === 200) h.push('content-length', String(f.size));
    // Fastify's HEAD route (lib/head-route.js) gives an answer without payload, the 304, a Content-Length of 0.
    else if (method === 'HEAD') h.push('content-length', '0');
    stats.served++;
    res[ANSWERED] = { started, method, url: req.url!, status, observe: observerOf(method, route, status) };
    res.on('finish', finished);
    res.writeHead(status, h);
    if (method === 'HEAD' || status === 304) res.end();
    else res.end(status === 206 ? f.body!.subarray(start, end + 1) : f.body);
  };

  // The answers of one turn of the event loop are bounded: at most ANSWERS_PER_TURN answers and
  // TURN_BYTES of large bodies; the others are queued (first come, first answered) for the next
  // turns. Node's libuv (≥ 1.45, libuv/libuv#3696) accepts one connection per poll of the event
  // loop, so a turn that answers every ready socket makes each new connection wait for all the
  // others: at 1,000 connections opened at once, the last ones waited seconds in the accept queue
  // (wrk's time-outs), with 500 KB bodies (a turn of up to ~300 ms) and with 10 KB ones (a turn of
  // every accepted connection's request). Short turns accept a connection every few milliseconds.
  type Queued = Answer & { bytes: number };
  const queued: Queued[] = [];
  let turnBytes = 0;
  let turnAnswers = 0;
  let turnScheduled = false;
  const fits = (bytes: number) => turnAnswers < ANSWERS_PER_TURN && (bytes < LARGE || turnBytes < TURN_BYTES);
  const answerNow = (a: Answer, bytes: number) => {
    turnAnswers++;
    if (bytes >= LARGE) turnBytes += bytes;
    answer(a);
  };
  const nextTurn = () => {
    turnScheduled = false;
    turnBytes = 0;
    turnAnswers = 0;
    let n = 0;
    while (n < queued.length && fits(queued[n].bytes)) {
      const q = queued[n++];
      answerNow(q, q.bytes);
    }
    queued.splice(0, n);
    // A turn that answered something keeps the next one bounded too (what arrives meanwhile).
    if (queued.length || n) scheduleTurn();
  };
  const scheduleTurn = () => {
    if (turnScheduled) return;
    turnScheduled = true;
    setImmediate(nextTurn);
  };
  const respond = (a: Answer) => {
    const { req, status, start, end, f } = a;
    const bytes = req.method === 'HEAD' || status === 304 ? 0 : status === 206 ? end - start + 1 : f.size;
    scheduleTurn();
    if (!queued.length && fits(bytes)) return answerNow(a, bytes);
    stats.deferred++;
    queued.push({ ...a, bytes });
  };

  const fast = (req: IncomingMessage, res: ServerResponse, next: (req: IncomingMessage, res: ServerResponse) => void): void => {
    const method = req.method;
    const url = req.url ?? '';
    if ((method !== 'GET' && method !== 'HEAD') || !url.startsWith('/communes/')) return next(req, res);
    const q = url.indexOf('?');
    const m = PACK_URL.exec(q < 0 ? url : url.slice(0, q));
    if (!m) return next(req, res);
    if (opts.closing()) return pass(req, res, next);
    const started = performance.now();
    const code = m[1];
    const version = m[2];
    // The caches of the route, as they are; one due for its check is used while the check runs
    // (started once here, in the background): the fast path never waits on PostgreSQL or the disk.
    const mem = referentialInMemory();
    if (mem?.due) refreshReferential();
    const rec = mem?.ref.current.get(code);
    if (!rec) return pass(req, res, next);
    const dir = settings().PACKS_DIR;
    const cached = manifestInMemory(dir, code);
    if (cached?.due) recheckManifest(dir, code);
    const manifest = cached?.manifest;
    const v = !manifest
      ? undefined
      : version === undefined
        ? latestVersion(manifest)
        : version.includes('..')
          ? undefined
          : manifest.versions.find((x) => x.version === version);
    if (!v) return pass(req, res, next);
    const f = cachedServedFile(dir, code, rec.nom, v, version !== undefined);
    if (!f?.body) return pass(req, res, next);

    // What to answer, as sendPackVersion decides it.
    let status = 200;
    let start = 0;
    let end = f.size - 1;
    if (matchesEtag(req.headers['if-none-match'], f.etag)) status = 304;
    else {
      const range = req.headers.range;
      const ifRange = req.headers['if-range'];
      if (range && (!ifRange || ifRange === f.etag)) {
        const r = parseRange(f.size, range, { combine: true });
        if (r === -1) return pass(req, res, next); // 416: the route's error answer
        if (r !== -2 && r.type === 'bytes' && r.length === 1) {
          status = 206;
          ({ start, end } = r[0]);
        }
      }
    }
    const ip = clientIp(req);
    if (ip === undefined) return pass(req, res, next);
    const route = version === undefined ? ROUTE_LATEST : ROUTE_VERSION;
    if (!limiter) return respond({ req, res, f, route, status, start, end, started, limitHeaders: noLimit });
    // The rate limit: counted at once when the limiter can (its in-memory store), else through the plug-in's promise.
    const counted = limiter.now(ip, url);
    if (counted)
      return counted.exceeded
        ? pass(req, res, next)
        : respond({ req, res, f, route, status, start, end, started, limitHeaders: counted.headers });
    limiter.later(ip, url).then(
      (r) => (r.exceeded ? pass(req, res, next) : respond({ req, res, f, route, status, start, end, started, limitHeaders: r.headers })),
      () => pass(req, res, next), // the plug-in's hook meets the same error and answers it
    );
  };
  return Object.assign(fast, { stats });
}
