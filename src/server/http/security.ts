import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import cors from '@fastify/cors';
import helmet from 'helmet';
import rateLimit, { FastifyRateLimitStore, RateLimitPluginOptions } from '@fastify/rate-limit';
import compress from '@fastify/compress';
import type { Settings } from '../../../config/settings';
import { HttpError } from './errors';

/**
 * HTTP hardening of the whole server, with Fastify's own plug-ins, in one place:
 * - CORS (@fastify/cors) on the public routes: any origin by default (CORS_ORIGINS), preflight
 *   answered, the headers a reuser's script needs exposed; never on /operator/* (no CORS header at
 *   all, so a browser page of another origin cannot read an operator answer);
 * - security headers (helmet, built once: @fastify/helmet 13 builds helmet's middleware again on
 *   every request, ≈ 6–10 µs each, a fifth of the time of serving a cached pack): nosniff
 *   everywhere, the Content-Security-Policy below;
 * - a rate limit per client address (@fastify/rate-limit) on the public routes, 429 in French;
 * - gzip (@fastify/compress) of the answers that gain from it (JSON, CSV, GeoJSON; never a ZIP,
 *   a partial answer, or a cached body already gzipped by src/server/http/cache.ts).
 */

/**
 * Helmet's headers that only mean something to a document a browser renders (its scripts, frames,
 * windows, DNS prefetching, XSS filter, Adobe policy files). A ZIP download (application/zip,
 * `Content-Disposition: attachment`, nosniff) is never rendered: its answers go without them
 * (1,300 → 930 bytes of headers on a pack), and keep nosniff, Cross-Origin-Resource-Policy,
 * Referrer-Policy and X-Download-Options. HTML pages and error answers keep them all.
 */
export const DOCUMENT_ONLY_HEADERS = [
  'content-security-policy',
  'cross-origin-opener-policy',
  'origin-agent-cluster',
  'x-dns-prefetch-control',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
];
const isDownload = (status: number, type: unknown) => status < 400 && type === 'application/zip';

/** Routes that are not public: no CORS, no rate limit (the operator side and /metrics are behind the token or the console's sign-in). */
const under = (url: string, prefix: string) => url === prefix || url.startsWith(`${prefix}/`) || url.startsWith(`${prefix}?`);
const isOperator = (url: string) => under(url, '/operator') || under(url, '/metrics');
/** Probes of an orchestrator: never rate-limited. */
const isHealth = (url: string) => url === '/health' || url.startsWith('/health/') || url.startsWith('/health?');

/** Headers a cross-origin script may read: validators, sizes and ranges of downloads, redirects, limits. */
const EXPOSED_HEADERS = [
  'ETag',
  'Last-Modified',
  'Content-Length',
  'Content-Range',
  'Accept-Ranges',
  'Content-Disposition',
  'Content-Encoding',
  'Link',
  'Location',
  'Retry-After',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
];

/**
 * The Content-Security-Policy of the site (the one place to change it). The HTML pages are a DSFR
 * site served by the app itself: styles, scripts, fonts and icons from 'self', no inline script,
 * no inline style; `data:` images for the SVG the DSFR stylesheet embeds. `frame-ancestors` comes
 * from FRAME_ANCESTORS. No `upgrade-insecure-requests`: the app is also reached over plain http
 * (127.0.0.1, behind a TLS proxy).
 */
function contentSecurityPolicy(
  s: Pick<Settings, 'FRAME_ANCESTORS'>,
  opts: { inlineStyles?: boolean } = {},
): Record<string, string[] | null> {
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'style-src': opts.inlineStyles ? ["'self'", "'unsafe-inline'"] : ["'self'"],
    'img-src': ["'self'", 'data:'],
    'font-src': ["'self'"],
    'connect-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': s.FRAME_ANCESTORS.split(/\s+/).filter(Boolean),
    'upgrade-insecure-requests': null,
  };
}

/** Fastify `trustProxy` from TRUST_PROXY: true/false, a hop count (the n nearest proxies), or addresses separated by commas. */
export function trustProxy(v: string): boolean | string | ((address: string, hop: number) => boolean) {
  if (v === 'true' || v === 'false') return v === 'true';
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    return (_address, hop) => hop < hops;
  }
  return v;
}

/** A header list for `res.writeHead(status, flat)`: name, value, name, value… */
export type FlatHeaders = string[];

/** One request counted by the rate limiter: over the limit, or the X-RateLimit-* headers of the answer (none when allowed without counting). */
interface RateCount {
  exceeded: boolean;
  headers: FlatHeaders;
}

/**
 * The rate limiter as the fast path uses it: `now` counts the request synchronously when it can
 * (undefined when it cannot, without counting), `later` always can (the plug-in's own limiter).
 */
interface RateLimiter {
  now(ip: string, url: string): RateCount | undefined;
  later(ip: string, url: string): Promise<RateCount>;
}

/**
 * The plug-in's in-memory store (store/LocalStore.js, what it builds when given neither `store` nor
 * `redis`): its `incr` calls back synchronously. Taken from the package so the count stays the
 * plug-in's own.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const LocalStore = require('@fastify/rate-limit/store/LocalStore') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  cache?: number,
) => FastifyRateLimitStore;

/**
 * What the pack downloads' fast path (src/server/pack-fast.ts) needs to answer a public route as
 * the plug-ins installed here would, without running them per request:
 * - `download`: helmet's headers of a ZIP answer (without DOCUMENT_ONLY_HEADERS), taken from helmet's
 *   own middleware once (they do not depend on the request);
 * - `cors(origin)`: @fastify/cors's headers of a simple (not preflight) request with this
 *   configuration (the same array for the same answer, so callers may cache by it);
 * - `rateLimit`: the plug-in's own limiter (same store, same key, same allow list, the request
 *   counted once), synchronously when it can (see `installSecurity`); null when RATE_LIMIT_MAX is 0
 *   (no plug-in);
 * - `clientIp(req)`: the address the limiter counts (Fastify's `request.ip` under TRUST_PROXY);
 *   undefined when TRUST_PROXY is a list of addresses, which only Fastify's proxy-addr compiles:
 *   the fast path then leaves every request to Fastify.
 */
export interface PublicRouteHeaders {
  download: FlatHeaders;
  cors(origin: string | undefined): FlatHeaders;
  rateLimit: RateLimiter | null;
  clientIp: ((req: ClientIpSource) => string | undefined) | undefined;
}

/**
 * Fastify's `request.ip` (lib/request.js with @fastify/proxy-addr's `all`): walking X-Forwarded-For
 * from the socket outwards, the first address not trusted, else the farthest one. Only for the
 * forms of TRUST_PROXY that need no address parsing (false, true, a hop count).
 */
/** What the client's address is read from: the socket and X-Forwarded-For (a node:http request, or the pack lane's head). */
export type ClientIpSource = Pick<IncomingMessage, 'headers' | 'socket'>;

function clientIpFor(tp: ReturnType<typeof trustProxy>): ((req: ClientIpSource) => string | undefined) | undefined {
  if (tp === false) return (req) => req.socket.remoteAddress;
  if (typeof tp === 'string') return undefined;
  const trusted = tp === true ? () => true : tp;
  return (req) => {
    const addrs = forwardedFor(req);
    for (let i = 0; i < addrs.length - 1; i++) if (!trusted(addrs[i] ?? '', i)) return addrs[i];
    return addrs[addrs.length - 1];
  };
}

/** @fastify/forwarded: the socket's address, then X-Forwarded-For's from the nearest (rightmost) out, blanks dropped. */
function forwardedFor(req: ClientIpSource): (string | undefined)[] {
  const header = req.headers['x-forwarded-for'];
  const addrs: (string | undefined)[] = [req.socket.remoteAddress];
  if (!header || typeof header !== 'string') return addrs;
  if (!header.includes(',')) {
    const one = header.trim();
    if (one) addrs.push(one);
    return addrs;
  }
  for (const part of header.split(',').reverse()) {
    const x = part.replace(/^[ \t]+|[ \t]+$/g, '');
    if (x) addrs.push(x);
  }
  return addrs;
}

/** The headers a connect-style middleware (helmet) sets on a response, in order, as a flat list, but those of `omit`. */
function headersSetBy(
  mw: (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void,
  omit: string[] = [],
): FlatHeaders {
  const set = new Map<string, string>();
  const res = {
    setHeader: (k: string, v: unknown) => set.set(k.toLowerCase(), String(v)),
    removeHeader: (k: string) => set.delete(k.toLowerCase()),
  };
  let done = false;
  mw({ headers: {} } as IncomingMessage, res as unknown as ServerResponse, (err) => {
    if (err) throw err;
    done = true;
  });
  if (!done) throw new Error('helmet did not set its headers synchronously');
  return [...set].filter(([k]) => !omit.includes(k)).flat();
}

export async function installSecurity(app: FastifyInstance, s: Settings): Promise<PublicRouteHeaders> {
  const origins = s.CORS_ORIGINS.trim() === '*' ? '*' : s.CORS_ORIGINS.split(',').map((o) => o.trim());
  await app.register(cors, {
    delegator: (req, cb) =>
      isOperator(req.url ?? '')
        ? cb(null, { origin: false })
        : cb(null, {
            origin: origins,
            methods: ['GET', 'HEAD', 'OPTIONS'],
            allowedHeaders: [
              'Accept',
              'Accept-Language',
              'If-None-Match',
              'If-Modified-Since',
              'If-Range',
              'Range',
              'X-Fields',
              'Content-Type',
            ],
            exposedHeaders: EXPOSED_HEADERS,
            maxAge: 86_400,
          }),
  });
  const headers = (csp: Record<string, string[] | null>) =>
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: csp },
      // Open data: other sites may embed or fetch these resources (CORS says who may read them).
      crossOriginResourcePolicy: { policy: 'cross-origin' },
      crossOriginOpenerPolicy: { policy: 'same-origin' },
      // frame-ancestors (CSP) decides framing; X-Frame-Options could only say less.
      frameguard: false,
      // HSTS belongs to the TLS terminator, not to an app that also answers plain http.
      strictTransportSecurity: false,
      referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
    });
  const securityHeaders = headers(contentSecurityPolicy(s));
  // Bull Board (/operator/queues, behind the console's sign-in) is a React page whose markup and
  // components set inline styles: 'unsafe-inline' styles there only, scripts stay 'self'. Its
  // Google Fonts stylesheet stays blocked (the console calls no third party): system fonts instead.
  const queuesHeaders = headers(contentSecurityPolicy(s, { inlineStyles: true }));
  app.addHook('onRequest', (req, reply, done) =>
    (under(req.url, '/operator/queues') ? queuesHeaders : securityHeaders)(req.raw, reply.raw, (err?: unknown) =>
      done(err as Error | undefined),
    ),
  );
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (isDownload(reply.statusCode, reply.getHeader('content-type'))) for (const h of DOCUMENT_ONLY_HEADERS) reply.removeHeader(h);
    done(null, payload);
  });
  let limited: RateLimiter | null = null;
  if (s.RATE_LIMIT_MAX > 0) {
    const allowList = (req: Pick<FastifyRequest, 'url'>) => isOperator(req.url) || isHealth(req.url);
    // The plug-in's own in-memory store, built by the plug-in (option `store`: it calls `new
    // Store(params)` once, and `child()` for routes with a limit of their own, such as the console's
    // sign-in), kept here so the fast path can count in it without the plug-in's promises.
    let store: FastifyRateLimitStore | undefined;
    class KeptLocalStore extends LocalStore {
      constructor(params: RateLimitPluginOptions) {
        // What the plug-in passes to the LocalStore it builds itself (index.js): the cache size is its default.
        super(params.continueExceeding ?? false, params.exponentialBackoff ?? false);
        // eslint-disable-next-line @typescript-eslint/no-this-alias -- the instance the plug-in counts in, for `now` below
        store = this;
      }
    }
    await app.register(rateLimit, {
      max: s.RATE_LIMIT_MAX,
      timeWindow: s.RATE_LIMIT_WINDOW_S * 1000,
      store: KeptLocalStore,
      allowList,
      errorResponseBuilder: (_req, ctx) => {
        const wait = Math.max(1, Math.ceil(ctx.ttl / 1000));
        return new HttpError(
          429,
          `trop de requêtes : au plus ${ctx.max} par ${s.RATE_LIMIT_WINDOW_S} s depuis une même adresse ; réessayez dans ${wait} s`,
          { 'retry-after': String(wait) },
        );
      },
    });
    // The same limiter for the fast path: the plug-in's store and key; on a public route it adds the
    // three X-RateLimit-* headers (the limit, what is left, seconds to the window's end).
    const limiter = app.createRateLimit();
    const allowed: RateCount = { exceeded: false, headers: [] };
    // The plug-in's key of an address (index.js, normalizeIP): lower-cased when it is not IPv6 (has
    // no ':'); else its /64 (or the IPv4 of a mapped address), as the plug-in computed it for the
    // first request from that address (through `later`), kept here.
    const keys = new Map<string, string>();
    const later = async (ip: string, url: string): Promise<RateCount> => {
      const r = await limiter({ ip, url, routeOptions: { config: {} } } as unknown as FastifyRequest);
      if (ip.includes(':')) {
        if (keys.size >= 10_000) keys.clear();
        keys.set(ip, r.key);
      }
      if (r.isAllowed) return allowed;
      return {
        exceeded: r.isExceeded,
        headers: [
          'x-ratelimit-limit',
          String(r.max),
          'x-ratelimit-remaining',
          String(r.remaining),
          'x-ratelimit-reset',
          String(r.ttlInSeconds),
        ],
      };
    };
    // applyRateLimit (index.js) with the global options — numbers, no groupId, an allow list that
    // answers at once — on the LocalStore, whose `incr` has called back when it returns: the same
    // key, count and values as `later`, without its three promises.
    const max = Math.trunc(s.RATE_LIMIT_MAX);
    const maxText = String(max);
    const timeWindow = Math.trunc(s.RATE_LIMIT_WINDOW_S * 1000);
    let current = -1;
    let ttl = 0;
    const take = (err: Error | null, r?: { current: number; ttl: number }) => {
      if (err || !r) throw err ?? new Error('rate limit store: no count');
      current = r.current;
      ttl = r.ttl;
    };
    const now = (ip: string, url: string): RateCount | undefined => {
      const key = ip.includes(':') ? keys.get(ip) : ip.toLowerCase();
      if (key === undefined || !store) return undefined;
      if (allowList({ url })) return allowed;
      current = -1;
      store.incr(key, take, timeWindow, max);
      if (current < 0) throw new Error('rate limit store: incr did not call back synchronously');
      return {
        exceeded: current > max,
        headers: [
          'x-ratelimit-limit',
          maxText,
          'x-ratelimit-remaining',
          String(Math.max(0, max - current)),
          'x-ratelimit-reset',
          String(Math.ceil(ttl / 1000)),
        ],
      };
    };
    limited = { now, later };
  }
  await app.register(compress, { global: true, threshold: 1024, encodings: ['gzip'] });

  // @fastify/cors with a delegator (index.js, addCorsHeadersHandler): Vary: Origin always (options
  // resolved per request), the origin when allowed ('*' in the list means any), the exposed headers.
  const anyOrigin = origins === '*' || origins.includes('*');
  const exposed = EXPOSED_HEADERS.join(', ');
  const any: FlatHeaders = ['vary', 'Origin', 'access-control-allow-origin', '*', 'access-control-expose-headers', exposed];
  const none: FlatHeaders = ['vary', 'Origin', 'access-control-expose-headers', exposed];
  const reflected = new Map<string, FlatHeaders>(
    (origins === '*' ? [] : origins).map((o) => [
      o,
      ['vary', 'Origin', 'access-control-allow-origin', o, 'access-control-expose-headers', exposed],
    ]),
  );
  const corsHeaders = (origin: string | undefined): FlatHeaders =>
    anyOrigin ? any : (origin !== undefined && reflected.get(origin)) || none;
  return {
    download: headersSetBy(securityHeaders, DOCUMENT_ONLY_HEADERS),
    cors: corsHeaders,
    rateLimit: limited,
    clientIp: clientIpFor(trustProxy(s.TRUST_PROXY)),
  };
}
