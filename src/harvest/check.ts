import { datedUrl } from './url-dates';
import type { Pool } from 'pg';
import { Agent, Dispatcher, request } from 'undici';
import type { Settings } from '../../config/settings';
import type { ResourceDeclaration, SourceDeclaration } from '../../config/sources';
import { DatagouvError, fetchDataset, type DatagouvDataset } from './datagouv';
import { compareEditions, fileNameOf, pickResource, readEdition } from './match';

/**
 * `dotation sources check`: for each declared resource, asks upstream whether it is still there
 * and which edition it is now (the data.gouv.fr API, else a HEAD request on its URL), without
 * downloading anything. An operator sees a broken URL, a moved dataset or a new edition before
 * the night's run.
 */
export type CheckStatus =
  /** There, same edition as the last one loaded (or none loaded yet). */
  | 'ok'
  /** There, and newer than the edition last loaded. */
  | 'new-edition'
  /** The URL or the dataset answers a redirect (301/302/307/308): the declaration should follow it. */
  | 'moved'
  /** 404 or 410: the declared URL or dataset is gone. */
  | 'missing'
  /** The dataset exists but no resource answers the declared conditions. */
  | 'no-match'
  /** No answer (network, 5xx): nothing can be said. */
  | 'unreachable'
  /** Looked up in MIRROR_DIR only (hand-saved answers, per-département copies): nothing to ask upstream. */
  | 'mirror-only';

export interface ResourceCheck {
  source: string;
  resource: string;
  status: CheckStatus;
  /** The edition upstream says it has now (from the resource metadata, title or URL), when it says one. */
  edition: string | null;
  /** The edition of the last file of this resource loaded here (provenance), if any. */
  loaded: string | null;
  /** What was asked: the resource's URL (found through the API for data.gouv.fr resources). */
  url: string | null;
  /** HTTP status of the last answer, when there was one. */
  http: number | null;
  /** The new address, for 'moved'. */
  location: string | null;
  /** data.gouv.fr dataset slug and resource id, when declared there. */
  dataset: string | null;
  resourceId: string | null;
  /** `Last-Modified` of the file or `last_modified` of the resource: a date of the upload, not an edition. */
  lastModified: string | null;
  /** Declared but not read yet (the reason). */
  pending: string | null;
  /** One line for a person. */
  detail: string;
}

const agent = new Agent({ connect: { timeout: 15000 }, headersTimeout: 30000, bodyTimeout: 30000 });
const USER_AGENT = 'dotation/0.1 (+https://github.com/dotation) sources check';
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

interface Probe {
  status: number | null;
  location: string | null;
  lastModified: string | null;
  error?: string;
}

/** One HEAD (a GET of byte 0 when HEAD is refused), redirects not followed: their target is the answer. */
async function probe(url: string, dispatcher: Dispatcher = agent): Promise<Probe> {
  const ask = async (method: 'HEAD' | 'GET'): Promise<Probe> => {
    const res = await request(url, {
      method,
      headers: { 'user-agent': USER_AGENT, ...(method === 'GET' ? { range: 'bytes=0-0' } : {}) },
      dispatcher,
    });
    await res.body.dump();
    const h = (k: string) => {
      const v = res.headers[k];
      return (Array.isArray(v) ? v[0] : v) ?? null;
    };
    const loc = h('location');
    return { status: res.statusCode, location: loc ? new URL(loc, url).toString() : null, lastModified: h('last-modified') };
  };
  try {
    const head = await ask('HEAD');
    return head.status === 405 || head.status === 501 ? await ask('GET') : head;
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
    return { status: null, location: null, lastModified: null, error: code ?? (err as Error).message };
  }
}

/** A data.gouv.fr stable link (`/datasets/r/{id}`) always redirects to the current file: that is not a move. */
const isStableLink = (url: string) => /\/datasets\/r\/[0-9a-f-]{36}\/?$/i.test(url);

async function lastLoaded(db: Pool, source: string, resource: string): Promise<string | null> {
  const { rows } = await db.query(
    `select p.edition from provenance p join runs r on r.id = p.run_id
      where p.source = $1 and p.resource = $2 and r.status = 'succeeded' and p.edition is not null
      order by p.id desc limit 1`,
    [source, resource],
  );
  return rows[0]?.edition ?? null;
}

function verdict(edition: string | null, loaded: string | null): { status: CheckStatus; detail: string } {
  if (edition && loaded && edition !== loaded && compareEditions(edition, loaded) > 0)
    return { status: 'new-edition', detail: `edition ${edition} upstream, ${loaded} loaded` };
  return { status: 'ok', detail: edition ? `edition ${edition}` : 'reachable (its edition is read from the data when loaded)' };
}

/** Checks one resource. Never throws for an upstream failure: it is the answer. */
async function checkResource(
  db: Pool,
  settings: Settings,
  source: SourceDeclaration,
  r: ResourceDeclaration,
  datasets: Map<string, Promise<DatagouvDataset>>,
): Promise<ResourceCheck> {
  const base: ResourceCheck = {
    source: source.id,
    resource: r.name,
    status: 'ok',
    edition: null,
    loaded: await lastLoaded(db, source.id, r.name),
    url: r.url ?? null,
    http: null,
    location: null,
    dataset: r.datagouv?.dataset ?? null,
    resourceId: null,
    lastModified: null,
    pending: r.pending ?? null,
    detail: '',
  };
  if (r.mirrorOnly) return { ...base, status: 'mirror-only', detail: 'looked up in MIRROR_DIR only' };
  if (r.datagouv) {
    const ref = r.datagouv;
    // Several resources of one dataset (ARCEP, elections): the dataset is asked once.
    if (!datasets.has(ref.dataset)) datasets.set(ref.dataset, fetchDataset(ref.dataset, { api: settings.DATAGOUV_API }));
    let dataset: DatagouvDataset;
    try {
      dataset = await datasets.get(ref.dataset)!;
    } catch (err) {
      if (!(err instanceof DatagouvError)) throw err;
      const status: CheckStatus = err.status === 404 || err.status === 410 ? 'missing' : 'unreachable';
      return { ...base, status, http: err.status, url: err.url, detail: `data.gouv.fr dataset '${ref.dataset}': ${err.message}` };
    }
    if (dataset.redirects.length) {
      const to = dataset.redirects[dataset.redirects.length - 1];
      return {
        ...base,
        status: 'moved',
        http: to.status,
        location: to.location,
        dataset: dataset.slug,
        detail: `data.gouv.fr dataset '${ref.dataset}' is now '${dataset.slug}': declare the new slug (or its id ${dataset.id})`,
      };
    }
    const picked = pickResource(ref, r.edition, dataset.resources);
    if (!picked)
      return {
        ...base,
        status: 'no-match',
        dataset: dataset.slug,
        detail: `no resource of '${dataset.slug}' (${dataset.resources.length}) answers ${JSON.stringify(ref)}`,
      };
    const found = {
      ...base,
      dataset: dataset.slug,
      resourceId: picked.resource.id,
      url: picked.resource.url,
      lastModified: picked.resource.last_modified ?? null,
      edition: picked.edition?.edition ?? null,
    };
    const p = await probe(picked.resource.url);
    if (p.status === 404 || p.status === 410)
      return {
        ...found,
        status: 'missing',
        http: p.status,
        detail: `the resource '${picked.resource.title}' points at a file that answers ${p.status}`,
      };
    const v = verdict(found.edition, found.loaded);
    return {
      ...found,
      ...v,
      http: p.status,
      detail: `'${picked.resource.title}': ${v.detail}${p.status === null ? ` (file not reached: ${p.error})` : ''}`,
    };
  }
  const url = datedUrl(r.url!);
  const edition = readEdition(r.edition, { url, name: fileNameOf(url) })?.edition ?? null;
  const p = await probe(url);
  const seen = { ...base, edition, http: p.status, lastModified: p.lastModified, location: p.location };
  if (p.status === null) return { ...seen, status: 'unreachable', detail: `no answer: ${p.error}` };
  if (REDIRECTS.has(p.status) && !isStableLink(url))
    return { ...seen, status: 'moved', detail: `${p.status} to ${p.location}: declare the new address` };
  if (p.status === 404 || p.status === 410) return { ...seen, status: 'missing', detail: `${p.status}: the declared URL is gone` };
  if (p.status >= 400) return { ...seen, status: 'unreachable', detail: `HTTP ${p.status}` };
  return { ...seen, ...verdict(edition, seen.loaded) };
}

/** Runs `fn` over `items`, `n` at a time, keeping their order. */
async function pooled<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

/** Checks every resource of the given sources (4 requests at a time). */
export async function checkSources(db: Pool, settings: Settings, sources: SourceDeclaration[]): Promise<ResourceCheck[]> {
  if (settings.NETWORK === 'never') throw new Error('sources check asks upstream: the network is disabled (NETWORK=never)');
  const datasets = new Map<string, Promise<DatagouvDataset>>();
  const work = sources.flatMap((s) => s.resources.map((r) => ({ s, r })));
  return pooled(work, 4, ({ s, r }) => checkResource(db, settings, s, r, datasets));
}

/** Statuses an operator must act on before the next run. */
export const BROKEN: ReadonlySet<CheckStatus> = new Set(['moved', 'missing', 'no-match', 'unreachable']);
