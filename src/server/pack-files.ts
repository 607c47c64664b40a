import fs from 'node:fs';
import path from 'node:path';
import { PackManifest, communeDir } from '../packs/store';

/**
 * Read-side caches of PACKS_DIR for the HTTP server, safe under concurrent publication:
 * - a manifest (`latest.json`) is re-read only when its inode, size or mtime changed — the builder
 *   replaces it by rename(2), so a new manifest is always a new inode;
 * - a version ZIP is immutable once written (a new build is a new version file), so small ones
 *   are kept in memory by path, least recently used first out.
 */
const manifests = new Map<string, { ino: number; size: number; mtimeMs: number; manifest: PackManifest }>();

export async function cachedManifest(packsDir: string, code: string): Promise<PackManifest | null> {
  const file = path.join(communeDir(packsDir, code), 'latest.json');
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      manifests.delete(file);
      return null;
    }
    throw err;
  }
  const hit = manifests.get(file);
  if (hit && hit.ino === st.ino && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.manifest;
  let manifest: PackManifest;
  try {
    manifest = JSON.parse(await fs.promises.readFile(file, 'utf8')) as PackManifest;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (manifests.size >= 50_000) manifests.delete(manifests.keys().next().value!);
  manifests.set(file, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, manifest });
  return manifest;
}

/** ZIPs up to this size are served from memory (most communes' packs: the median is ≈ 30 KB). */
const SMALL_ZIP = 1024 * 1024;
const CACHE_BYTES = 128 * 1024 * 1024;
const zips = new Map<string, Buffer>();
let zipBytes = 0;

/** The bytes of a small version ZIP (null when larger than SMALL_ZIP: stream it from disk). */
export async function cachedZip(file: string, st: { size: number; mtimeMs: number; ino: number }): Promise<Buffer | null> {
  if (st.size > SMALL_ZIP) return null;
  const key = `${file}\0${st.ino}\0${st.mtimeMs}\0${st.size}`;
  const hit = zips.get(key);
  if (hit) {
    zips.delete(key);
    zips.set(key, hit);
    return hit;
  }
  const data = await fs.promises.readFile(file);
  if (data.length !== st.size) return null; // replaced between stat and read: let the caller stream it
  zips.set(key, data);
  zipBytes += data.length;
  for (const [k, v] of zips) {
    if (zipBytes <= CACHE_BYTES) break;
    zips.delete(k);
    zipBytes -= v.length;
  }
  return data;
}
