import type { FastifyInstance, FastifyRequest } from 'fastify';
import cors from '@fastify/cors';
import helmet from 'helmet';
import rateLimit from '@fastify/rate-limit';
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

export async function installSecurity(app: FastifyInstance, s: Settings): Promise<void> {
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
  if (s.RATE_LIMIT_MAX > 0) {
    await app.register(rateLimit, {
      max: s.RATE_LIMIT_MAX,
      timeWindow: s.RATE_LIMIT_WINDOW_S * 1000,
      allowList: (req: FastifyRequest) => isOperator(req.url) || isHealth(req.url),
      errorResponseBuilder: (_req, ctx) => {
        const wait = Math.max(1, Math.ceil(ctx.ttl / 1000));
        return new HttpError(
          429,
          `trop de requêtes : au plus ${ctx.max} par ${s.RATE_LIMIT_WINDOW_S} s depuis une même adresse ; réessayez dans ${wait} s`,
          { 'retry-after': String(wait) },
        );
      },
    });
  }
  await app.register(compress, { global: true, threshold: 1024, encodings: ['gzip'] });
}
