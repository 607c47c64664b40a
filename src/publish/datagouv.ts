import { fetch, FormData } from 'undici';

/**
 * A small client of the data.gouv.fr API (udata, API v1), the calls publication needs:
 *   POST /datasets/                              create a dataset (201, the dataset with its `id`)
 *   PUT  /datasets/{id}/                         update its metadata
 *   POST /datasets/{id}/upload/                  upload a file as a new resource (multipart `file`; 201, the resource)
 *   POST /datasets/{id}/resources/{rid}/upload/  replace the file of a resource
 *   PUT  /datasets/{id}/resources/{rid}/         update a resource's metadata (its `url` included: udata requires it)
 * Authentication: header X-API-KEY. Errors answer JSON `{"message": …}` (401 "Invalid API token",
 * "Revoked API token"…; 400 with `errors`). Routes and layouts as in udata/core/dataset/api.py.
 *
 * The key never leaves this object: not in an error message, not in a log line (every text built
 * from an answer goes through `redact`).
 */

export type ApiErrorKind = 'auth' | 'forbidden' | 'gone' | 'rate-limited' | 'server' | 'network' | 'invalid';

export class DataGouvError extends Error {
  constructor(
    message: string,
    readonly kind: ApiErrorKind,
    readonly status: number | null,
    /** Worth trying again later (429, 5xx, network). */
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export interface RemoteResource {
  id: string;
  url: string;
}

export interface ClientOptions {
  /** Longest wait honoured for a 429's Retry-After inside one call (default 60 s); beyond, the call fails as retryable. */
  maxRetryAfterMs?: number;
  /** How many 429 answers one call waits out before failing (default 3). */
  rateLimitRetries?: number;
  /** Per request (default 120 s: a large city's addresses are tens of MB). */
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function retryAfterMs(h: string | null): number {
  if (!h) return 1000;
  const s = Number(h);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(h);
  return Number.isNaN(at) ? 1000 : Math.max(0, at - Date.now());
}

/** The `message` of a udata error answer, else the start of the body. */
function messageOf(text: string): string {
  try {
    return String((JSON.parse(text) as { message?: unknown }).message ?? '');
  } catch {
    return text.slice(0, 200);
  }
}

export class DataGouvClient {
  private readonly base: string;

  constructor(
    apiUrl: string,
    private readonly apiKey: string,
    private readonly opts: ClientOptions = {},
  ) {
    this.base = apiUrl.replace(/\/+$/, '');
  }

  /** Removes the key from any text (an answer that would echo it, a network error naming the request). */
  redact(text: string): string {
    return this.apiKey ? text.split(this.apiKey).join('***') : text;
  }

  private async call(method: 'POST' | 'PUT', path: string, body: FormData | Record<string, unknown>): Promise<Record<string, unknown>> {
    const what = `${method} ${path}`;
    for (let attempt = 0; ; attempt++) {
      let res: Awaited<ReturnType<typeof fetch>>;
      try {
        res = await fetch(`${this.base}${path}`, {
          method,
          headers: {
            'X-API-KEY': this.apiKey,
            accept: 'application/json',
            ...(body instanceof FormData ? {} : { 'content-type': 'application/json' }),
          },
          body: body instanceof FormData ? body : JSON.stringify(body),
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 120_000),
        });
      } catch (err) {
        throw new DataGouvError(this.redact(`${what} : data.gouv.fr injoignable (${(err as Error).message})`), 'network', null, true);
      }
      const text = await res.text();
      if (res.ok) {
        try {
          return JSON.parse(text) as Record<string, unknown>;
        } catch {
          throw new DataGouvError(`${what} : réponse illisible (pas du JSON)`, 'server', res.status, true);
        }
      }
      const message = messageOf(text);
      const said = this.redact(message ? ` « ${message} »` : '');
      if (res.status === 429) {
        const wait = retryAfterMs(res.headers.get('retry-after'));
        if (attempt < (this.opts.rateLimitRetries ?? 3) && wait <= (this.opts.maxRetryAfterMs ?? 60_000)) {
          await sleep(wait);
          continue;
        }
        throw new DataGouvError(`${what} : trop de requêtes (429)${said}`, 'rate-limited', 429, true);
      }
      if (res.status === 401) throw new DataGouvError(`${what} : clé d'API refusée (401)${said}`, 'auth', 401, false);
      if (res.status === 403)
        throw new DataGouvError(`${what} : action non autorisée pour cette clé (403)${said}`, 'forbidden', 403, false);
      if (res.status === 404 || res.status === 410)
        throw new DataGouvError(`${what} : introuvable ou supprimé sur data.gouv.fr (${res.status})${said}`, 'gone', res.status, false);
      if (res.status >= 500) throw new DataGouvError(`${what} : erreur de data.gouv.fr (${res.status})${said}`, 'server', res.status, true);
      throw new DataGouvError(`${what} : demande refusée (${res.status})${said}`, 'invalid', res.status, false);
    }
  }

  async createDataset(body: Record<string, unknown>): Promise<string> {
    const d = await this.call('POST', '/datasets/', body);
    if (typeof d.id !== 'string') throw new DataGouvError('POST /datasets/ : réponse sans identifiant', 'server', null, true);
    return d.id;
  }

  async updateDataset(id: string, body: Record<string, unknown>): Promise<void> {
    await this.call('PUT', `/datasets/${encodeURIComponent(id)}/`, body);
  }

  private form(name: string, data: Buffer, mime: string): FormData {
    const f = new FormData();
    f.append('file', new Blob([data], { type: mime }), name);
    return f;
  }

  private resource(r: Record<string, unknown>, what: string): RemoteResource {
    if (typeof r.id !== 'string' || typeof r.url !== 'string')
      throw new DataGouvError(`${what} : réponse sans identifiant de ressource`, 'server', null, true);
    return { id: r.id, url: r.url };
  }

  /** Uploads a file as a new resource of the dataset. */
  async uploadResource(datasetId: string, name: string, data: Buffer, mime: string): Promise<RemoteResource> {
    const path = `/datasets/${encodeURIComponent(datasetId)}/upload/`;
    return this.resource(await this.call('POST', path, this.form(name, data, mime)), `POST ${path}`);
  }

  /** Replaces the file of an existing resource (same resource id, new URL). */
  async replaceResourceFile(datasetId: string, rid: string, name: string, data: Buffer, mime: string): Promise<RemoteResource> {
    const path = `/datasets/${encodeURIComponent(datasetId)}/resources/${encodeURIComponent(rid)}/upload/`;
    return this.resource(await this.call('POST', path, this.form(name, data, mime)), `POST ${path}`);
  }

  async updateResource(datasetId: string, rid: string, body: Record<string, unknown>): Promise<void> {
    await this.call('PUT', `/datasets/${encodeURIComponent(datasetId)}/resources/${encodeURIComponent(rid)}/`, body);
  }
}
