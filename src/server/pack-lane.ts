import type { Socket } from 'node:net';

/**
 * The pack downloads' lane below node:http (issue 13: serve a 10 KB pack at ≥ 0.5× nginx).
 *
 * Why: with every plug-in's work already out of the way (pack-fast.ts), node:http's own machinery
 * per request — an IncomingMessage and a ServerResponse, their streams, header validation and
 * serialisation, 'finish' — was most of what was left. Measured on this machine (wrk, 10 KB from
 * memory, the same headers, one process, 4 s runs in the same minute, 2026-11-30): node:http 30–31k
 * req/s at 50 connections (32 µs of main thread per request), a socket server writing the same
 * bytes 52k (18 µs), nginx 44k. So a connection is first read here: each request head is parsed
 * (strictly, see `parseHead`), and a GET or HEAD of a pack that the fast path can answer from
 * memory is answered here, with the very bytes node:http would write (pack-fast.ts, `rawAnswer`).
 *
 * Anything else — another route, a request with a body, `Connection: close`, HTTP/1.0, a header
 * that is repeated, folded or malformed, a head over 16 KB or not read whole at once (node:http
 * then applies its own head time-out to slow clients), an address whose rate-limit key only
 * the plug-in computes, a closing server — hands the connection to node:http for good (`handOff`):
 * the bytes read and not answered are put back in front of the socket's stream, and node:http's
 * own connection listener takes the socket as if it had just been accepted. So every answer but the
 * fast path's is node:http's and Fastify's, byte for byte, and no request is parsed twice with
 * different rules: a request this parser has a doubt about is never answered here.
 */

/** A request head this lane can answer, as parsed by `parseHead`. */
export interface LaneRequest {
  method: 'GET' | 'HEAD';
  url: string;
  origin: string | undefined;
  ifNoneMatch: string | undefined;
  range: string | undefined;
  ifRange: string | undefined;
  forwardedFor: string | undefined;
}

/** Heads longer than this go to node:http (whose default limit is 16 KB, answered 431 there). */
const MAX_HEAD = 16 * 1024;

const REQUEST_LINE = /^(GET|HEAD) (\/[!-~]*) HTTP\/1\.1$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What node:http refuses in a header value (lib/_http_common.js, checkInvalidHeaderChar). */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** HTTP's optional white space at either end of a header value. */
const OWS = /^[ \t]+|[ \t]+$/g;
/** The headers a pack download reads, by lower-case name: where `parseHead` puts them. */
const READ = new Map<string, 'origin' | 'ifNoneMatch' | 'range' | 'ifRange' | 'forwardedFor'>([
  ['origin', 'origin'],
  ['if-none-match', 'ifNoneMatch'],
  ['range', 'range'],
  ['if-range', 'ifRange'],
  ['x-forwarded-for', 'forwardedFor'],
]);
/** Headers whose presence means the request is not a plain download: node:http decides. */
const HAND_OFF = new Set(['content-length', 'transfer-encoding', 'expect', 'upgrade', 'http2-settings']);

/**
 * A request head (the bytes before CRLF CRLF, as latin1), or null when node:http should read it.
 * Null for anything but `GET|HEAD <path> HTTP/1.1`, a header name that is not a token, a value with
 * a character node:http refuses, obs-fold, a lone CR or LF, a body (Content-Length,
 * Transfer-Encoding), Expect, Upgrade, a Connection other than keep-alive, and a repeated header
 * among those read here (node:http would join them).
 */
export function parseHead(head: string): LaneRequest | null {
  const lines = head.split('\r\n');
  const m = REQUEST_LINE.exec(lines[0]);
  if (!m) return null;
  const req: LaneRequest = {
    method: m[1] as 'GET' | 'HEAD',
    url: m[2],
    origin: undefined,
    ifNoneMatch: undefined,
    range: undefined,
    ifRange: undefined,
    forwardedFor: undefined,
  };
  let host = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon <= 0 || line.includes('\r') || line.includes('\n')) return null;
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return null;
    // Only spaces and tabs are trimmed (HTTP's OWS): other characters at either end stay, and are refused below.
    const value = line.slice(colon + 1).replace(OWS, '');
    if (INVALID_VALUE.test(value)) return null;
    const lower = name.toLowerCase();
    const field = READ.get(lower);
    if (field) {
      if (req[field] !== undefined) return null; // node:http would join the two
      req[field] = value;
    } else if (lower === 'host') {
      if (host) return null;
      host = true;
    } else if (lower === 'connection') {
      if (value.toLowerCase() !== 'keep-alive') return null;
    } else if (HAND_OFF.has(lower)) return null;
  }
  // HTTP/1.1 requires Host (node:http answers 400 without it).
  return host ? req : null;
}

/** What the fast path does with a request of the lane. */
export type LaneVerdict = 'answered' | 'queued' | 'pass';

export interface LaneHooks {
  /**
   * Answers `req` on `conn` now ('answered'), later in this connection's order ('queued': it calls
   * `conn.answered()` once written), or not at all ('pass': node:http gets the connection).
   */
  request(conn: LaneConnection, req: LaneRequest): LaneVerdict;
  /** node:http's connection listener, bound to its server: takes the socket as if just accepted. */
  handOff(socket: Socket): void;
  /** Idle time (ms) after which a connection is closed: node:http's keepAliveTimeout. */
  keepAliveMs: number;
}

/** One connection while this lane reads it. */
export class LaneConnection {
  private buf: Buffer | null = null;
  /** An answer of this connection is queued or still being written: the next request waits. */
  private busy = false;
  private gone = false;
  private readonly onData = (chunk: Buffer) => {
    // Bytes after an answer that is still queued or being written wait here (a pipelining client).
    this.buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    this.pump();
  };
  private readonly onTimeout = () => this.socket.destroy();
  private readonly onError = () => this.socket.destroy();
  private readonly onClose = () => {
    this.gone = true;
    this.lane.open.delete(this);
  };

  constructor(
    readonly socket: Socket,
    private readonly lane: Lane,
  ) {
    socket.setTimeout(lane.hooks.keepAliveMs);
    socket.on('timeout', this.onTimeout);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('data', this.onData);
  }

  /** Whether nothing of this connection is being answered or read: it may be closed at once. */
  get idle(): boolean {
    return !this.busy && !this.buf;
  }

  /** Reads the requests buffered, one at a time, in order. */
  private pump(): void {
    // A closing server: what is left goes to node:http (Fastify's 503, then the connection closes); nothing left, closed now.
    if (this.lane.closing() && !this.busy && !this.gone) return this.buf ? this.handOff() : void this.socket.destroy();
    while (!this.busy && !this.gone && this.buf) {
      const buf = this.buf;
      const end = buf.indexOf('\r\n\r\n');
      // A head that did not come whole in what was read (a slow or large head, a pipelined one cut
      // in two): node:http reads it, with its own head time-out (headersTimeout) and size limit.
      if (end < 0) return this.handOff();
      const req = end <= MAX_HEAD ? parseHead(buf.toString('latin1', 0, end)) : null;
      if (!req) return this.handOff();
      const verdict = this.lane.hooks.request(this, req);
      if (verdict === 'pass') return this.handOff();
      this.buf = buf.length > end + 4 ? buf.subarray(end + 4) : null;
      if (verdict === 'queued') {
        // Read nothing more until it is written: a pipelining client's bytes wait in the kernel, not here.
        this.busy = true;
        this.socket.pause();
      } else this.afterWrite();
    }
  }

  /** Called by the fast path once it has written an answer it had queued. */
  answered(): void {
    this.busy = false;
    this.socket.resume();
    this.afterWrite();
    this.pump();
  }

  /** A socket that did not take the whole answer at once: read nothing more until it has (as node:http pauses its parser). */
  private afterWrite(): void {
    if (this.socket.writableLength === 0 || this.gone) return;
    this.busy = true;
    this.socket.pause();
    this.socket.once('drain', () => {
      this.busy = false;
      this.socket.resume();
      this.pump();
    });
  }

  /** node:http takes the connection, with what was read and not answered, for good. */
  private handOff(): void {
    const { socket } = this;
    const rest = this.buf;
    this.buf = null;
    this.gone = true;
    this.lane.open.delete(this);
    socket.removeListener('data', this.onData);
    socket.removeListener('timeout', this.onTimeout);
    socket.removeListener('error', this.onError);
    socket.removeListener('close', this.onClose);
    socket.setTimeout(0);
    socket.pause();
    if (rest) socket.unshift(rest);
    this.lane.hooks.handOff(socket);
    // node:http's listener is on 'data' now: what was put back flows to its parser first (resume
    // flows on the next tick, before the event loop polls the socket again).
    socket.resume();
  }

  /** Closing server: an idle connection closes now, a busy one once its answer is written (`pump`). */
  close(): void {
    if (this.idle) this.socket.destroy();
    else if (!this.busy) this.pump();
  }
}

/** The connections this lane reads, and what it needs from the server. */
export class Lane {
  readonly open = new Set<LaneConnection>();
  private shuttingDown = false;

  constructor(readonly hooks: LaneHooks) {}

  closing(): boolean {
    return this.shuttingDown;
  }

  /** A connection accepted by the server: read here first. */
  connection(socket: Socket): void {
    if (this.shuttingDown) return this.hooks.handOff(socket);
    this.open.add(new LaneConnection(socket, this));
  }

  /** The server is closing: no new request is answered here, idle connections are closed. */
  close(): void {
    this.shuttingDown = true;
    for (const c of [...this.open]) c.close();
  }
}
