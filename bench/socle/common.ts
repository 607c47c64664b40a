/**
 * Shared pieces of the socle generators (bench/socle/generate.ts): a deterministic PRNG, a
 * population-weighted commune picker, a buffered stream writer, and the lists of communes the
 * generated files speak of (from the embedded COG, the same referential the benchmarks load).
 */
import fs from 'node:fs';
import { once } from 'node:events';
import { readPackageArray } from '../../pipelines/cog/embedded';
import { benchCommunes, cellOf, type BenchCommune } from '../ban/generate';

/** Deterministic PRNG (mulberry32): the same files for the same arguments. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Picks one of `items` in proportion to `weight` (cumulative table, binary search). */
export function weighted<T>(items: T[], weight: (t: T) => number): (r: number) => T {
  const cum: number[] = [];
  let total = 0;
  for (const it of items) cum.push((total += weight(it)));
  return (r: number) => {
    const x = r * total;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return items[lo];
  };
}

/** A file written as a stream through a 1 MB text buffer (back-pressure honoured): never held whole. */
export class Writer {
  private out: fs.WriteStream;
  private buf = '';
  bytes = 0;
  constructor(
    readonly file: string,
    private encode: (s: string) => Buffer | string = (s) => s,
  ) {
    this.out = fs.createWriteStream(file);
  }
  async write(s: string): Promise<void> {
    this.buf += s;
    if (this.buf.length > 1 << 20) await this.flush();
  }
  private async flush(): Promise<void> {
    if (!this.buf) return;
    const chunk = this.encode(this.buf);
    this.bytes += Buffer.byteLength(chunk);
    this.buf = '';
    if (!this.out.write(chunk)) await once(this.out, 'drain');
  }
  async close(): Promise<number> {
    await this.flush();
    this.out.end();
    await once(this.out, 'close');
    return fs.statSync(this.file).size;
  }
}

/** A commune of the generated files with its grid cell (the BAN generator's, see cellOf) for points and polygons. */
export interface SocleCommune extends BenchCommune {
  index: number;
}

let cache: SocleCommune[] | undefined;
/** Communes and arrondissements municipaux (PLM: arrondissements only), as the BAN generator places them. */
export function communes(): SocleCommune[] {
  cache ??= benchCommunes().map((c, index) => ({ ...c, index }));
  return cache;
}

/** A point inside the commune's grid cell. */
export function pointIn(c: SocleCommune, r: () => number): [number, number] {
  const cell = cellOf(c.index);
  return [cell.lon0 + (0.1 + 0.8 * r()) * cell.size, cell.lat0 + (0.1 + 0.8 * r()) * cell.size];
}

/** The cell's bounds (lon0, lat0, size in degrees). */
export const cellFor = (c: SocleCommune) => cellOf(c.index);

interface RawCommune {
  code: string;
  nom: string;
  type: string;
  siren?: string;
  departement?: string;
  zone?: string;
  population?: number;
  codesPostaux?: string[];
}
/** Communes actuelles (Paris, Lyon, Marseille whole) with their SIREN: the buyers, councils and maires of the generated files. */
export function communesActuelles(): (RawCommune & { population: number; departement: string })[] {
  return (readPackageArray('communes') as RawCommune[])
    .filter((c) => c.type === 'commune-actuelle' && c.departement && c.zone !== 'com')
    .map((c) => ({ ...c, population: Math.max(c.population ?? 50, 50), departement: c.departement! }));
}

export interface RawEpci {
  code: string;
  nom: string;
  populationTotale?: number;
  membres: { code: string; siren: string }[];
}
export const epcis = () => readPackageArray('epci') as RawEpci[];

/** Deterministic choice of a fraction of communes (scale < 1): the same communes for the same code. */
export function kept(code: string, scale: number): boolean {
  if (scale >= 1) return true;
  let h = 2166136261;
  for (let i = 0; i < code.length; i++) h = Math.imul(h ^ code.charCodeAt(i), 16777619) >>> 0;
  return h / 4294967296 < scale;
}

export const pad = (n: number, w: number) => String(n).padStart(w, '0');
export const isoDay = (r: () => number, from: number, to: number) => {
  const y = from + Math.floor(r() * (to - from + 1));
  return `${y}-${pad(1 + Math.floor(r() * 12), 2)}-${pad(1 + Math.floor(r() * 28), 2)}`;
};
