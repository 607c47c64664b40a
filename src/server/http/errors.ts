import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RedisUnavailableError } from '../../queue/connection';

/**
 * The one error mechanism of the HTTP server. A route throws an `HttpError` (or lets anything
 * else escape); the error handler installed by `installErrorHandling()` answers every error, and
 * the not-found handler every unknown route, with the one body shape of the whole API:
 *
 *     { "message": "…" }
 *
 * That is the shape of udata's API (the API Territoire routes mimic data.gouv.fr) and of
 * geo.api.gouv.fr, and what /openapi.json documents. Messages are written for a person, in French.
 * A 5xx never leaks its cause: it is logged with the request id, and the body says what to do.
 */

/** Body of every error answer. */
interface ErrorBody {
  message: string;
  [peerField: string]: unknown;
}

/**
 * An error a route answers with: its status, a French message, optional headers (Retry-After,
 * WWW-Authenticate…) and, only where a peer's clients match on them, the peer's extra fields
 * (udata's oEmbed errors carry `errors` and `detail` beside `message`).
 */
export class HttpError extends Error {
  constructor(
    public readonly statusCode: number,
    message: string,
    public readonly headers: Record<string, string> = {},
    /** Fields a peer API adds beside `message`, kept word for word so its clients keep working. */
    public readonly peerFields: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** French messages of zod's built-in checks (the custom messages of our schemas are already French). */
const zodFr = z.locales.fr().localeError;

/** One line naming every failed check of a zod error: `limit : doit être un entier ≥ 0 ; format : …`. */
function zodMessage(err: z.ZodError, what = 'requête'): string {
  return err.issues.map((i) => `${i.path.join('.') || what} : ${i.message}`).join(' ; ');
}

/**
 * Validates `value` with `schema`; a bad value is a 400 naming the parameter.
 * `what` names the part of the request in the message (paramètres, corps, chemin).
 */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, what = 'paramètres'): z.infer<S> {
  const r = schema.safeParse(value ?? {}, { error: zodFr });
  if (!r.success) throw new HttpError(400, `${what} invalides : ${zodMessage(r.error, what)}`);
  return r.data;
}

/** PostgreSQL unreachable or restarting: a 503 with Retry-After, not a 500 (the request can be retried). */
export function databaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  if (!e) return false;
  // Socket errors of pg, and the SQLSTATE classes 08 (connection exception) and 57P0x (shutdown, cannot connect now).
  if (e.code && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE'].includes(e.code)) return true;
  if (e.code && (/^08/.test(e.code) || /^57P0[1-4]$/.test(e.code))) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(e.message ?? '');
}

/** Seconds a client is told to wait (Retry-After) when Redis, the job queue, does not answer. */
const QUEUE_RETRY_AFTER = '30';

/**
 * Redis (the job queue) unreachable: a 503 with Retry-After saying what did not happen (`what`:
 * "le passage de cog n’a pas été mis en file"), not a 500, and never the driver's message.
 */
export function queueUnavailable(what = 'la demande n’a pas été traitée'): HttpError {
  return new HttpError(503, `${what} : la file d’attente (Redis) ne répond pas ; réessayez dans un instant`, {
    'retry-after': QUEUE_RETRY_AFTER,
  });
}

/** French messages of Fastify's own client errors (bad JSON body, unsupported content type…). */
const FASTIFY_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'type de contenu non pris en charge',
  FST_ERR_CTP_BODY_TOO_LARGE: 'corps de la requête trop volumineux',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'corps JSON vide alors que Content-Type vaut application/json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'corps JSON invalide',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Content-Length ne correspond pas à la taille du corps',
  FST_ERR_BAD_URL: 'adresse invalide',
  FST_ERR_ASYNC_CONSTRAINT: 'adresse invalide',
};

/** Status, message and headers of any error that reached the handler. */
export function describeError(err: unknown): {
  status: number;
  message: string;
  headers: Record<string, string>;
  peerFields?: Record<string, unknown>;
} {
  if (err instanceof HttpError) return { status: err.statusCode, message: err.message, headers: err.headers, peerFields: err.peerFields };
  if (err instanceof z.ZodError) return { status: 400, message: `requête invalide : ${zodMessage(err)}`, headers: {} };
  if (err instanceof RedisUnavailableError) {
    const e = queueUnavailable();
    return { status: e.statusCode, message: e.message, headers: e.headers };
  }
  if (databaseUnavailable(err)) {
    return {
      status: 503,
      message: 'service momentanément indisponible : la base de données ne répond pas ; réessayez dans un instant',
      headers: { 'retry-after': '5' },
    };
  }
  const e = err as FastifyError;
  const status = typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 600 ? e.statusCode : 500;
  if (status >= 500) return { status, message: 'erreur interne du serveur ; elle a été consignée dans le journal', headers: {} };
  if (e.validation) return { status, message: `requête invalide : ${e.message}`, headers: {} };
  return { status, message: (e.code && FASTIFY_MESSAGES[e.code]) || e.message || 'requête invalide', headers: {} };
}

/** Sends the error body (JSON, UTF-8) with its status and headers. */
function sendError(
  reply: FastifyReply,
  status: number,
  message: string,
  headers: Record<string, string> = {},
  peerFields: Record<string, unknown> = {},
): FastifyReply {
  const body: ErrorBody = { ...peerFields, message };
  // A 206/200 may have set these before the error: they describe a body that is not sent.
  for (const h of ['content-range', 'content-disposition', 'content-length', 'etag', 'last-modified', 'accept-ranges'])
    reply.removeHeader(h);
  return reply.code(status).headers(headers).type('application/json; charset=utf-8').send(body);
}

/**
 * Installs the error and not-found handlers on the root instance (route plugins inherit them).
 * `notFoundPage`: the HTML page a browser gets for an unknown address (Accept: text/html), given the path.
 */
export function installErrorHandling(app: FastifyInstance, opts: { notFoundPage?: (path: string) => string } = {}): void {
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const { status, message, headers, peerFields } = describeError(err);
    if (status >= 500) req.log.error({ err }, `${req.method} ${req.url}: ${(err as Error)?.message ?? String(err)}`);
    return sendError(reply, status, message, headers, peerFields);
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    if (opts.notFoundPage && /\btext\/html\b/.test(req.headers.accept ?? ''))
      return reply.code(404).type('text/html; charset=utf-8').send(opts.notFoundPage(path));
    return sendError(reply, 404, `aucune ressource à cette adresse : ${req.method} ${path}`);
  });
}
