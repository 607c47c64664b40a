import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { Agent, Dispatcher, interceptors, request } from 'undici';
import { sha256File } from './hash';

export interface DownloadOptions {
  /** Validators of the copy we already have: a 304 means no reload. */
  etag?: string | null;
  lastModified?: string | null;
  /** Attempts on network errors, 429 and 5xx (exponential backoff). */
  attempts?: number;
  baseDelayMs?: number;
  onBytes?: (done: number, total: number | undefined) => void;
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
  userAgent?: string;
}

export interface DownloadResult {
  status: 'downloaded' | 'not-modified';
  path: string;
  etag: string | null;
  lastModified: string | null;
  sha256: string;
  bytes: number;
}

export class DownloadError extends Error {
  constructor(
    readonly url: string,
    message: string,
    readonly offline = false,
  ) {
    super(`${url}: ${message}`);
    this.name = 'DownloadError';
  }
}

const defaultDispatcher = new Agent({ connect: { timeout: 15000 }, bodyTimeout: 60000, headersTimeout: 30000 }).compose(
  interceptors.redirect({ maxRedirections: 5 }),
);

// No DNS or no route: the machine is offline, retrying will not help.
const OFFLINE_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PartMeta {
  url: string;
  etag: string | null;
  lastModified: string | null;
}

/**
 * Downloads `url` to `dest` with conditional GET (ETag / If-Modified-Since), retries with
 * exponential backoff on network errors, 429 and 5xx, and resumes an interrupted transfer
 * from `dest.part` with a Range request (If-Range guards against a file changed meanwhile).
 */
export async function download(url: string, dest: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const attempts = opts.attempts ?? 5;
  const base = opts.baseDelayMs ?? 500;
  const part = `${dest}.part`;
  const partMetaFile = `${part}.json`;
  await fs.promises.mkdir(path.dirname(dest), { recursive: true });
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await attemptDownload(url, dest, part, partMetaFile, opts);
    } catch (err) {
      lastError = err;
      if (err instanceof DownloadError && (err.offline || !/retryable/.test(err.message))) throw err;
      // Aborted by the caller: stop, do not retry.
      if (opts.signal?.aborted) throw err instanceof DownloadError ? err : new DownloadError(url, `aborted: ${(err as Error).message}`);
      if (attempt < attempts) await sleep(base * 2 ** (attempt - 1));
    }
  }
  throw lastError instanceof DownloadError
    ? lastError
    : new DownloadError(url, `failed after ${attempts} attempts: ${(lastError as Error)?.message}`);
}

async function attemptDownload(
  url: string,
  dest: string,
  part: string,
  partMetaFile: string,
  opts: DownloadOptions,
): Promise<DownloadResult> {
  const headers: Record<string, string> = { 'user-agent': opts.userAgent ?? 'dotation/0.1 (+https://github.com/dotation)' };
  let offset = 0;
  let partMeta: PartMeta | undefined;
  if (fs.existsSync(part) && fs.existsSync(partMetaFile)) {
    partMeta = JSON.parse(await fs.promises.readFile(partMetaFile, 'utf8')) as PartMeta;
    if (partMeta.url === url) {
      offset = (await fs.promises.stat(part)).size;
      if (offset > 0) {
        headers.range = `bytes=${offset}-`;
        if (partMeta.etag) headers['if-range'] = partMeta.etag;
        else if (partMeta.lastModified) headers['if-range'] = partMeta.lastModified;
      }
    } else offset = 0;
  }
  if (!offset && fs.existsSync(dest)) {
    if (opts.etag) headers['if-none-match'] = opts.etag;
    if (opts.lastModified) headers['if-modified-since'] = opts.lastModified;
  }
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, { method: 'GET', headers, dispatcher: opts.dispatcher ?? defaultDispatcher, signal: opts.signal });
  } catch (err) {
    const code = (err as { code?: string; cause?: { code?: string } }).code ?? (err as { cause?: { code?: string } }).cause?.code ?? '';
    throw new DownloadError(url, `${code || (err as Error).message} (retryable)`, OFFLINE_CODES.has(code));
  }
  const h = (k: string) => {
    const v = res.headers[k];
    return (Array.isArray(v) ? v[0] : v) ?? null;
  };
  if (res.statusCode === 304) {
    await res.body.dump();
    const { sha256, bytes } = await sha256File(dest);
    return { status: 'not-modified', path: dest, etag: opts.etag ?? null, lastModified: opts.lastModified ?? null, sha256, bytes };
  }
  if (res.statusCode === 416 && offset > 0) {
    // The part no longer fits the remote file (it changed or shrank): start over.
    await res.body.dump();
    await fs.promises.rm(part, { force: true });
    await fs.promises.rm(partMetaFile, { force: true });
    throw new DownloadError(url, `HTTP 416 on resume from byte ${offset}: restarting (retryable)`);
  }
  if (res.statusCode === 429 || res.statusCode >= 500) {
    await res.body.dump();
    throw new DownloadError(url, `HTTP ${res.statusCode} (retryable)`);
  }
  if (res.statusCode !== 200 && res.statusCode !== 206) {
    await res.body.dump();
    throw new DownloadError(url, `HTTP ${res.statusCode}`);
  }
  const etag = h('etag');
  const lastModified = h('last-modified');
  const append = res.statusCode === 206 && offset > 0;
  if (res.statusCode === 206) {
    // Appending bytes that do not start where the part ends would corrupt the file.
    const start = Number(/^bytes (\d+)-/.exec(h('content-range') ?? '')?.[1] ?? NaN);
    if (start !== offset) {
      await res.body.dump();
      await fs.promises.rm(part, { force: true });
      await fs.promises.rm(partMetaFile, { force: true });
      throw new DownloadError(url, `HTTP 206 from byte ${Number.isNaN(start) ? '?' : start}, expected ${offset}: restarting (retryable)`);
    }
  }
  if (!append) offset = 0;
  const length = Number(h('content-length') ?? NaN);
  const total = Number.isFinite(length) ? offset + length : undefined;
  await fs.promises.writeFile(partMetaFile, JSON.stringify({ url, etag, lastModified } satisfies PartMeta));
  let done = offset;
  const counter = new Transform({
    transform(chunk: Buffer, _e, cb) {
      done += chunk.length;
      opts.onBytes?.(done, total);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(res.body, counter, fs.createWriteStream(part, { flags: append ? 'a' : 'w' }));
  } catch (err) {
    // Keep the .part: the next attempt resumes it with a Range request.
    throw new DownloadError(url, `interrupted after ${done} bytes: ${(err as Error).message} (retryable)`);
  }
  if (total !== undefined && done !== total) throw new DownloadError(url, `short body: ${done} of ${total} bytes (retryable)`);
  await fs.promises.rename(part, dest);
  await fs.promises.rm(partMetaFile, { force: true });
  const { sha256, bytes } = await sha256File(dest);
  return { status: 'downloaded', path: dest, etag, lastModified, sha256, bytes };
}
