import fs from 'node:fs';
import { isZip, readHead } from '../../src/engine/decode';

/**
 * What a WFS GetFeature answer in GeoJSON says of itself, after its `features` array (GeoServer
 * writes `totalFeatures`, `numberMatched`, `numberReturned`, `timeStamp` there): read from the
 * file's last 64 KB, so the features are never held. Null members when the file does not give them
 * (a copy re-written by another tool, a compressed file).
 */
export interface WfsFooter {
  numberMatched: number | null;
  numberReturned: number | null;
  /** `2026-08-14T09:12:33.123Z` → `2026-08-14`. */
  date: string | null;
}

export function wfsFooter(file: string): WfsFooter {
  const none: WfsFooter = { numberMatched: null, numberReturned: null, date: null };
  const head = readHead(file, 2);
  if (isZip(readHead(file)) || (head[0] === 0x1f && head[1] === 0x8b)) return none;
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, 'r');
  try {
    const n = Math.min(size, 65536);
    const buf = Buffer.alloc(n);
    fs.readSync(fd, buf, 0, n, size - n);
    const tail = buf.toString('utf8');
    // The last occurrence of each member: those of the collection come after every feature.
    const last = (re: RegExp) => [...tail.matchAll(re)].at(-1)?.[1] ?? null;
    const num = (k: string) => {
      const v = last(new RegExp(`"${k}"\\s*:\\s*(\\d+)`, 'g'));
      return v === null ? null : Number(v);
    };
    const ts = last(/"timeStamp"\s*:\s*"(\d{4}-\d{2}-\d{2})/g);
    return { numberMatched: num('numberMatched') ?? num('totalFeatures'), numberReturned: num('numberReturned'), date: ts };
  } finally {
    fs.closeSync(fd);
  }
}
