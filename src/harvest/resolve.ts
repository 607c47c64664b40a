import fs from 'node:fs';
import path from 'node:path';
import type { Pool } from 'pg';
import type { Settings } from '../../config/settings';
import type { SourceDeclaration } from '../../config/sources';
import type { LocalFile } from '../engine/pipeline';
import type { Progress } from '../engine/progress';
import { MissingResourceError } from '../engine/errors';
import { download, DownloadError } from './download';
import { sha256File } from './hash';

type Resource = SourceDeclaration['resources'][number];

/** Looks for a resource in the mirror: at its root, in `<source id>/`, or one folder down. */
function findInMirror(mirrorDir: string, sourceId: string, names: string[]): string | undefined {
  if (!mirrorDir || !fs.existsSync(mirrorDir)) return undefined;
  const dirs = [mirrorDir, path.join(mirrorDir, sourceId)];
  for (const d of fs.readdirSync(mirrorDir, { withFileTypes: true })) if (d.isDirectory()) dirs.push(path.join(mirrorDir, d.name));
  for (const name of names) {
    for (const dir of dirs) {
      const p = path.join(dir, name);
      if (fs.existsSync(p) && fs.statSync(p).isFile()) return p;
    }
  }
  return undefined;
}

export interface ResolveOptions {
  /** A file an operator downloaded by hand. */
  file?: string;
  /** Which resource `file` is (defaults to the one whose names match, or the only one). */
  resource?: string;
  progress: Progress;
  log: (m: string) => void;
}

export interface Resolution {
  files: Map<string, LocalFile>;
  /** Required resources nobody could provide, with where we looked. */
  missing: string[];
}

function resourceForFile(source: SourceDeclaration, file: string, wanted?: string): Resource {
  if (wanted) {
    const r = source.resources.find((x) => x.name === wanted);
    if (!r)
      throw new MissingResourceError(
        `${source.id} has no resource '${wanted}' (resources: ${source.resources.map((x) => x.name).join(', ')})`,
      );
    return r;
  }
  const base = path.basename(file).toLowerCase();
  const byName = source.resources.find((r) => r.mirrorNames.some((n) => n.toLowerCase() === base));
  if (byName) return byName;
  const required = source.resources.filter((r) => !r.optional);
  if (required.length === 1) return required[0];
  throw new MissingResourceError(
    `cannot tell which resource of ${source.id} ${path.basename(file)} is: name it with --resource (${source.resources.map((x) => x.name).join(', ')})`,
  );
}

/**
 * Finds every resource of a source, in this order: the operator's --file, the mirror
 * (same names as upstream), then a download with conditional GET into DATA_DIR.
 */
export async function resolveResources(db: Pool, settings: Settings, source: SourceDeclaration, opts: ResolveOptions): Promise<Resolution> {
  const files = new Map<string, LocalFile>();
  const missing: string[] = [];
  let manual: Resource | undefined;
  // After one download finds the machine offline (no DNS, no route), do not try the others.
  let offline = false;
  if (opts.file) {
    if (!fs.existsSync(opts.file)) throw new MissingResourceError(`--file ${opts.file}: no such file`);
    manual = resourceForFile(source, opts.file, opts.resource);
    files.set(manual.name, { resource: manual.name, path: path.resolve(opts.file), origin: 'file', ...(await sha256File(opts.file)) });
  }
  for (const r of source.resources) {
    if (r === manual) continue;
    const mirrored = findInMirror(settings.MIRROR_DIR, source.id, r.mirrorNames);
    if (mirrored) {
      files.set(r.name, { resource: r.name, path: mirrored, origin: 'mirror', url: r.url, ...(await sha256File(mirrored)) });
      continue;
    }
    if (settings.NETWORK !== 'never' && !opts.file && !offline && !r.mirrorOnly) {
      const dest = path.join(settings.DATA_DIR, 'raw', source.id, decodeURIComponent(path.basename(new URL(r.url).pathname)) || r.name);
      const prev = (
        await db.query(
          `select etag, last_modified from provenance where source = $1 and resource = $2 and path = $3 order by fetched_at desc limit 1`,
          [source.id, r.name, dest],
        )
      ).rows[0];
      try {
        opts.progress.start(`download ${r.name}`, undefined, 'bytes');
        const res = await download(r.url, dest, {
          etag: prev?.etag,
          lastModified: prev?.last_modified,
          onBytes: (done) => opts.progress.update(done),
        });
        files.set(r.name, {
          resource: r.name,
          path: res.path,
          origin: res.status === 'not-modified' ? 'not-modified' : 'download',
          url: r.url,
          etag: res.etag,
          lastModified: res.lastModified,
          sha256: res.sha256,
          bytes: res.bytes,
        });
        continue;
      } catch (err) {
        if (!(err instanceof DownloadError)) throw err;
        offline = err.offline;
        opts.log(`${source.id}/${r.name}: download failed: ${err.message}${offline ? ' (offline: no further download tried)' : ''}`);
      } finally {
        opts.progress.stop();
      }
    }
    if (!r.optional)
      missing.push(
        `${r.name} (looked for ${r.mirrorNames.join(' or ')} in MIRROR_DIR=${settings.MIRROR_DIR || '(unset)'}${settings.NETWORK === 'never' ? '; network disabled' : `; download from ${r.url} failed`})`,
      );
  }
  return { files, missing };
}
