import fs from 'node:fs';
import path from 'node:path';
import type { Pool } from 'pg';
import type { Settings } from '../../config/settings';
import type { ResourceDeclaration, SourceDeclaration } from '../../config/sources';
import type { LocalFile } from '../engine/pipeline';
import type { Progress } from '../engine/progress';
import { z } from 'zod';
import { FormatError, MissingResourceError } from '../engine/errors';
import { isZip, readHead, zipEntries } from '../engine/decode';
import { datedUrl } from './url-dates';
import { download, DownloadError } from './download';
import { DatagouvError, fetchDataset } from './datagouv';
import { sha256File } from './hash';
import { fileNameOf, pickResource, readEdition } from './match';

type Resource = ResourceDeclaration;

/** A mirror name with `*` (`rna_waldec_*.zip`: upstream names that carry their date) as a case-insensitive RegExp. */
function globOf(name: string): RegExp | null {
  if (!name.includes('*')) return null;
  return new RegExp(
    `^${name
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
}

/** The folder of a mirror that holds genuine upstream files collected for reference (../shared/data/real). */
const GENUINE_DIR = 'real';

/** The folders of one mirror tree where a copy is looked for: its root, `<source id>/`, then every folder one level down. */
function mirrorFolders(root: string, sourceId: string): string[] {
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) return [];
  const dirs = [root, path.join(root, sourceId)];
  for (const d of fs.readdirSync(root, { withFileTypes: true })) if (d.isDirectory()) dirs.push(path.join(root, d.name));
  return dirs;
}

/**
 * Looks for a resource in the mirror: at its root, in `<source id>/`, or one folder down; then
 * in `real/` laid out the same way (`real/<source id>/`, or one folder down). A name with `*`
 * (`rna_waldec_*.zip`) matches every file it describes, the last in numeric order winning
 * (`…_20261001.zip` after `…_20260901.zip`: the latest edition of names that carry their date).
 *
 * The rule for `real/`: it holds genuine upstream files (../shared/data/real/README.md), as does
 * the rest of ../shared/data (its README: no synthetic file there), so genuine or not never
 * decides. Names keep their order (the first name found wins wherever it is: `v_commune_2025.csv`
 * in `real/cog/` before `communes.csv` at the root); for one name, the mirror's own folders come
 * before `real/`, where most files are cut extracts: a whole copy an operator put in the mirror
 * is the better file. Files are found by the resource's upstream names only: the extracts of
 * `real/` renamed by whoever cut them (`…-extract-01.geojson`, `<test folder>__…csv`) are not
 * taken, and most say no edition a run could read (load them with `--file … --millesime`).
 */
function findInMirror(mirrorDir: string, sourceId: string, names: string[]): string | undefined {
  if (!mirrorDir || !fs.existsSync(mirrorDir)) return undefined;
  const dirs = [...mirrorFolders(mirrorDir, sourceId), ...mirrorFolders(path.join(mirrorDir, GENUINE_DIR), sourceId)];
  for (const name of names) {
    const glob = globOf(name);
    for (const dir of dirs) {
      if (glob) {
        if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) continue;
        const hits = fs
          .readdirSync(dir)
          .filter((f) => glob.test(f) && fs.statSync(path.join(dir, f)).isFile())
          .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
        if (hits.length) return path.join(dir, hits[hits.length - 1]);
        continue;
      }
      const p = path.join(dir, name);
      if (fs.existsSync(p) && fs.statSync(p).isFile()) return p;
    }
  }
  return undefined;
}

/** The manifest an operator writes beside hand-copied files: `{ "adresses-35.csv.gz": "2024-06-03" }`. */
const MIRROR_EDITIONS = 'editions.json';
const EditionsManifest = z.record(
  z.string(),
  z.string().regex(/^[0-9A-Za-z][0-9A-Za-z_.-]{0,39}$/, 'an edition such as 2025 or 2024-06-03'),
);

/**
 * The edition an operator stated for a mirror copy in the `editions.json` of its folder (files
 * copied by hand carry no download metadata, and a scheduled run takes no --millesime).
 */
function mirrorManifestEdition(file: string): string | undefined {
  const manifest = path.join(path.dirname(file), MIRROR_EDITIONS);
  if (!fs.existsSync(manifest)) return undefined;
  let parsed: z.ZodSafeParseResult<Record<string, string>>;
  try {
    parsed = EditionsManifest.safeParse(JSON.parse(fs.readFileSync(manifest, 'utf8')));
  } catch (err) {
    throw new FormatError(manifest, `not JSON: ${(err as Error).message}`);
  }
  if (!parsed.success)
    throw new FormatError(manifest, parsed.error.issues.map((i) => `${i.path.join('.') || 'manifest'}: ${i.message}`).join('; '));
  return parsed.data[path.basename(file)];
}

export interface ResolveOptions {
  /** A file an operator downloaded by hand. */
  file?: string;
  /** Which resource `file` is (defaults to the one its name or its zip entries match, or the only one). */
  resource?: string;
  /** The edition an operator states for the files of this run (`--millesime`): a hand-copied file says nothing of itself. */
  millesime?: string;
  progress: Progress;
  log: (m: string) => void;
}

export interface Resolution {
  files: Map<string, LocalFile>;
  /** Required resources nobody could provide, with where we looked. */
  missing: string[];
}

/** The names a resource is known by upstream: its mirror names and the file name of its declared URL. */
function knownNames(r: Resource): string[] {
  return [...r.mirrorNames, ...(r.url ? [fileNameOf(r.url)] : [])].map((n) => n.toLowerCase());
}

/** True when `name` is one of the resource's names, or answers its data.gouv.fr title pattern. */
function nameMatches(r: Resource, name: string): boolean {
  const base = name.toLowerCase();
  if (knownNames(r).includes(base)) return true;
  if (r.mirrorNames.some((n) => globOf(n)?.test(name))) return true;
  return Boolean(r.datagouv?.title && new RegExp(r.datagouv.title, 'i').test(name));
}

/**
 * Which resource an operator's file is: named with --resource, else recognised by its file name
 * (mirror names, the declared URL's file name, the data.gouv.fr title pattern), else by the
 * names of its zip entries, else the only required resource. Says how it was recognised.
 */
async function resourceForFile(source: SourceDeclaration, file: string, wanted?: string): Promise<{ resource: Resource; how: string }> {
  // Copies recognised by name only (mirrorOnly) are not offered: a long list would hide the useful names.
  const offered = source.resources.filter((x) => !x.mirrorOnly);
  const hidden = source.resources.length - offered.length;
  const names = `${offered.map((x) => x.name).join(', ')}${hidden ? `, and ${hidden} copies recognised by their names` : ''}`;
  if (wanted) {
    const r = source.resources.find((x) => x.name === wanted);
    if (!r) throw new MissingResourceError(`${source.id} has no resource '${wanted}' (resources: ${names})`);
    return { resource: r, how: '--resource' };
  }
  const base = path.basename(file);
  const unique = (found: Resource[], how: string) => {
    if (found.length > 1)
      throw new MissingResourceError(`${base} could be any of ${found.map((r) => r.name).join(', ')} (${how}): name it with --resource`);
    return found[0] ? { resource: found[0], how } : undefined;
  };
  const byName = unique(
    source.resources.filter((r) => nameMatches(r, base)),
    'its file name',
  );
  if (byName) return byName;
  if (isZip(readHead(file))) {
    const entries = (await zipEntries(file)).map((e) => e.split('/').pop()!).filter(Boolean);
    const byEntry = unique(
      source.resources.filter((r) => entries.some((e) => nameMatches(r, e))),
      'the names of its zip entries',
    );
    if (byEntry) return byEntry;
  }
  const required = source.resources.filter((r) => !r.optional);
  if (required.length === 1 && source.resources.length === 1) return { resource: required[0], how: 'the only resource' };
  if (required.length === 1) return { resource: required[0], how: 'the only required resource' };
  throw new MissingResourceError(`cannot tell which resource of ${source.id} ${base} is: name it with --resource (${names})`);
}

/**
 * Finds the resources of a source, in this order: the operator's --file, the mirror (same
 * names as upstream), then a download with conditional GET into DATA_DIR: for a resource
 * declared on data.gouv.fr, its current URL is asked to the data.gouv.fr API first (the
 * declared URL is the fallback when the API cannot be reached).
 *
 * With --file, that resource is loaded alone: the others are left out, except those it
 * declares it `needs` (looked up in the mirror, as a hand-copied file means no download).
 */
export async function resolveResources(db: Pool, settings: Settings, source: SourceDeclaration, opts: ResolveOptions): Promise<Resolution> {
  const files = new Map<string, LocalFile>();
  const missing: string[] = [];
  let wanted = source.resources;
  // After one request finds the machine offline (no DNS, no route), do not try the others.
  let offline = false;
  const stated = (f: LocalFile): LocalFile =>
    opts.millesime ? { ...f, edition: opts.millesime, editionFrom: 'operator (--millesime)' } : f;
  if (opts.file) {
    if (!fs.existsSync(opts.file)) throw new MissingResourceError(`--file ${opts.file}: no such file`);
    const { resource: manual, how } = await resourceForFile(source, opts.file, opts.resource);
    if (manual.pending) throw new MissingResourceError(`${source.id}/${manual.name} is declared but not read yet: ${manual.pending}`);
    const edition = readEdition(manual.edition, { name: path.basename(opts.file) });
    files.set(
      manual.name,
      stated({
        resource: manual.name,
        path: path.resolve(opts.file),
        origin: 'file',
        edition: edition?.edition ?? null,
        editionFrom: edition?.from,
        ...(await sha256File(opts.file)),
      }),
    );
    const needs = new Set(manual.needs ?? []);
    wanted = source.resources.filter((r) => needs.has(r.name));
    const others = source.resources.length - 1 - wanted.length;
    opts.log(
      `--file ${path.basename(opts.file)}: resource '${manual.name}' (recognised by ${how})${others > 0 ? `; ${others} other resource(s) left as they are` : ''}${wanted.length ? `; with ${wanted.map((r) => r.name).join(', ')} from the mirror` : ''}`,
    );
  }
  for (const r of wanted) {
    if (r.pending) continue;
    const mirrored = findInMirror(settings.MIRROR_DIR, source.id, r.mirrorNames);
    if (mirrored) {
      const inManifest = mirrorManifestEdition(mirrored);
      const edition = inManifest
        ? { edition: inManifest, from: `operator (${MIRROR_EDITIONS})` }
        : readEdition(r.edition, { name: path.basename(mirrored) });
      files.set(
        r.name,
        stated({
          resource: r.name,
          path: mirrored,
          origin: 'mirror',
          url: r.url,
          edition: edition?.edition ?? null,
          editionFrom: edition?.from,
          ...(await sha256File(mirrored)),
        }),
      );
      continue;
    }
    let tried = '';
    if (settings.NETWORK !== 'never' && !opts.file && !offline && !r.mirrorOnly) {
      try {
        const got = await fetchResource(db, settings, source, r, opts);
        if (got) {
          files.set(r.name, stated(got));
          continue;
        }
        tried = 'no matching resource upstream';
      } catch (err) {
        if (!(err instanceof DownloadError) && !(err instanceof DatagouvError)) throw err;
        offline = err.offline;
        tried = err.message;
        opts.log(`${source.id}/${r.name}: ${err.message}${offline ? ' (offline: no further download tried)' : ''}`);
      }
    }
    if (!r.optional)
      missing.push(
        `${r.name} (looked for ${r.mirrorNames.join(' or ')} in MIRROR_DIR=${settings.MIRROR_DIR || '(unset)'}${
          settings.NETWORK === 'never' ? '; network disabled' : tried ? `; ${tried}` : ''
        })`,
      );
  }
  return { files, missing };
}

/**
 * Downloads one resource: through the data.gouv.fr API when it is declared there (the current
 * URL of the matching resource, its edition from the resource metadata), else from its URL.
 * Undefined when the dataset has no matching resource.
 */
async function fetchResource(
  db: Pool,
  settings: Settings,
  source: SourceDeclaration,
  r: Resource,
  opts: ResolveOptions,
): Promise<LocalFile | undefined> {
  // `{today-N}` in a declared URL: the days this run asks for (src/harvest/url-dates.ts).
  let url = r.url ? datedUrl(r.url) : undefined;
  let upstream: LocalFile['upstream'];
  let edition = readEdition(r.edition, { url: r.url, name: r.url ? fileNameOf(r.url) : undefined });
  if (r.datagouv) {
    try {
      const dataset = await fetchDataset(r.datagouv.dataset, { api: settings.DATAGOUV_API });
      const picked = pickResource(r.datagouv, r.edition, dataset.resources);
      if (!picked) {
        opts.log(
          `${source.id}/${r.name}: no resource of data.gouv.fr dataset ${dataset.slug} matches ${JSON.stringify(r.datagouv)} (${dataset.resources.length} resource(s))`,
        );
        return undefined;
      }
      url = picked.resource.url;
      edition = picked.edition;
      upstream = {
        dataset: dataset.slug,
        datasetId: dataset.id,
        resourceId: picked.resource.id,
        title: picked.resource.title,
        page: dataset.page,
        lastModified: picked.resource.last_modified ?? null,
        checksum: picked.resource.checksum ?? null,
      };
      if (dataset.redirects.length) opts.log(`${source.id}/${r.name}: dataset '${r.datagouv.dataset}' is now '${dataset.slug}'`);
      opts.log(
        `${source.id}/${r.name}: data.gouv.fr ${dataset.slug} → '${picked.resource.title}'${edition ? ` (edition ${edition.edition})` : ''}${picked.candidates > 1 ? `, latest of ${picked.candidates} matching` : ''}`,
      );
    } catch (err) {
      // The API down or unreachable: the declared URL, when there is one, is the fallback.
      if (!(err instanceof DatagouvError) || !r.url || (err.status !== null && err.status < 500)) throw err;
      opts.log(`${source.id}/${r.name}: data.gouv.fr API unavailable (${err.message}): trying the declared URL`);
    }
  }
  if (!url) return undefined;
  // One folder per resource: two resources may share an upstream file name (européennes and législatives).
  const dest = path.join(settings.DATA_DIR, 'raw', source.id, r.name, fileNameOf(url) || r.name);
  const prev = (
    await db.query(
      `select etag, last_modified from provenance where source = $1 and resource = $2 and path = $3 order by fetched_at desc limit 1`,
      [source.id, r.name, dest],
    )
  ).rows[0];
  try {
    opts.progress.start(`download ${r.name}`, undefined, 'bytes');
    const res = await download(url, dest, {
      etag: prev?.etag,
      lastModified: prev?.last_modified,
      onBytes: (done) => opts.progress.update(done),
    });
    // A direct URL whose edition is its upload day: the server's Last-Modified says it (upstream metadata, not a local date).
    if (!upstream && r.edition && 'from' in r.edition && r.edition.from === 'last_modified')
      edition = readEdition(r.edition, { lastModified: res.lastModified });
    return {
      resource: r.name,
      path: res.path,
      origin: res.status === 'not-modified' ? 'not-modified' : 'download',
      url,
      etag: res.etag,
      lastModified: res.lastModified,
      sha256: res.sha256,
      bytes: res.bytes,
      edition: edition?.edition ?? null,
      editionFrom: edition?.from,
      upstream,
    };
  } finally {
    opts.progress.stop();
  }
}
