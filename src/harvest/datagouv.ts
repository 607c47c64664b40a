import { Agent, Dispatcher, request } from 'undici';
import { z } from 'zod';

/**
 * A small client of the data.gouv.fr API (udata), for the one thing the harvester needs: a
 * dataset and its resources. Layout checked against udata's own code (opendatateam/udata
 * `udata/core/dataset/api_fields.py`, `apiv2.py`, `udata/routing.py`) and genuine answers kept in
 * test/fixtures/datagouv/real/:
 * - `GET {api}/1/datasets/{id-or-slug}/` answers the dataset with every resource in `resources`
 *   (v1 does not page them); a renamed slug answers 308 to the new one, a deleted dataset 410.
 * - API v2 answers `resources` as a link `{rel, href, type, total}`; the link's pages are
 *   `{data, next_page, page, page_size, previous_page, total}`. Both layouts are read here, so a
 *   `DATAGOUV_API` pointing at either works.
 */

const nullableString = z.string().nullish();

const ResourceSchema = z.object({
  id: z.string(),
  title: nullableString.transform((t) => t ?? ''),
  url: z.string(),
  format: nullableString,
  /** main, documentation, update, api, code, other (absent in answers before 2019). */
  type: nullableString,
  filetype: nullableString,
  /** Stable URL `/datasets/r/{id}` that redirects to the current `url`. */
  latest: nullableString,
  checksum: z.object({ type: z.string(), value: z.string() }).nullish(),
  filesize: z.number().nullish(),
  mime: nullableString,
  created_at: nullableString,
  last_modified: nullableString,
});
export type DatagouvResource = z.infer<typeof ResourceSchema>;

const ResourcesLinkSchema = z.object({ href: z.string(), total: z.number().optional() });

const DatasetSchema = z.object({
  id: z.string(),
  slug: z.string(),
  title: z.string(),
  page: nullableString,
  last_modified: nullableString,
  archived: nullableString,
  resources: z.union([z.array(ResourceSchema), ResourcesLinkSchema]),
});

const ResourcePageSchema = z.object({
  data: z.array(ResourceSchema),
  next_page: nullableString,
  page: z.number().optional(),
  total: z.number().optional(),
});

export interface DatagouvDataset {
  id: string;
  slug: string;
  title: string;
  /** The dataset's page on data.gouv.fr, as the API gives it. */
  page: string | null;
  lastModified: string | null;
  archived: string | null;
  resources: DatagouvResource[];
  /** The API URL asked, and where it ended after redirects (a renamed slug). */
  requested: string;
  location: string;
  /** Redirects met on the way (status and target), empty when none. */
  redirects: { status: number; location: string }[];
}

/** The API answered, but not with the dataset: 404 (no such id or slug), 410 (deleted), other statuses. */
export class DatagouvError extends Error {
  constructor(
    readonly url: string,
    readonly status: number | null,
    message: string,
    /** No DNS or route: the machine is offline. */
    readonly offline = false,
  ) {
    super(`${url}: ${message}`);
    this.name = 'DatagouvError';
  }
}

const defaultDispatcher = new Agent({ connect: { timeout: 15000 }, bodyTimeout: 60000, headersTimeout: 30000 });
const OFFLINE_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);
const MAX_REDIRECTS = 5;
const USER_AGENT = 'dotation/0.1 (+https://github.com/dotation)';

export interface DatagouvOptions {
  /** API root, e.g. `https://www.data.gouv.fr/api` (settings DATAGOUV_API). */
  api: string;
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
  /** Attempts on network errors, 429 and 5xx. */
  attempts?: number;
  baseDelayMs?: number;
}

interface JsonAnswer {
  body: unknown;
  location: string;
  redirects: { status: number; location: string }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET a JSON document, following redirects by hand so the caller learns that the dataset moved. */
async function getJson(url: string, opts: DatagouvOptions): Promise<JsonAnswer> {
  const attempts = opts.attempts ?? 3;
  let lastError: DatagouvError | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await getJsonOnce(url, opts);
    } catch (err) {
      if (!(err instanceof DatagouvError)) throw err;
      lastError = err;
      const retryable = err.status === null ? !err.offline : err.status === 429 || err.status >= 500;
      if (!retryable || opts.signal?.aborted) throw err;
      if (attempt < attempts) await sleep((opts.baseDelayMs ?? 500) * 2 ** (attempt - 1));
    }
  }
  throw lastError!;
}

async function getJsonOnce(url: string, opts: DatagouvOptions): Promise<JsonAnswer> {
  const redirects: JsonAnswer['redirects'] = [];
  let current = url;
  for (;;) {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(current, {
        method: 'GET',
        headers: { accept: 'application/json', 'user-agent': USER_AGENT },
        dispatcher: opts.dispatcher ?? defaultDispatcher,
        signal: opts.signal,
      });
    } catch (err) {
      const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code ?? '';
      throw new DatagouvError(current, null, code || (err as Error).message, OFFLINE_CODES.has(code));
    }
    if ([301, 302, 303, 307, 308].includes(res.statusCode)) {
      await res.body.dump();
      const to = res.headers.location;
      const target = Array.isArray(to) ? to[0] : to;
      if (!target) throw new DatagouvError(current, res.statusCode, `HTTP ${res.statusCode} without a Location`);
      if (redirects.length >= MAX_REDIRECTS) throw new DatagouvError(url, res.statusCode, `more than ${MAX_REDIRECTS} redirects`);
      current = new URL(target, current).toString();
      redirects.push({ status: res.statusCode, location: current });
      continue;
    }
    if (res.statusCode !== 200) {
      const text = await res.body.text().catch(() => '');
      const message = /"message"\s*:\s*"([^"]*)"/.exec(text)?.[1];
      throw new DatagouvError(current, res.statusCode, `HTTP ${res.statusCode}${message ? ` (${message})` : ''}`);
    }
    let body: unknown;
    try {
      body = await res.body.json();
    } catch (err) {
      throw new DatagouvError(current, res.statusCode, `not JSON: ${(err as Error).message}`);
    }
    return { body, location: current, redirects };
  }
}

function parse<T>(schema: z.ZodType<T>, body: unknown, url: string, what: string): T {
  const r = schema.safeParse(body);
  if (!r.success)
    throw new DatagouvError(
      url,
      200,
      `not a data.gouv.fr ${what}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}

/** Root of the API without a trailing slash (`https://www.data.gouv.fr/api`). */
const root = (api: string) => api.replace(/\/+$/, '');

/**
 * The dataset `ref` (id or slug) with all its resources. v1 gives them inline; when the answer
 * carries the v2 link instead, its pages are followed (100 resources a page).
 */
export async function fetchDataset(ref: string, opts: DatagouvOptions): Promise<DatagouvDataset> {
  const requested = `${root(opts.api)}/1/datasets/${encodeURIComponent(ref)}/`;
  const answer = await getJson(requested, opts);
  const d = parse(DatasetSchema, answer.body, answer.location, 'dataset');
  let resources: DatagouvResource[];
  if (Array.isArray(d.resources)) resources = d.resources;
  else {
    resources = [];
    const first = new URL(d.resources.href, answer.location);
    first.searchParams.set('page', '1');
    first.searchParams.set('page_size', '100');
    let next: string | null | undefined = first.toString();
    for (let pages = 0; next; pages++) {
      if (pages > 1000) throw new DatagouvError(next, 200, 'more than 1000 pages of resources');
      const page = await getJson(next, opts);
      const p = parse(ResourcePageSchema, page.body, page.location, 'page of resources');
      resources.push(...p.data);
      next = p.next_page ? new URL(p.next_page, page.location).toString() : null;
    }
  }
  return {
    id: d.id,
    slug: d.slug,
    title: d.title,
    page: d.page ?? null,
    lastModified: d.last_modified ?? null,
    archived: d.archived ?? null,
    resources,
    requested,
    location: answer.location,
    redirects: answer.redirects,
  };
}
