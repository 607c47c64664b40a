import crypto from 'node:crypto';
import zlib from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { settings } from '../../../config/settings';
import { pool } from '../../db/pool';
import { geometryGeneration } from '../../geo/zone-geometry';
import type { Referential } from '../../communes/referential';

/**
 * Rendered answers of the read-only public routes (geo.api lists, commune summary, DCAT pages),
 * kept as bytes with an ETag and served again until the data they come from changes.
 *
 * The data change is seen through a cheap version stamp, read at most every 2 s (as
 * referential.ts does): publications (published_datasets), pack builds (pack_builds: count,
 * max(built_at), max(checked_at)), the generation of the contour tables (zone_contours_state,
 * moved by any write to them), the contour tables detected by geo/geometry.ts, and the
 * settings that appear in the bytes. Callers add the version of the referential they rendered
 * with, so a page is never stored under a stamp newer than its content.
 */
const CHECK_MS = 2000;
let current: { url: string; at: number; value: string } | undefined;
let pending: Promise<string> | undefined;

async function readStamp(): Promise<string> {
  const {
    rows: [r],
  } = await pool().query(
    `select (select count(*) || '/' || coalesce(max(published_at)::text, '') from published_datasets) as p,
            (select count(*) || '/' || coalesce(max(built_at)::text, '') || '/' || coalesce(max(checked_at)::text, '') from pack_builds) as b,
            (select generation from zone_contours_state) as z`,
  );
  const s = settings();
  return `${r.p}|${r.b}|z${r.z}|${s.PUBLIC_BASE_URL}|${s.PACKS_DIR}`;
}

/** Version stamp of the published data and the packs (one small query at most every 2 s). */
async function dataStamp(): Promise<string> {
  const url = pool().options.connectionString ?? '';
  if (current && current.url === url && Date.now() - current.at < CHECK_MS) return `${current.value}|g${geometryGeneration()}`;
  pending ??= (async () => {
    try {
      const value = await readStamp();
      current = { url, at: Date.now(), value };
      return value;
    } finally {
      pending = undefined;
    }
  })();
  return `${await pending}|g${geometryGeneration()}`;
}

/** The stamp of an answer rendered with `ref`. */
export async function stampWith(ref: Referential): Promise<string> {
  return `${ref.version}|${ref.loadedAt}|${await dataStamp()}`;
}

/** Test hook: read the stamp again on the next call. */
export function resetDataStamp(): void {
  current = undefined;
}

export interface CachedBody {
  body: Buffer;
  etag: string;
  type: string;
  /** Extra headers (cache-control…). */
  headers?: Record<string, string>;
  /** The gzip variant, made on the first request that accepts it. */
  gzip?: Buffer;
  /** What the body was rendered from beyond the stamp, for the caller's `fresh` check (the catalog: pack versions on disk). */
  deps?: unknown;
}

export function cachedBody(body: string | Buffer, type: string, headers?: Record<string, string>): CachedBody {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  const etag = `"${crypto.createHash('sha1').update(buf).digest('base64url')}"`;
  return { body: buf, etag, type, headers };
}

/**
 * LRU of rendered bodies for one stamp: a new stamp empties it. Bounded by total bytes; a body
 * above `maxEntryBytes` is served but not kept. Concurrent misses of one key render once.
 */
export class ResponseCache {
  private stamp = '';
  private entries = new Map<string, CachedBody>();
  private inflight = new Map<string, Promise<CachedBody>>();
  private bytes = 0;

  constructor(
    private readonly maxBytes = 64 << 20,
    private readonly maxEntryBytes = 4 << 20,
  ) {}

  /**
   * The body of `key` under `stamp`, rendered by `produce` on a miss. `fresh`, when given, is asked
   * about a hit: false drops it and renders again (data the stamp does not cover, such as files on disk).
   */
  async fetch(
    stamp: string,
    key: string,
    produce: () => Promise<CachedBody>,
    fresh?: (c: CachedBody) => Promise<boolean>,
  ): Promise<CachedBody> {
    if (stamp !== this.stamp) this.clear(stamp);
    let hit = this.entries.get(key);
    if (hit && fresh && !(await fresh(hit))) {
      // Still the same entry after the await: drop it (another request may have replaced it meanwhile).
      if (this.entries.get(key) === hit) {
        this.entries.delete(key);
        this.bytes -= hit.body.length;
      }
      hit = undefined;
    }
    if (hit) {
      // Refresh the LRU position.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const flightKey = `${stamp}\n${key}`;
    const running = this.inflight.get(flightKey);
    if (running) return running;
    const p = (async () => {
      try {
        const v = await produce();
        if (stamp === this.stamp && v.body.length <= this.maxEntryBytes) this.put(key, v);
        return v;
      } finally {
        this.inflight.delete(flightKey);
      }
    })();
    this.inflight.set(flightKey, p);
    return p;
  }

  clear(stamp = ''): void {
    this.stamp = stamp;
    this.entries.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  private put(key: string, v: CachedBody): void {
    this.entries.set(key, v);
    this.bytes += v.body.length;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= e.body.length;
    }
  }
}

function matches(ifNoneMatch: string | undefined, etags: string[]): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((x) => {
    const t = x.trim().replace(/^W\//, '');
    return t === '*' || etags.includes(t);
  });
}

/** Bodies from this size on are sent gzipped to clients that accept it (DCAT harvesters do). */
const GZIP_FROM = 1024;
const acceptsGzip = (h: string | string[] | undefined) =>
  typeof h === 'string' && /\bgzip\b/i.test(h) && !/\bgzip\s*;\s*q=0(\.0*)?\s*(,|$)/i.test(h);

/**
 * Sends cached bytes with their ETag (the gzip variant has its own, suffixed -gz); 304 when
 * If-None-Match names either.
 */
export function sendCached(req: FastifyRequest, reply: FastifyReply, c: CachedBody): FastifyReply {
  const big = c.body.length >= GZIP_FROM;
  const gz = big && acceptsGzip(req.headers['accept-encoding']);
  const etag = gz ? `${c.etag.slice(0, -1)}-gz"` : c.etag;
  reply.header('etag', etag).type(c.type);
  if (big) reply.header('vary', 'accept-encoding');
  if (c.headers) for (const [k, v] of Object.entries(c.headers)) reply.header(k, v);
  if (matches(req.headers['if-none-match'] as string | undefined, [etag])) return reply.code(304).send();
  if (!gz) return reply.send(c.body);
  c.gzip ??= zlib.gzipSync(c.body, { level: 6 });
  return reply.header('content-encoding', 'gzip').send(c.gzip);
}

/** The raw query string of a request ('' when none): the cache key of a rendered answer. */
export function rawQuery(req: FastifyRequest): string {
  const i = req.url.indexOf('?');
  return i < 0 ? '' : req.url.slice(i + 1);
}
