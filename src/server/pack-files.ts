import fs from 'node:fs';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import parseRange from 'range-parser';
import { PackManifest, PackVersion, communeDir, packEvents, versionPath } from '../packs/store';
import { slugify } from '../packs/format';
import { HttpError } from './http/errors';

/**
 * Read side of PACKS_DIR for the HTTP server, safe under concurrent publication. The manifest on
 * disk (`latest.json`) is the one source of truth of what is served and advertised: every route
 * reads it through `cachedManifest`, none reads `pack_builds` for it, and none needs PostgreSQL.
 * - a manifest is re-read when its inode, size or mtime changed — the builder replaces it by
 *   rename(2), so a new manifest is always a new inode. It is checked (one stat) at most every
 *   MANIFEST_CHECK_MS, and at once when this process published it (`packEvents`): a stat per request
 *   cost a fifth of the server's time on a cached pack. Advertised and served versions come from
 *   this one cache, so they always agree; another process's publication is seen within the interval
 *   (the previous version stays on disk, PACK_VERSIONS_KEPT);
 * - a version ZIP is immutable once written (a new build is a new version file): its response
 *   headers are computed once, and small ones are kept in memory, least recently used first out.
 */
const MANIFEST_CHECK_MS = 1000;
const manifests = new Map<string, { ino: number; size: number; mtimeMs: number; checkedAt: number; manifest: PackManifest }>();
const manifestKey = (packsDir: string, code: string) => `${packsDir}\0${code}`;
packEvents.on('published', (packsDir: string, code: string) => manifests.delete(manifestKey(packsDir, code)));

/**
 * The manifest as cached, without any I/O (for the pack downloads' fast path,
 * src/server/pack-fast.ts): undefined when not cached; `due` when `cachedManifest` would stat the
 * file first (checked MANIFEST_CHECK_MS ago or more).
 */
export function manifestInMemory(packsDir: string, code: string): { manifest: PackManifest; due: boolean } | undefined {
  const hit = manifests.get(manifestKey(packsDir, code));
  return hit && { manifest: hit.manifest, due: Date.now() - hit.checkedAt >= MANIFEST_CHECK_MS };
}

export async function cachedManifest(packsDir: string, code: string, recheck = false): Promise<PackManifest | null> {
  const key = manifestKey(packsDir, code);
  const hit = manifests.get(key);
  const now = Date.now();
  if (hit && !recheck && now - hit.checkedAt < MANIFEST_CHECK_MS) return hit.manifest;
  const file = path.join(communeDir(packsDir, code), 'latest.json');
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(file);
  } catch (err) {
    if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) {
      manifests.delete(key);
      return null;
    }
    throw err;
  }
  if (hit && hit.ino === st.ino && hit.size === st.size && hit.mtimeMs === st.mtimeMs) {
    hit.checkedAt = now;
    return hit.manifest;
  }
  let manifest: PackManifest;
  try {
    manifest = JSON.parse(await fs.promises.readFile(file, 'utf8')) as PackManifest;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (manifests.size >= 50_000) manifests.delete(manifests.keys().next().value!);
  manifests.set(key, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, checkedAt: now, manifest });
  return manifest;
}

/** ZIPs up to this size are served from memory (most communes' packs: the median is ≈ 30 KB). */
const SMALL_ZIP = 1024 * 1024;
const CACHE_BYTES = 128 * 1024 * 1024;

/** One version file as served: its path, size, precomputed headers, and its bytes when small and read. */
export interface ServedFile {
  file: string;
  size: number;
  etag: string;
  headers: Record<string, string>;
  body?: Buffer;
}
const served = new Map<string, ServedFile>();
let servedBytes = 0;
/** The key last inserted or touched: touching it again would not change the order. */
let mostRecent: string | undefined;

function remember(key: string, f: ServedFile): void {
  served.set(key, f);
  mostRecent = key;
  servedBytes += f.body?.length ?? 0;
  for (const [k, v] of served) {
    if (servedBytes <= CACHE_BYTES && served.size <= 50_000) break;
    served.delete(k);
    servedBytes -= v.body?.length ?? 0;
  }
}

const servedKey = (packsDir: string, code: string, nom: string, v: PackVersion, immutable: boolean) =>
  `${packsDir}\0${code}\0${v.version}\0${v.sha256}\0${immutable ? 'i' : 'l'}\0${nom}`;

/**
 * The keys already built for a version object of a cached manifest (the same object until the
 * manifest is read again): a download of a cached pack builds no key string, and looks it up by a
 * string whose hash V8 has kept.
 */
const keysByVersion = new WeakMap<PackVersion, { packsDir: string; code: string; nom: string; immutable: boolean; key: string }[]>();
function keyOf(packsDir: string, code: string, nom: string, v: PackVersion, immutable: boolean): string {
  let keys = keysByVersion.get(v);
  if (keys)
    for (const k of keys) if (k.immutable === immutable && k.code === code && k.nom === nom && k.packsDir === packsDir) return k.key;
  const key = servedKey(packsDir, code, nom, v, immutable);
  if (!keys) keysByVersion.set(v, (keys = []));
  if (keys.length < 8) keys.push({ packsDir, code, nom, immutable, key });
  return key;
}

/** The served form of a version when already in the cache (touched as most recently used), without I/O. */
export function cachedServedFile(packsDir: string, code: string, nom: string, v: PackVersion, immutable: boolean): ServedFile | undefined {
  const key = keyOf(packsDir, code, nom, v, immutable);
  const hit = served.get(key);
  if (hit && key !== mostRecent) {
    served.delete(key);
    served.set(key, hit);
    mostRecent = key;
  }
  return hit;
}

/** The served form of a version: looked up by path and sha256 (a version file never changes), read once. */
async function servedFile(packsDir: string, code: string, nom: string, v: PackVersion, immutable: boolean): Promise<ServedFile> {
  const hit = cachedServedFile(packsDir, code, nom, v, immutable);
  if (hit) return hit;
  const key = keyOf(packsDir, code, nom, v, immutable);
  const file = versionPath(packsDir, code, v.version);
  let body: Buffer | undefined;
  let size: number;
  try {
    if (v.bytes <= SMALL_ZIP) {
      body = await fs.promises.readFile(file);
      size = body.length;
    } else {
      size = (await fs.promises.stat(file)).size;
    }
  } catch (err) {
    if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? ''))
      throw new HttpError(404, `la version ${v.version} du dossier de ${code} n’est plus sur le disque`);
    throw err;
  }
  // The manifest gives size and sha256; a file of another size is not the version it names (never served as it).
  if (size !== v.bytes) throw new Error(`${file}: ${size} bytes on disk, the manifest says ${v.bytes}`);
  const etag = `"${v.sha256}"`;
  const f: ServedFile = {
    file,
    size,
    etag,
    body,
    headers: {
      'content-type': 'application/zip',
      etag,
      'last-modified': new Date(v.createdAt).toUTCString(),
      'accept-ranges': 'bytes',
      // A version URL never changes content; pack.zip moves to the next version.
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'public, max-age=300',
      'content-disposition': `attachment; filename="dotation-${code}-${slugify(nom)}-${v.version}.zip"`,
    },
  };
  remember(key, f);
  return f;
}

/** Whether If-None-Match names `etag` (weak or strong), or is `*`. */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch
    .split(',')
    .map((x) => x.trim().replace(/^W\//, ''))
    .some((x) => x === etag || x === '*');
}

/**
 * Sends a pack version: precomputed headers, 304 on If-None-Match, one range as 206 (If-Range
 * honoured), an unsatisfiable range as 416. Several ranges are merged when they overlap; when more
 * than one is left, the whole body is sent with 200 (RFC 9110 §14.2 lets a server ignore Range).
 * Small versions come from memory, large ones are streamed from the file.
 */
export async function sendPackVersion(
  req: FastifyRequest,
  reply: FastifyReply,
  packsDir: string,
  pack: { code: string; nom: string; version: PackVersion; immutable: boolean },
): Promise<FastifyReply> {
  const f = await servedFile(packsDir, pack.code, pack.nom, pack.version, pack.immutable);
  reply.headers(f.headers);
  if (matchesEtag(req.headers['if-none-match'], f.etag)) return reply.code(304).send();
  const range = req.headers.range;
  const ifRange = req.headers['if-range'];
  if (range && (!ifRange || ifRange === f.etag)) {
    const r = parseRange(f.size, range, { combine: true });
    if (r === -1) {
      reply.removeHeader('content-disposition');
      throw new HttpError(416, `plage non satisfaisable : « ${range} » (taille ${f.size} octets)`, {
        'content-range': `bytes */${f.size}`,
      });
    }
    if (r !== -2 && r.type === 'bytes' && r.length === 1) {
      const { start, end } = r[0];
      reply
        .code(206)
        .header('content-range', `bytes ${start}-${end}/${f.size}`)
        .header('content-length', String(end - start + 1));
      return reply.send(f.body ? f.body.subarray(start, end + 1) : fs.createReadStream(f.file, { start, end }));
    }
    // Malformed (-2), another unit, or several disjoint ranges: the whole body.
  }
  reply.header('content-length', String(f.size));
  return reply.send(f.body ?? fs.createReadStream(f.file));
}
