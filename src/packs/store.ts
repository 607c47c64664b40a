import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import { COMMUNE_CODE } from '../communes/codes';

/**
 * Layout of PACKS_DIR:
 *   <code>/<version>.zip   one file per kept version (immutable once written)
 *   <code>/latest.json     the manifest: latest version first, then older kept ones
 * Every write goes to a temporary file in the same directory, then rename(2): a reader
 * sees the old file or the new one, never half of one.
 */
interface PackFileInfo {
  name: string;
  bytes: number;
  sha256: string;
}

export interface PackVersion {
  version: string;
  file: string;
  sha256: string;
  bytes: number;
  /** When this version was built (UTC). Not inside the ZIP: the ZIP holds data dates only. */
  createdAt: string;
  /** Hash of the data files (everything but changes.json and datapackage.json). */
  dataHash: string;
  millesime: string;
  files: PackFileInfo[];
  /**
   * What the version holds, by source: millésime and rows per file (the `donnees` of the API).
   * In the manifest so that the server advertises exactly what the served ZIP holds; absent from
   * manifests written before it was added.
   */
  donnees?: Record<string, unknown>;
  /** What changed since the previous version, in one French sentence (changes.json `resume`; the change feeds). */
  summary?: string;
  /** Per dataset (source id; 'pack' for the whole), when its data last changed (the catalog's dct:modified). */
  modified?: Record<string, string>;
}

export interface PackManifest {
  code: string;
  /** Name of the commune when the version was built (the server names downloads with it, even with PostgreSQL down). */
  nom?: string;
  latest: string;
  /** Next version number for this commune. */
  seq: number;
  versions: PackVersion[];
}

export const VERSION_RE = /^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$/;

export function communeDir(packsDir: string, code: string): string {
  if (!COMMUNE_CODE.test(code)) throw new Error(`not a commune code: ${code}`);
  return path.join(packsDir, code);
}

/**
 * The version `pack.zip` serves and every route advertises: the one `latest` names (the builder
 * puts it first too). The manifest on disk is the one source of truth of what is served.
 */
export function latestVersion(m: PackManifest | null | undefined): PackVersion | undefined {
  return m ? (m.versions.find((v) => v.version === m.latest) ?? m.versions[0]) : undefined;
}

/** Absolute path of a version's ZIP; refuses anything that is not a plain version name. */
export function versionPath(packsDir: string, code: string, version: string): string {
  if (!VERSION_RE.test(version) || version.includes('..')) throw new Error(`not a version: ${version}`);
  const p = path.join(communeDir(packsDir, code), `${version}.zip`);
  const root = path.resolve(packsDir) + path.sep;
  if (!path.resolve(p).startsWith(root)) throw new Error('path outside PACKS_DIR');
  return p;
}

export function readManifest(packsDir: string, code: string): PackManifest | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(communeDir(packsDir, code), 'latest.json'), 'utf8')) as PackManifest;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export async function readManifestAsync(packsDir: string, code: string): Promise<PackManifest | null> {
  try {
    return JSON.parse(await fs.promises.readFile(path.join(communeDir(packsDir, code), 'latest.json'), 'utf8')) as PackManifest;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Emits `published` (packsDir, code) once a new manifest is in place, so readers in this
 * process (the HTTP server's manifest cache) see it at once; other processes see it by its inode.
 */
export const packEvents = new EventEmitter();

/** Temporary files of atomic writes: `.<name>.<pid>.<random>.tmp`, beside their target. */
const TMP_RE = /^\..+\.tmp$/;

/**
 * Writes `data` to `file` atomically (temp file in the same directory + rename). The temp file
 * is removed whatever fails: a full disk (ENOSPC during the write) leaves nothing behind.
 */
async function writeAtomic(file: string, data: Buffer | string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  try {
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/**
 * Removes the temporary files a killed build left in a commune's directory. Only the build that
 * owns the commune calls it (one build at a time writes PACKS_DIR: src/packs/lock.ts; the
 * children of a fan-out own disjoint départements), so no live write is touched. Returns the count.
 */
export async function removeOrphanTmp(packsDir: string, code: string): Promise<number> {
  let names: string[];
  try {
    names = await fs.promises.readdir(communeDir(packsDir, code));
  } catch (err) {
    // No directory yet, or something else in its place (the commune's own build reports that).
    if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return 0;
    throw err;
  }
  const orphans = names.filter((n) => TMP_RE.test(n));
  for (const n of orphans) await fs.promises.rm(path.join(communeDir(packsDir, code), n), { force: true });
  return orphans.length;
}

/**
 * Publishes a new version: ZIP first, then the manifest pointing at it, then removes the
 * versions beyond `keep` (after the manifest no longer lists them).
 */
export async function publishVersion(
  packsDir: string,
  code: string,
  zip: Buffer,
  v: Omit<PackVersion, 'file'>,
  keep: number,
  prev: PackManifest | null,
  nom?: string,
): Promise<PackManifest> {
  const dir = communeDir(packsDir, code);
  await fs.promises.mkdir(dir, { recursive: true });
  const file = `${v.version}.zip`;
  await writeAtomic(versionPath(packsDir, code, v.version), zip);
  const versions = [{ ...v, file }, ...(prev?.versions ?? []).filter((x) => x.version !== v.version)];
  const kept = versions.slice(0, keep);
  const manifest: PackManifest = { code, ...(nom ? { nom } : {}), latest: v.version, seq: (prev?.seq ?? 0) + 1, versions: kept };
  await writeAtomic(path.join(dir, 'latest.json'), JSON.stringify(manifest, null, 2) + '\n');
  packEvents.emit('published', packsDir, code);
  for (const old of versions.slice(keep)) {
    await fs.promises.rm(path.join(dir, old.file), { force: true });
  }
  return manifest;
}
