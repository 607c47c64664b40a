import { Transform, TransformCallback } from 'node:stream';

const NL = 0x0a, CR = 0x0d, QUOTE = 0x22;

export interface BadLine { line: number; raw: string; reason: string }

/**
 * The light Node pass of the BAN fast path: a byte scan, never a CSV parse. For each physical
 * line it counts delimiters outside double quotes; a line with the wrong field count or an
 * unbalanced quote is diverted (with its line number) instead of reaching COPY, where it would
 * abort the whole load. Good lines are written out prefixed with their line number as an extra
 * first CSV field (`123;…`), so SQL validation can quarantine with line numbers. The header
 * (line 1) is handed to `onHeader` and not written. CR before LF is dropped.
 */
export class LineChecker extends Transform {
  /** Physical lines seen (header included). */
  lines = 0;
  /** Data lines written out. */
  good = 0;
  /** Data lines diverted. */
  bad = 0;
  private carry: Buffer | null = null;
  private expected = -1;
  private out: Buffer;
  private pos = 0;

  constructor(
    private readonly delimiter: number,
    private readonly onHeader: (fields: string[]) => number,
    private readonly onBad: (b: BadLine) => void,
  ) {
    super({ readableHighWaterMark: 1 << 20, writableHighWaterMark: 1 << 20 });
    this.out = Buffer.allocUnsafe(1 << 20);
  }

  private flushOut(): void {
    if (this.pos > 0) {
      this.push(Buffer.from(this.out.subarray(0, this.pos)));
      this.pos = 0;
    }
  }

  private handleLine(buf: Buffer, start: number, end: number, fields: number, quoted: boolean): void {
    if (end > start && buf[end - 1] === CR) end--;
    this.lines++;
    const n = this.lines;
    if (n === 1) {
      const header = buf.toString('utf8', start, end).replace(/^\uFEFF/, '').split(String.fromCharCode(this.delimiter)).map((h) => h.trim().replace(/^"|"$/g, ''));
      this.expected = this.onHeader(header);
      return;
    }
    if (end === start) { this.lines--; return; } // blank line (end of file): not a record
    if (quoted || fields !== this.expected) {
      this.bad++;
      this.onBad({
        line: n, raw: buf.toString('utf8', start, Math.min(end, start + 10000)),
        reason: quoted ? 'unbalanced double quote' : `expected ${this.expected} fields, got ${fields}`,
      });
      return;
    }
    this.good++;
    const len = end - start;
    if (this.pos + len + 24 > this.out.length) {
      this.flushOut();
      if (len + 24 > this.out.length) this.out = Buffer.allocUnsafe(len + 24);
    }
    this.pos += this.out.write(String(n), this.pos, 'latin1');
    this.out[this.pos++] = this.delimiter;
    this.pos += buf.copy(this.out, this.pos, start, end);
    this.out[this.pos++] = NL;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try { this.scan(chunk); } catch (e) { cb(e as Error); return; }
    cb();
  }

  private scan(chunk: Buffer): void {
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = null;
    const d = this.delimiter;
    let start = 0;
    let fields = 1;
    let quoted = false;
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i];
      if (b === QUOTE) quoted = !quoted;
      else if (b === d) { if (!quoted) fields++; }
      else if (b === NL) {
        // A line feed always ends a line (BAN fields never span lines): an unbalanced quote is reported, not followed.
        this.handleLine(buf, start, i, fields, quoted);
        start = i + 1; fields = 1; quoted = false;
      }
    }
    if (start < buf.length) this.carry = Buffer.from(buf.subarray(start));
    this.flushOut();
  }

  override _flush(cb: TransformCallback): void {
    if (this.carry && this.carry.length) {
      const buf = this.carry;
      let fields = 1; let quoted = false;
      for (let i = 0; i < buf.length; i++) {
        if (buf[i] === QUOTE) quoted = !quoted;
        else if (buf[i] === this.delimiter && !quoted) fields++;
      }
      this.carry = null;
      try { this.handleLine(buf, 0, buf.length, fields, quoted); } catch (e) { cb(e as Error); return; }
    }
    this.flushOut();
    cb();
  }
}

/** What the BAN splitter needs to know about a commune code: its current commune and département. */
export interface CodeInfo { actuel: string; dep: string; prefix: Buffer }

/** Département of a commune code: 3 characters overseas (97x, 98x), else 2 (SQL geo_departement). */
export const departementOf = (code: string) => (code.charCodeAt(0) === 0x39 && (code.charCodeAt(1) === 0x37 || code.charCodeAt(1) === 0x38) ? code.slice(0, 3) : code.slice(0, 2));

const NUMBER = /^-?[0-9]{1,3}(\.[0-9]+)?$/;
const CODE = /^([0-9]{5}|2[AB][0-9]{3})$/;

export interface SplitterOptions {
  delimiter: number;
  /** Header fields → expected field count and the indexes of code_insee, lon, lat. */
  header: string[];
  /** code_insee (as published) → current commune; null when unknown (the line is rejected). */
  lookup: (code: string) => string | undefined;
  /** Département the file must hold (département files), or null (national file). */
  expectedDep: string | null;
  onBad: (b: BadLine) => void;
  /** Output buffer of a département is handed out when it reaches this size. */
  chunkBytes?: number;
}

/**
 * The one Node pass of the BAN load: a byte scan (never a CSV parse) that checks each line's
 * field count and quotes, validates the three fields that matter (code_insee is a current
 * commune or arrondissement — of the file's département for a département file —, lon/lat are
 * numbers in range) and routes good lines to per-département COPY-ready buffers prefixed with
 * `line;departement;code_commune;`. Bad lines go to `onBad` with their line number and reason
 * (the same reasons the former SQL validation gave). `scan` returns the buffers to send.
 */
export class BanSplitter {
  lines = 0;
  good = 0;
  bad = 0;
  /** Good lines per département. */
  readonly counts = new Map<string, number>();
  private carry: Buffer | null = null;
  private readonly expected: number;
  private readonly iCode: number;
  private readonly iLon: number;
  private readonly iLat: number;
  private readonly starts: Int32Array;
  private readonly cache = new Map<string, CodeInfo | null>();
  private readonly bufs = new Map<string, { b: Buffer; pos: number }>();
  private readonly ready: { dep: string; buf: Buffer }[] = [];
  private readonly chunkBytes: number;
  private lastDep = '';
  private run = 0;

  constructor(private readonly o: SplitterOptions) {
    this.expected = o.header.length;
    this.iCode = o.header.indexOf('code_insee');
    this.iLon = o.header.indexOf('lon');
    this.iLat = o.header.indexOf('lat');
    this.starts = new Int32Array(this.expected + 2);
    this.chunkBytes = o.chunkBytes ?? 1 << 19;
    this.lines = 1; // the header, read beforehand
  }

  private info(code: string): CodeInfo | null {
    let i = this.cache.get(code);
    if (i === undefined) {
      const actuel = CODE.test(code) ? this.o.lookup(code) : undefined;
      const dep = departementOf(code);
      i = actuel === undefined ? null : { actuel, dep, prefix: Buffer.from(`${dep};${actuel};`, 'latin1') };
      this.cache.set(code, i);
    }
    return i;
  }

  /** Text of field `f` of the line (quotes removed). */
  private field(buf: Buffer, f: number, end: number): string {
    const s = this.starts[f];
    const e = f + 1 < this.expected ? this.starts[f + 1] - 1 : end;
    if (e > s && buf[s] === QUOTE) return buf.toString('utf8', s + 1, e - 1).replace(/""/g, '"');
    return buf.toString('latin1', s, e);
  }

  private reject(buf: Buffer, start: number, end: number, n: number, reason: string): void {
    this.bad++;
    this.o.onBad({ line: n, raw: buf.toString('utf8', start, Math.min(end, start + 10000)), reason });
  }

  private handleLine(buf: Buffer, start: number, end: number, fields: number, quoted: boolean): void {
    if (end > start && buf[end - 1] === CR) end--;
    if (end === start) return; // blank line (end of file): not a record
    const n = ++this.lines;
    if (quoted || fields !== this.expected) {
      this.reject(buf, start, end, n, quoted ? 'unbalanced double quote' : `expected ${this.expected} fields, got ${fields}`);
      return;
    }
    const code = this.field(buf, this.iCode, end);
    if (code === '') { this.reject(buf, start, end, n, 'column code_insee: empty'); return; }
    const info = this.info(code);
    if (!info) { this.reject(buf, start, end, n, `column code_insee: '${code}' is not a current commune or arrondissement`); return; }
    const lon = this.field(buf, this.iLon, end);
    const lat = this.field(buf, this.iLat, end);
    if (!NUMBER.test(lon) || !NUMBER.test(lat)) { this.reject(buf, start, end, n, `columns lon/lat: not a number ('${lon}', '${lat}')`); return; }
    const x = Number(lon);
    const y = Number(lat);
    if (x < -180 || x > 180 || y < -90 || y > 90 || (x === 0 && y === 0)) { this.reject(buf, start, end, n, `columns lon/lat: out of range (${lon}, ${lat})`); return; }
    if (this.o.expectedDep && info.dep !== this.o.expectedDep) {
      this.reject(buf, start, end, n, `column code_insee: ${code} is not in département ${this.o.expectedDep} of the file`);
      return;
    }
    this.good++;
    const dep = info.dep;
    this.counts.set(dep, (this.counts.get(dep) ?? 0) + 1);
    if (dep !== this.lastDep) {
      // Sorted input (the BAN is sorted by commune): hand out the finished département at once.
      if (this.run >= 256) this.hand(this.lastDep);
      this.lastDep = dep; this.run = 0;
    }
    this.run++;
    let o = this.bufs.get(dep);
    const len = end - start;
    const need = len + info.prefix.length + 24;
    if (!o) { o = { b: Buffer.allocUnsafe(Math.max(this.chunkBytes + 1024, need)), pos: 0 }; this.bufs.set(dep, o); }
    else if (o.pos + need > o.b.length) { this.hand(dep); o = this.bufs.get(dep)!; if (need > o.b.length) o.b = Buffer.allocUnsafe(need); }
    o.pos += o.b.write(String(n), o.pos, 'latin1');
    o.b[o.pos++] = this.o.delimiter;
    o.pos += info.prefix.copy(o.b, o.pos);
    o.pos += buf.copy(o.b, o.pos, start, end);
    o.b[o.pos++] = NL;
    if (o.pos >= this.chunkBytes) this.hand(dep);
  }

  /** Moves a département's pending lines to the ready list. */
  private hand(dep: string): void {
    const o = this.bufs.get(dep);
    if (!o || o.pos === 0) return;
    this.ready.push({ dep, buf: Buffer.from(o.b.subarray(0, o.pos)) });
    o.pos = 0;
  }

  /** Scans a chunk of the file (header excluded) and returns the buffers now ready. */
  scan(chunk: Buffer): { dep: string; buf: Buffer }[] {
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = null;
    const d = this.o.delimiter;
    const starts = this.starts;
    const max = this.expected;
    let start = 0;
    let fields = 1;
    let quoted = false;
    starts[0] = 0;
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i];
      if (b === QUOTE) quoted = !quoted;
      else if (b === d) { if (!quoted) { if (fields < max) starts[fields] = i + 1; fields++; } }
      else if (b === NL) {
        starts[0] = start;
        this.handleLine(buf, start, i, fields, quoted);
        start = i + 1; fields = 1; quoted = false;
      }
    }
    if (start < buf.length) this.carry = Buffer.from(buf.subarray(start));
    return this.ready.splice(0);
  }

  /** End of the file: the last line (no final line feed) and every pending buffer. */
  end(): { dep: string; buf: Buffer }[] {
    if (this.carry && this.carry.length) {
      const buf = this.carry;
      this.carry = null;
      let fields = 1; let quoted = false;
      this.starts[0] = 0;
      for (let i = 0; i < buf.length; i++) {
        if (buf[i] === QUOTE) quoted = !quoted;
        else if (buf[i] === this.o.delimiter && !quoted) { if (fields < this.expected) this.starts[fields] = i + 1; fields++; }
      }
      this.handleLine(buf, 0, buf.length, fields, quoted);
    }
    for (const dep of this.bufs.keys()) this.hand(dep);
    this.bufs.clear();
    return this.ready.splice(0);
  }
}
