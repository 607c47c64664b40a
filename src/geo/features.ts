import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { settings } from '../../config/settings';
import { isZip, openBytes, openText, RATIO_GRACE_BYTES, readHead, zipEntries } from '../engine/decode';
import { chooseGisEntries, geojsonCrs, GIS_EXT, isWgs84, polygonLayer } from './gis-file';
import { FormatError } from '../engine/errors';
import type { LocalFile, RunContext } from '../engine/pipeline';

/** One feature as raw GeoJSON text (never parsed in Node: PostGIS parses it), with its rank (1-based). */
export interface FeatureText {
  index: number;
  text: string;
}

const OBJ_OPEN = 0x7b,
  OBJ_CLOSE = 0x7d,
  ARR_OPEN = 0x5b,
  ARR_CLOSE = 0x5d,
  QUOTE = 0x22,
  BACKSLASH = 0x5c;

/**
 * Streaming GeoJSON splitter: yields the text of each member of the top-level `features`
 * array without parsing coordinates (a byte scan tracking depth and strings, so memory stays
 * at one feature). A document that is a single Feature (IGN/france-geojson département
 * files) is yielded whole. Works on any byte stream (plain, gzip via openText).
 */
export async function* splitGeoJson(
  bytes: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  label: string,
  maxFeatureBytes = settings().MAX_FEATURE_BYTES,
): AsyncGenerator<FeatureText> {
  let line = 1; // physical line reached, for messages
  let featureLen = 0;
  const tooBig = (what: string) =>
    new FormatError(label, `${what} larger than ${(maxFeatureBytes / 1024 / 1024).toFixed(1)} MB (MAX_FEATURE_BYTES): refused`, line);
  let depth = 0;
  let inString = false;
  let escaped = false;
  let keyStart = -1; // start of a string at depth 1 in the current chunk (for key capture)
  let keyParts: Buffer[] = [];
  let lastKey = '';
  let inFeatures = false; // inside the top-level "features" array
  let sawFeatures = false;
  let featureParts: Buffer[] | null = null;
  let featureStart = -1;
  let index = 0;
  const whole: Buffer[] = []; // the document, kept only while no "features" array was seen
  let wholeLen = 0;
  for await (const c of bytes) {
    const chunk = typeof c === 'string' ? Buffer.from(c) : c;
    if (!sawFeatures) {
      whole.push(chunk);
      wholeLen += chunk.length;
    }
    if (featureParts) featureStart = 0;
    if (keyStart >= 0) keyStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === 0x0a) line++;
      if (inString) {
        if (escaped) escaped = false;
        else if (b === BACKSLASH) escaped = true;
        else if (b === QUOTE) {
          inString = false;
          if (depth === 1 && keyStart >= 0) {
            keyParts.push(chunk.subarray(keyStart, i));
            lastKey = Buffer.concat(keyParts).toString('utf8');
            keyParts = [];
            keyStart = -1;
          }
        }
        continue;
      }
      if (b === QUOTE) {
        inString = true;
        if (depth === 1) {
          keyStart = i + 1;
          keyParts = [];
        }
      } else if (b === OBJ_OPEN || b === ARR_OPEN) {
        if (b === ARR_OPEN && depth === 1 && lastKey === 'features') {
          inFeatures = true;
          sawFeatures = true;
          whole.length = 0;
          wholeLen = 0;
        }
        if (b === OBJ_OPEN && depth === 2 && inFeatures) {
          featureParts = [];
          featureStart = i;
        }
        depth++;
      } else if (b === OBJ_CLOSE || b === ARR_CLOSE) {
        depth--;
        if (depth < 0) throw new FormatError(label, 'invalid GeoJSON: unbalanced brackets');
        if (b === OBJ_CLOSE && depth === 2 && featureParts) {
          featureParts.push(chunk.subarray(featureStart, i + 1));
          if (featureLen + i + 1 - featureStart > maxFeatureBytes) throw tooBig(`feature ${index + 1}`);
          const text = Buffer.concat(featureParts).toString('utf8');
          featureParts = null;
          featureStart = -1;
          featureLen = 0;
          yield { index: ++index, text };
        } else if (b === ARR_CLOSE && depth === 1 && inFeatures) inFeatures = false;
      }
    }
    if (featureParts && featureStart >= 0) {
      featureParts.push(chunk.subarray(featureStart));
      featureLen += chunk.length - featureStart;
      if (featureLen > maxFeatureBytes) throw tooBig(`feature ${index + 1}`);
    }
    if (keyStart >= 0) keyParts.push(chunk.subarray(keyStart));
    // A document without a "features" array is one Feature (a département outline): bounded like one.
    if (!sawFeatures && wholeLen > maxFeatureBytes) throw tooBig('a GeoJSON document without a "features" array');
  }
  if (depth !== 0 || inString) throw new FormatError(label, 'truncated GeoJSON (unbalanced brackets at the end of the file)');
  if (!sawFeatures) {
    const text = Buffer.concat(whole).toString('utf8').trim();
    let doc: { type?: string };
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new FormatError(label, `invalid GeoJSON (${(e as Error).message})`);
    }
    if (doc.type === 'Feature') yield { index: 1, text };
    else if (doc.type && /Polygon|Point|LineString|GeometryCollection/.test(doc.type))
      yield { index: 1, text: JSON.stringify({ type: 'Feature', properties: {}, geometry: doc }) };
    else throw new FormatError(label, `GeoJSON of type '${doc.type}': expected a FeatureCollection or a Feature`);
  }
}

/** True when GDAL's ogr2ogr is on the PATH (Debian gdal-bin). */
export function hasOgr2ogr(): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, 'ogr2ogr')));
}

function run(cmd: string, args: string[], label: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => {
      err += d;
    });
    p.on('error', (e) =>
      reject(new FormatError(label, `cannot run ${cmd} (${e.message}): install ${cmd === '7z' ? 'p7zip-full' : 'gdal-bin'}`)),
    );
    p.on('close', (code) =>
      code === 0 ? resolve() : reject(new FormatError(label, `${cmd} failed (${code}): ${err.trim().slice(0, 500)}`)),
    );
  });
}

/**
 * Any format GDAL reads (GeoPackage, FlatGeobuf, Shapefile, a projected GeoJSON; `/vsizip/…`
 * and `/vsigzip/…` paths too) → GeoJSON features in WGS84, one per line (ogr2ogr -f GeoJSONSeq
 * to stdout, reprojected from the file's own CRS), so the rest of the path is the GeoJSON one.
 */
async function* ogrFeatures(file: string, label: string, layer?: string): AsyncGenerator<FeatureText> {
  const args = ['-f', 'GeoJSONSeq', '/vsistdout/', file, '-t_srs', 'EPSG:4326', '-lco', 'RS=NO'];
  if (layer) args.push(layer);
  const p = spawn('ogr2ogr', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => {
    err += d;
  });
  const exit = new Promise<number | null>((resolve, reject) => {
    p.on('error', (e) => reject(new FormatError(label, `cannot run ogr2ogr (${e.message}): install gdal-bin`)));
    p.on('close', (code) => resolve(code));
  });
  let index = 0;
  const max = settings().MAX_FEATURE_BYTES;
  let parts: Buffer[] = [];
  let len = 0;
  const feature = (tail: Buffer) => {
    const t = Buffer.concat([...parts, tail])
      .toString('utf8')
      .trim();
    parts = [];
    len = 0;
    return t;
  };
  try {
    // One feature per line (GeoJSONSeq), each bounded by MAX_FEATURE_BYTES while it is read.
    for await (const c of p.stdout) {
      let chunk = c as Buffer;
      for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a)) {
        if (len + nl > max) break;
        const t = feature(chunk.subarray(0, nl));
        chunk = chunk.subarray(nl + 1);
        if (t) yield { index: ++index, text: t };
      }
      parts.push(chunk);
      len += chunk.length;
      if (len > max)
        throw new FormatError(label, `feature ${index + 1} larger than ${(max / 1024 / 1024).toFixed(1)} MB (MAX_FEATURE_BYTES): refused`);
    }
    const t = feature(Buffer.alloc(0));
    if (t) yield { index: ++index, text: t };
  } finally {
    if (p.exitCode === null) p.kill();
  }
  const code = await exit;
  if (code !== 0) throw new FormatError(label, `ogr2ogr failed (${code}): ${err.trim().slice(0, 500)}`);
}

interface ReadOptions {
  /** Layer of a GeoPackage to prefer (taken when present; else its only polygon layer). */
  layer?: string;
  /** Entry of an archive to prefer (else the WGS84 one, see chooseGisEntries). */
  entry?: RegExp;
  label?: string;
  /** Told the name of each file or archive entry read. */
  onSource?: (label: string) => void;
}

/** Reads one GDAL-readable path, on the one polygon layer (or the declared one). */
async function* ogrPolygons(gdalPath: string, label: string, layer?: string): AsyncGenerator<FeatureText> {
  yield* ogrFeatures(gdalPath, label, await polygonLayer(gdalPath, label, layer));
}

/**
 * Refuses a 7z archive whose listed content exceeds MAX_DECOMPRESSED_BYTES, or the ratio
 * MAX_DECOMPRESSION_RATIO to its size, before anything is extracted to the disk.
 */
async function check7zSizes(file: string, label: string): Promise<void> {
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn('7z', ['l', '-slt', '-ba', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const parts: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (d: Buffer) => parts.push(d));
    p.stderr.on('data', (d) => {
      err += d;
    });
    p.on('error', (e) => reject(new FormatError(label, `cannot run 7z (${e.message}): install p7zip-full`)));
    p.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(parts).toString('utf8'))
        : reject(new FormatError(label, `7z l failed (${code}): ${err.trim().slice(0, 500)}`)),
    );
  });
  const total = [...out.matchAll(/^Size = (\d+)$/gm)].reduce((s, m) => s + Number(m[1]), 0);
  const { MAX_DECOMPRESSED_BYTES: cap, MAX_DECOMPRESSION_RATIO: ratio } = settings();
  const size = fs.statSync(file).size;
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (total > cap)
    throw new FormatError(label, `holds ${mb(total)} once extracted, more than the ${mb(cap)} allowed (MAX_DECOMPRESSED_BYTES)`);
  if (total > RATIO_GRACE_BYTES && total / Math.max(1, size) > ratio)
    throw new FormatError(
      label,
      `extracts at ${Math.round(total / size)}:1 (${mb(size)} → ${mb(total)}), above the ${ratio}:1 allowed (MAX_DECOMPRESSION_RATIO): a decompression bomb?`,
    );
}

/**
 * Every feature of a geographic file, as GeoJSON text in WGS84:
 *  - `.geojson`/`.json` (optionally gzipped) by the streaming splitter, or through ogr2ogr when
 *    the document declares another CRS (a Lambert-93 GeoJSON is reprojected, never misread);
 *  - `.gpkg`, `.fgb`, `.shp` through ogr2ogr, on the polygon layer;
 *  - a `.zip` (ANCT) or `.7z` (IGN) archive: the entries chooseGisEntries picks (the WGS84 one
 *    when the archive holds several projections), each read as above.
 */
async function* readFeatures(file: string, opts: ReadOptions = {}): AsyncGenerator<FeatureText> {
  const label = opts.label ?? path.basename(file);
  if (/\.7z$/i.test(file)) {
    await check7zSizes(file, label);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-7z-'));
    try {
      await run('7z', ['x', '-y', `-o${dir}`, file], label);
      const found: string[] = [];
      const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          const p = path.join(d, e.name);
          if (e.isDirectory()) walk(p);
          else if (GIS_EXT.test(e.name)) found.push(path.relative(dir, p));
        }
      };
      walk(dir);
      const picked = chooseGisEntries(found, opts.entry);
      if (!picked.length) throw new FormatError(label, `no geographic file${opts.entry ? ` matching ${opts.entry}` : ''} in the archive`);
      for (const rel of picked) yield* readFeatures(path.join(dir, rel), { ...opts, label: `${label}!${rel}` });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  if (isZip(readHead(file))) {
    const picked = chooseGisEntries(await zipEntries(file), opts.entry);
    if (!picked.length) throw new FormatError(label, `no geographic file${opts.entry ? ` matching ${opts.entry}` : ''} in the archive`);
    for (const entry of picked) {
      const entryLabel = `${label}!${entry}`;
      opts.onSource?.(entryLabel);
      // Declared sizes checked (MAX_DECOMPRESSED_BYTES, MAX_DECOMPRESSION_RATIO) before GDAL or the splitter inflates it.
      (await openBytes(file, { entry: path.basename(entry) })).bytes.destroy();
      const vsi = `/vsizip/${path.resolve(file)}/${entry}`;
      if (/\.(geojson|json)$/i.test(entry)) {
        const crs = await geojsonCrs(file, entry);
        if (crs && !isWgs84(crs)) {
          yield* ogrPolygons(vsi, entryLabel);
          continue;
        }
        const opened = await openText(file, { entry: path.basename(entry), encoding: 'utf8', lines: false });
        yield* splitGeoJson(opened.text as Readable & AsyncIterable<Buffer | string>, entryLabel);
      } else yield* ogrPolygons(vsi, entryLabel, opts.layer);
    }
    return;
  }
  opts.onSource?.(label);
  if (/\.(gpkg|fgb|shp)$/i.test(file)) {
    yield* ogrPolygons(file, label, opts.layer);
    return;
  }
  const crs = await geojsonCrs(file);
  if (crs && !isWgs84(crs)) {
    yield* ogrPolygons(/\.gz$/i.test(file) ? `/vsigzip/${path.resolve(file)}` : file, label);
    return;
  }
  const opened = await openText(file, { encoding: 'utf8', lines: false });
  yield* splitGeoJson(opened.text as Readable & AsyncIterable<Buffer | string>, label);
}

/** Columns of the staging table of features. */
const FEATURE_STAGING = { line: 'bigint', feature: 'text' };

/**
 * Streams the features of a file into an UNLOGGED staging table (line = rank of the feature,
 * feature = its GeoJSON text) for set-based parsing in SQL. Counts them as read.
 */
export async function stageFeatures(
  ctx: RunContext,
  file: LocalFile,
  name: string,
  opts: { layer?: string; entry?: RegExp } = {},
): Promise<{ table: string; label: string; count: number }> {
  const staging = await ctx.scratch(name, FEATURE_STAGING);
  const sources: string[] = [];
  let count = 0;
  async function* rows() {
    // Ranks run on across the entries of an archive, so a feature's rank names it alone.
    for await (const f of readFeatures(file.path, { ...opts, label: path.basename(file.path), onSource: (l) => sources.push(l) })) {
      yield { line: ++count, feature: f.text };
    }
  }
  await staging.copyRows(ctx.db, rows());
  ctx.counters.read += count;
  await ctx.db.query(`analyze ${staging.qualified}`);
  // The label names the entry read (`QP2024.zip!GEOJSON/QP2024_…_WGS84.geojson`): the run says which projection it took.
  const label = sources.length === 1 ? sources[0] : path.basename(file.path);
  if (sources.length > 1 || sources[0] !== path.basename(file.path)) ctx.log(`read ${sources.join(', ')}`);
  return { table: staging.qualified, label, count };
}
