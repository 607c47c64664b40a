import { IncomingMessage, STATUS_CODES, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import parseRange from 'range-parser';
import { settings } from '../../config/settings';
import { referential, referentialInMemory } from '../communes/referential';
import { latestVersion } from '../packs/store';
import { ServedFile, cachedManifest, cachedServedFile, manifestInMemory, matchesEtag } from './pack-files';
import type { ClientIpSource, FlatHeaders, PublicRouteHeaders } from './http/security';
import { httpObserver } from './metrics';
import { Lane, LaneConnection, LaneRequest, LaneVerdict } from './pack-lane';

/**
 * The pack downloads' fast path (issue 13: serve a pack at ≥ 0.5× nginx).
 *
 * What it is: one decision (`decide`: the route's answer, from the route's caches) used at two
 * levels. Below node:http, the lane (pack-lane.ts) reads each accepted connection first and answers
 * GET and HEAD of `/communes/{code}/pack.zip` and `/communes/{code}/pack/{version}.zip` on kept-alive
 * HTTP/1.1 connections itself, with the bytes node:http would write; at the first request it does
 * not answer, node:http takes the connection. Inside node:http, a function the server calls on every
 * request before Fastify (app.ts, `serverFactory`) answers the same requests on the connections
 * node:http has (`Connection: close`, a connection that asked for another route first, …). Every
 * other request goes to Fastify untouched.
 *
 * Why the lane: with the plug-ins' work out of the way, node:http's own per-request machinery was
 * most of what was left. On a 10 KB pack (wrk, one process, the same machine and minute,
 * 2026-11-30): through node:http 15–19k req/s at 1,000 connections, 52–63 µs of main thread per
 * request; through the lane 26–32k req/s, 30–36 µs (nginx 45–47k). A closure created per request
 * (tsx's keepNames names each one with Object.defineProperty) had cost a third of that gain.
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
/** A connection accepted less than this long ago (ms) means others may wait in the accept queue: turns are bounded. */
const ACCEPTING_MS = 20;

/**
 * One answer the fast path has decided (`decide`): what `answer` writes, now or in a later turn, on
 * a node:http response or on a connection of the lane.
 */
interface Answer {
  method: 'GET' | 'HEAD';
  url: string;
  f: ServedFile;
  route: string;
  status: number;
  start: number;
  end: number;
  /** performance.now() when the request arrived. */
  started: number;
  /** The rate limit's headers; undefined until the plug-in's own promise has counted the request (`ip`). */
  limitHeaders: FlatHeaders | undefined;
  ip: string;
  /** The request's Origin (CORS's answer). */
  origin: string | undefined;
  res: AnsweredResponse | null;
  conn: LaneConnection | null;
  /** Bytes of body this answer writes (0 for HEAD and 304), for the turn's budget. */
  bytes: number;
}

/** The request headers a decision reads. */
interface DecisionHeaders {
  origin: string | undefined;
  ifNoneMatch: string | undefined;
  range: string | undefined;
  ifRange: string | undefined;
}

export interface FastPathOptions {
  headers: PublicRouteHeaders;
  /** The server's logger when it logs requests, else undefined. */
  log?: FastifyBaseLogger;
  /** Whether the server is closing (then Fastify answers). */
  closing: () => boolean;
  /**
   * How long (ms) after a connection was accepted the turns stay bounded to ANSWERS_PER_TURN
   * answers (see `respond`). Default ACCEPTING_MS; tests set it high to see bounded turns without
   * racing the clock.
   */
  acceptingMs?: number;
}

/** Counters for tests and the report: answered here, or handed to Fastify after matching a pack URL. */
interface FastPathStats {
  served: number;
  passed: number;
  /** Of the served, those answered by the lane, below node:http (pack-lane.ts). */
  lane: number;
  /** Connections the lane handed to node:http. */
  handedOff: number;
  /** Of the served, those that waited for a later turn of the event loop (`respond`). */
  deferred: number;
}

export type FastPath = ((req: IncomingMessage, res: ServerResponse, next: (req: IncomingMessage, res: ServerResponse) => void) => void) & {
  stats: FastPathStats;
  /**
   * Takes `server`'s accepted connections (its 'connection' event) before node:http: each is first
   * read by the lane (pack-lane.ts), then handed to node:http's own connection listener at the
   * first request the fast path does not answer. Turns are bounded while connections come (`respond`).
   */
  attach: (server: Server) => void;
  /** The server is closing: the lane answers nothing more and closes its idle connections. */
  close: () => void;
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
  const stats: FastPathStats = { served: 0, passed: 0, lane: 0, handedOff: 0, deferred: 0 };
  // Per version file and CORS answer (the same array for the same answer): the headers every answer
  // about it starts with (helmet's, the file's own, CORS's), and those of its whole body (200, with
  // the Content-Length), computed once.
  interface Prefix {
    any: FlatHeaders;
    whole: FlatHeaders;
    /** The same as header lines (`name: value\r\n`), for the lane. */
    anyText: string;
    wholeText: string;
  }
  const prefixes = new WeakMap<ServedFile, Map<FlatHeaders, Prefix>>();
  const prefix = (f: ServedFile, cors: FlatHeaders): Prefix => {
    let byCors = prefixes.get(f);
    if (!byCors) prefixes.set(f, (byCors = new Map()));
    let h = byCors.get(cors);
    if (!h) {
      const any = [...headers.download, ...Object.entries(f.headers).flat(), ...cors];
      const whole = [...any, 'content-length', String(f.size)];
      byCors.set(cors, (h = { any, whole, anyText: headerLines(any), wholeText: headerLines(whole) }));
    }
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
  const observe = (a: Answered) => {
    const ms = performance.now() - a.started;
    a.observe(ms / 1000);
    log?.info(
      { reqId: `fast-${(++ids).toString(36)}`, method: a.method, url: a.url, statusCode: a.status, responseTime: ms },
      'request completed',
    );
  };
  function finished(this: AnsweredResponse): void {
    observe(this[ANSWERED]!);
  }
  // Only given answers the rate limiter has counted (`limitHeaders` set): see `fast` and `laneRequest`.
  const answer = (a: Answer) => {
    const { res, conn, method, f, route, status, start, end, started, limitHeaders } = a;
    const p = prefix(f, headers.cors(a.origin));
    const body = method === 'HEAD' || status === 304 ? null : status === 206 ? f.body!.subarray(start, end + 1) : f.body!;
    // Fastify's HEAD route (lib/head-route.js) gives an answer without payload, the 304, a Content-Length of 0.
    const length: FlatHeaders =
      status === 206
        ? ['content-range', `bytes ${start}-${end}/${f.size}`, 'content-length', String(end - start + 1)]
        : status !== 200 && method === 'HEAD'
          ? ['content-length', '0']
          : noLimit;
    stats.served++;
    const done: Answered = { started, method, url: a.url, status, observe: observerOf(method, route, status) };
    if (conn) {
      // The bytes node:http writes for the same writeHead and end (test/pack-fast.test.ts compares them).
      stats.lane++;
      const socket = conn.socket;
      socket.cork();
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${status === 200 ? p.wholeText : p.anyText}${headerLines(limitHeaders!)}${headerLines(length)}Date: ${utcDate()}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=${keepAliveSeconds}\r\n\r\n`,
        'latin1',
      );
      if (body) socket.write(body);
      socket.uncork();
      if (socket.writableLength === 0) observe(done);
      else socket.once('drain', () => observe(done));
      return;
    }
    res!.writeHead(status, (status === 200 ? p.whole : p.any).concat(limitHeaders!, length));
    if (body) res!.end(body);
    else res!.end();
    // Fastify's onResponse hook, which the metrics and the log of the route use, runs on 'finish':
    // once the socket has taken every byte. When the socket took them all at once (nothing left in
    // its buffer: most answers up to a few hundred KB), that is now; 'finish' would only follow in
    // a later tick. Else on 'finish', as the route.
    if (res!.socket && res!.writableLength === 0) observe(done);
    else {
      res![ANSWERED] = done;
      res!.on('finish', finished);
    }
  };

  // The answers of one turn of the event loop are bounded: at most TURN_BYTES of large bodies, and,
  // while connections are being accepted, at most ANSWERS_PER_TURN answers; the others are queued
  // (first come, first answered) for the next turns. Node's libuv (≥ 1.45, libuv/libuv#3696)
  // accepts one connection per poll of the event loop, so a turn that answers every ready socket
  // makes each new connection wait for all the others: at 1,000 connections opened at once, the
  // last ones waited seconds in the accept queue (wrk's time-outs), with 500 KB bodies (a turn of
  // up to ~300 ms) and with 10 KB ones (a turn of every accepted connection's request). Short turns
  // accept a connection every few milliseconds.
  // Once no connection has been accepted for ACCEPTING_MS, the accept queue is empty and small
  // answers are all written in the turn that reads their requests. Bounding their number then only
  // costs: the requests read meanwhile wait in memory, parsed, instead of in the kernel's socket
  // buffers. At 1,000 kept-alive connections that is ~1,000 requests and responses alive for tens
  // of milliseconds, which the young generation's collections promote to the old one: on a 10 KB
  // pack (wrk, 1,000 connections, main thread's CPU per request, six alternated 5 s runs) the main
  // thread spent ~16 % less per request once only turns with accepts were bounded, and wrk's p99
  // fell from 325–508 ms to 77–99 ms.
  const queued: Answer[] = [];
  let head = 0; // queued[head] is the next to answer: no splice of a long queue per answer
  let turnBytes = 0;
  let turnAnswers = 0;
  let turnScheduled = false;
  let lastAccept = Number.NEGATIVE_INFINITY;
  const acceptingMs = opts.acceptingMs ?? ACCEPTING_MS;
  const accepting = (now: number) => now - lastAccept < acceptingMs;
  const fits = (bytes: number, bounded: boolean) =>
    (!bounded || turnAnswers < ANSWERS_PER_TURN) && (bytes < LARGE || turnBytes < TURN_BYTES);
  const answerNow = (a: Answer) => {
    turnAnswers++;
    if (a.bytes >= LARGE) turnBytes += a.bytes;
    answer(a);
  };
  const nextTurn = () => {
    turnScheduled = false;
    turnBytes = 0;
    turnAnswers = 0;
    const bounded = accepting(performance.now());
    while (head < queued.length && fits(queued[head].bytes, bounded)) {
      const q = queued[head++];
      answerNow(q);
      q.conn?.answered();
    }
    if (head === queued.length) {
      queued.length = 0;
      head = 0;
    } else if (head > 1024 && head * 2 > queued.length) {
      queued.splice(0, head);
      head = 0;
    }
    // Each request that arrives meanwhile schedules the next turn too (`respond`).
    if (queued.length) scheduleTurn();
  };
  const scheduleTurn = () => {
    if (turnScheduled) return;
    turnScheduled = true;
    setImmediate(nextTurn);
  };
  /** Answers now, or queues for a later turn: 'answered' or 'queued'. */
  const respond = (a: Answer): LaneVerdict => {
    scheduleTurn();
    if (head === queued.length && fits(a.bytes, accepting(a.started))) {
      answerNow(a);
      return 'answered';
    }
    stats.deferred++;
    queued.push(a);
    return 'queued';
  };
  /**
   * What the route would answer to this request (on `res`, or on the lane's `conn`), when the fast
   * path can give the same answer from memory: undefined for a request that is not a pack download,
   * null for one that Fastify must answer.
   */
  const decide = (
    method: string | undefined,
    url: string,
    h: DecisionHeaders,
    // The client's address is computed only for a pack download (clientIp of this request): a
    // function and its argument, not a closure per request (tsx's keepNames names each closure).
    ipOf: (req: ClientIpSource) => string | undefined,
    ipReq: ClientIpSource,
    res: AnsweredResponse | null,
    conn: LaneConnection | null,
  ): Answer | null | undefined => {
    if ((method !== 'GET' && method !== 'HEAD') || !url.startsWith('/communes/')) return undefined;
    const q = url.indexOf('?');
    const m = PACK_URL.exec(q < 0 ? url : url.slice(0, q));
    if (!m) return undefined;
    if (opts.closing()) return null;
    const started = performance.now();
    const code = m[1];
    const version = m[2];
    // The caches of the route, as they are; one due for its check is used while the check runs
    // (started once here, in the background): the fast path never waits on PostgreSQL or the disk.
    const mem = referentialInMemory();
    if (mem?.due) refreshReferential();
    const rec = mem?.ref.current.get(code);
    if (!rec) return null;
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
    if (!v) return null;
    const f = cachedServedFile(dir, code, rec.nom, v, version !== undefined);
    if (!f?.body) return null;

    // What to answer, as sendPackVersion decides it.
    let status = 200;
    let start = 0;
    let end = f.size - 1;
    if (matchesEtag(h.ifNoneMatch, f.etag)) status = 304;
    else if (h.range && (!h.ifRange || h.ifRange === f.etag)) {
      const r = parseRange(f.size, h.range, { combine: true });
      if (r === -1) return null; // 416: the route's error answer
      if (r !== -2 && r.type === 'bytes' && r.length === 1) {
        status = 206;
        ({ start, end } = r[0]);
      }
    }
    const ip = ipOf(ipReq);
    if (ip === undefined) return null;
    const route = version === undefined ? ROUTE_LATEST : ROUTE_VERSION;
    // The rate limit: counted at once when the limiter can (its in-memory store); else left to the caller (`limitHeaders` undefined).
    let limitHeaders: FlatHeaders | undefined = noLimit;
    if (limiter) {
      const counted = limiter.now(ip, url);
      if (counted?.exceeded) return null;
      limitHeaders = counted?.headers;
    }
    const bytes = method === 'HEAD' || status === 304 ? 0 : status === 206 ? end - start + 1 : f.size;
    return { method, url, f, route, status, start, end, started, limitHeaders, ip, origin: h.origin, res, conn, bytes };
  };

  const fast = (req: IncomingMessage, res: ServerResponse, next: (req: IncomingMessage, res: ServerResponse) => void): void => {
    const rh = req.headers;
    const a = decide(
      req.method,
      req.url ?? '',
      { origin: rh.origin, ifNoneMatch: rh['if-none-match'], range: rh.range, ifRange: rh['if-range'] as string | undefined },
      clientIp,
      req,
      res,
      null,
    );
    if (a === undefined) return next(req, res);
    if (a === null) return pass(req, res, next);
    if (a.limitHeaders) return void respond(a);
    // The first request of an IPv6 address: counted through the plug-in's own limiter, which computes its key.
    limiter!.later(a.ip, a.url).then(
      (r) => {
        if (r.exceeded) return pass(req, res, next);
        a.limitHeaders = r.headers;
        respond(a);
      },
      () => pass(req, res, next), // the plug-in's hook meets the same error and answers it
    );
  };

  // The lane (pack-lane.ts): a request it parsed, decided as above; anything the fast path would
  // not answer at once from memory goes to node:http with the connection.
  let keepAliveSeconds = 5;
  const laneRequest = (conn: LaneConnection, req: LaneRequest): LaneVerdict => {
    const a = decide(req.method, req.url, req, clientIp, laneIpSource(conn.socket, req.forwardedFor), null, conn);
    // Not answered here: node:http reads the request again, and the fast path or Fastify answers it
    // there. An IPv6 address's first request (no limit headers yet) was not counted: the plug-in
    // counts it there. A request over the limit was, and is counted again there, as the fast path
    // inside node:http already does before Fastify's 429: the count is over either way, the answer
    // the same.
    if (!a?.limitHeaders) return 'pass';
    return respond(a);
  };
  let lane: Lane | null = null;
  const attach = (server: Server) => {
    // node:http's own connection listener (lib/_http_server.js, connectionListener), called by the lane when it hands a connection over.
    const nodeListeners = server.listeners('connection') as ((socket: Socket) => void)[];
    server.removeAllListeners('connection');
    keepAliveSeconds = Math.floor(server.keepAliveTimeout / 1000);
    lane = new Lane({
      request: laneRequest,
      handOff: (socket) => {
        stats.handedOff++;
        for (const l of nodeListeners) l.call(server, socket);
      },
      keepAliveMs: server.keepAliveTimeout,
    });
    server.on('connection', (socket: Socket) => {
      lastAccept = performance.now();
      lane!.connection(socket);
    });
  };
  const close = () => lane?.close();
  return Object.assign(fast, { stats, attach, close });
}

/** `name: value\r\n` for each pair, as node:http writes them. */
function headerLines(h: FlatHeaders): string {
  let s = '';
  for (let i = 0; i < h.length; i += 2) s += `${h[i]}: ${h[i + 1]}\r\n`;
  return s;
}

/** What clientIp reads of a request of the lane: the socket's address and X-Forwarded-For. */
function laneIpSource(socket: Socket, forwardedFor: string | undefined): ClientIpSource {
  return { socket, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } };
}

/** node:http's Date header (lib/internal/http.js, utcDate): the current second's, computed once a second. */
let dateText = '';
let dateSecond = -1;
function utcDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}
