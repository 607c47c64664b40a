import { spawn } from 'node:child_process';
import path from 'node:path';
import yauzl from 'yauzl';
import { openText } from '../engine/decode';
import { FormatError } from '../engine/errors';

/**
 * How to read a geographic file as producers publish it: which entry of an archive holding
 * several projections of the same data, which CRS a GeoJSON declares, which layer of a
 * GeoPackage holds the polygons. Reading itself is in features.ts.
 */

/** File names GDAL or the GeoJSON splitter can read. */
export const GIS_EXT = /\.(gpkg|fgb|shp|geojson|json)$/i;

/** A name that says its coordinates are WGS84 longitude/latitude (ANCT's `…_WGS84.geojson`, IGN's `WGS84G`). */
const WGS84_NAME = /(^|[^a-z0-9])(wgs84g?|4326|crs84)([^a-z0-9]|$)/i;

/** Preference between formats holding the same data: GeoJSON is streamed without GDAL. */
const FORMAT_RANK: Record<string, number> = { geojson: 0, json: 1, gpkg: 2, fgb: 3, shp: 4 };
const ext = (name: string) => path.extname(name).slice(1).toLowerCase();

/**
 * The entries of an archive to read, among its geographic files (`names` are full entry paths):
 *  1. those matching `prefer` when given (the first one);
 *  2. else the one in WGS84 (by its name), GeoJSON first: ANCT's QPV ZIP holds
 *     `GEOJSON/QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson` beside Lambert-93 and UTM files
 *     of the same quartiers, and reading them all would count every quartier twice;
 *  3. else the only one;
 *  4. else every file of the best format (one per territory, each reprojected when read).
 * Empty when the archive has no geographic file.
 */
export function chooseGisEntries(names: string[], prefer?: RegExp): string[] {
  const gis = names.filter((n) => !n.endsWith('/') && !/(^|\/)__MACOSX\//.test(n) && GIS_EXT.test(n));
  const byFormat = (a: string, b: string) => FORMAT_RANK[ext(a)] - FORMAT_RANK[ext(b)] || a.localeCompare(b);
  if (prefer) {
    const hit = gis.filter((n) => prefer.test(path.basename(n))).sort(byFormat);
    if (hit.length) return [hit[0]];
  }
  const wgs = gis.filter((n) => WGS84_NAME.test(path.basename(n))).sort(byFormat);
  if (wgs.length) return [wgs[0]];
  if (gis.length <= 1) return gis;
  const best = Math.min(...gis.map((n) => FORMAT_RANK[ext(n)]));
  return gis.filter((n) => FORMAT_RANK[ext(n)] === best).sort();
}

/** True for a CRS name meaning WGS84 longitude/latitude (GeoJSON's default). */
export function isWgs84(crs: string): boolean {
  return /CRS84$|EPSG:{1,2}4326$|EPSG\/0\/4326$/i.test(crs.trim());
}

/**
 * The CRS a GeoJSON document declares in its top-level `crs` member (GDAL writes it before
 * `features`: `"crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}}`),
 * read from its first 64 KB; undefined when none is declared (then WGS84, per RFC 7946).
 * Works on a plain, gzipped or zipped (`entry`) file.
 */
export async function geojsonCrs(file: string, entry?: string): Promise<string | undefined> {
  const head = entry ? await zipEntryHead(file, entry, 65536) : await textHead(file, 65536);
  const featuresAt = head.search(/"features"\s*:/);
  const before = featuresAt >= 0 ? head.slice(0, featuresAt) : head;
  const m = /"crs"\s*:\s*\{[^{}]*"properties"\s*:\s*\{[^{}]*"name"\s*:\s*"([^"]+)"/.exec(before);
  return m?.[1];
}

/** The first `n` characters of a plain or gzipped text file. */
async function textHead(file: string, n: number): Promise<string> {
  const { text } = await openText(file, { encoding: 'utf8', lines: false });
  let head = '';
  try {
    for await (const chunk of text) {
      head += String(chunk);
      if (head.length >= n) break;
    }
  } finally {
    text.destroy();
  }
  return head;
}

/** The first `n` bytes of one entry of a zip (by its full path), as UTF-8; the archive is closed after. */
async function zipEntryHead(file: string, entry: string, n: number): Promise<string> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false });
  try {
    const found = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
      zip.on('entry', (e: yauzl.Entry) => (e.fileName === entry ? resolve(e) : zip.readEntry()));
      zip.on('end', () => resolve(undefined));
      zip.on('error', reject);
      zip.readEntry();
    });
    if (!found) throw new FormatError(path.basename(file), `no entry '${entry}' in the archive`);
    const stream = await zip.openReadStreamPromise(found);
    const parts: Buffer[] = [];
    let len = 0;
    try {
      for await (const c of stream) {
        parts.push(c as Buffer);
        len += (c as Buffer).length;
        if (len >= n) break;
      }
    } finally {
      stream.destroy();
    }
    return Buffer.concat(parts).subarray(0, n).toString('utf8');
  } finally {
    zip.close();
  }
}

function capture(cmd: string, args: string[], label: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', (e) => reject(new FormatError(label, `cannot run ${cmd} (${e.message}): install gdal-bin`)));
    p.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new FormatError(label, `${cmd} failed (${code}): ${err.trim().slice(0, 500)}`)),
    );
  });
}

/**
 * The layer of a GDAL dataset to read: the declared one when the file has it; else the only
 * polygon layer; several polygon layers and none declared (or the declared one absent) is an
 * error naming them. A producer renaming its layer (IGN's `contours_iris`) is then no failure.
 */
export async function polygonLayer(gdalPath: string, label: string, declared?: string): Promise<string | undefined> {
  const out = await capture('ogrinfo', ['-ro', '-q', gdalPath], label);
  const layers = [...out.matchAll(/^\s*\d+:\s+(.+?)(?:\s+\(([^)]*)\))?\s*$/gm)].map((m) => ({ name: m[1], type: m[2] ?? '' }));
  if (declared) {
    const hit = layers.find((l) => l.name.toLowerCase() === declared.toLowerCase());
    if (hit) return hit.name;
  }
  const polygons = layers.filter((l) => /polygon/i.test(l.type));
  if (polygons.length === 1) return polygons[0].name;
  if (layers.length === 1) return layers[0].name;
  if (!polygons.length)
    throw new FormatError(label, `no polygon layer (layers: ${layers.map((l) => `${l.name} (${l.type})`).join(', ') || 'none'})`);
  throw new FormatError(
    label,
    `${polygons.length} polygon layers (${polygons.map((l) => l.name).join(', ')})${declared ? `, none named '${declared}'` : ''}: name the one to read`,
  );
}
