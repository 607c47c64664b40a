import { isUtf8 } from 'node:buffer';
import { Transform, TransformCallback } from 'node:stream';
import { FormatError } from '../../src/engine/errors';

const NL = 0x0a,
  CR = 0x0d,
  QUOTE = 0x22;

export interface BadLine {
  line: number;
  raw: string;
  reason: string;
}

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
      const header = buf
        .toString('utf8', start, end)
        .replace(/^\uFEFF/, '')
        .split(String.fromCharCode(this.delimiter))
        .map((h) => h.trim().replace(/^"|"$/g, ''));
      this.expected = this.onHeader(header);
      return;
    }
    if (end === start) {
      this.lines--;
      return;
    } // blank line (end of file): not a record
    if (quoted || fields !== this.expected) {
      this.bad++;
      this.onBad({
        line: n,
        raw: buf.toString('utf8', start, Math.min(end, start + 10000)),
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
    try {
      this.scan(chunk);
    } catch (e) {
      cb(e as Error);
      return;
    }
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
      else if (b === d) {
        if (!quoted) fields++;
      } else if (b === NL) {
        // A line feed always ends a line (BAN fields never span lines): an unbalanced quote is reported, not followed.
        this.handleLine(buf, start, i, fields, quoted);
        start = i + 1;
        fields = 1;
        quoted = false;
      }
    }
    if (start < buf.length) this.carry = Buffer.from(buf.subarray(start));
    this.flushOut();
  }

  override _flush(cb: TransformCallback): void {
    if (this.carry && this.carry.length) {
      const buf = this.carry;
      let fields = 1;
      let quoted = false;
      for (let i = 0; i < buf.length; i++) {
        if (buf[i] === QUOTE) quoted = !quoted;
        else if (buf[i] === this.delimiter && !quoted) fields++;
      }
      this.carry = null;
      try {
        this.handleLine(buf, 0, buf.length, fields, quoted);
      } catch (e) {
        cb(e as Error);
        return;
      }
    }
    this.flushOut();
    cb();
  }
}

/** Département output of the BAN splitter: pending COPY lines and the count of good lines. */
interface DepOut {
  dep: string;
  b: Buffer;
  pos: number;
  count: number;
}

/** What the BAN splitter knows about a commune code: its current commune and département. */
interface CodeInfo {
  out: DepOut;
  prefix: Uint8Array;
}

/** Département of a commune code: 3 characters overseas (97x, 98x), else 2 (SQL geo_departement). */
export const departementOf = (code: string) =>
  code.charCodeAt(0) === 0x39 && (code.charCodeAt(1) === 0x37 || code.charCodeAt(1) === 0x38) ? code.slice(0, 3) : code.slice(0, 2);

const CODE = /^([0-9]{5}|2[AB][0-9]{3})$/;
const NUMBER = /^-?[0-9]{1,3}(\.[0-9]+)?$/;
const EMPTY = Buffer.alloc(0);
const ZERO = 0x30,
  NINE = 0x39,
  MINUS = 0x2d,
  DOT = 0x2e;

/**
 * Value of an unquoted coordinate `-?[0-9]{1,3}(\.[0-9]+)?` read from bytes, NaN when it does
 * not match (no string is made: this runs twice per line).
 */
function coordinate(buf: Buffer, s: number, e: number): number {
  let i = s;
  let sign = 1;
  if (i < e && buf[i] === MINUS) {
    sign = -1;
    i++;
  }
  let int = 0;
  const i0 = i;
  while (i < e && buf[i] >= ZERO && buf[i] <= NINE) {
    int = int * 10 + buf[i] - ZERO;
    i++;
  }
  if (i === i0 || i - i0 > 3) return NaN;
  if (i === e) return sign * int;
  if (buf[i] !== DOT) return NaN;
  i++;
  const f0 = i;
  let frac = 0;
  let scale = 1;
  while (i < e && buf[i] >= ZERO && buf[i] <= NINE) {
    if (scale < 1e15) {
      frac = frac * 10 + buf[i] - ZERO;
      scale *= 10;
    }
    i++;
  }
  if (i === f0 || i !== e) return NaN;
  return sign * (int + frac / scale);
}

export interface SplitterOptions {
  delimiter: number;
  /** Header fields (the expected field count; code_insee, lon, lat located by name). */
  header: string[];
  /** code_insee (as published) → current commune; undefined when unknown (the line is rejected). */
  lookup: (code: string) => string | undefined;
  /** Département the file must hold (département files), or null (national file). */
  expectedDep: string | null;
  onBad: (b: BadLine) => void;
  /** Output buffer of a département is handed out when it reaches this size. */
  chunkBytes?: number;
  /** Longest line (MAX_LINE_BYTES): a longer one fails the load with a FormatError naming `label` and the line. */
  maxLineBytes?: number;
  /** File name in messages. */
  label?: string;
}

/**
 * The one Node pass of the BAN load: a byte scan (never a CSV parse) that checks each line's
 * field count and quotes, validates the three fields that matter (code_insee is a current
 * commune or arrondissement — of the file's département for a département file —, lon/lat are
 * numbers in range) and routes good lines to per-département COPY-ready buffers, each line
 * prefixed with `line;departement;code_commune;`. Bad lines go to `onBad` with their line number
 * and reason (the reasons the former SQL validation gave). The hot path makes no string: the
 * code is looked up by a numeric key of its 5 bytes, coordinates are read from bytes.
 * Bytes PostgreSQL would refuse in a UTF-8 text (an invalid UTF-8 sequence, a NUL byte) would
 * abort the whole COPY: the complete lines of each chunk are checked at once by one native pass
 * (`isUtf8`, `indexOf(0)`), and only a chunk that fails is checked line by line, its bad lines
 * diverted. `scan` returns the buffers ready to send.
 */
export class BanSplitter {
  /** Physical lines (header included). */
  lines = 1;
  good = 0;
  bad = 0;
  private carry: Buffer | null = null;
  private readonly expected: number;
  private readonly iCode: number;
  private readonly iLon: number;
  private readonly iLat: number;
  private readonly starts: Int32Array;
  private readonly byKey = new Map<number, CodeInfo | null>();
  private readonly byCode = new Map<string, CodeInfo | null>();
  private readonly outs = new Map<string, DepOut>();
  private readonly ready: { dep: string; buf: Buffer }[] = [];
  private readonly chunkBytes: number;
  private last: DepOut | null = null;
  private run = 0;
  /** The lines being scanned hold invalid UTF-8 or a NUL byte somewhere: check each one. */
  private suspect = false;

  constructor(private readonly o: SplitterOptions) {
    this.expected = o.header.length;
    this.iCode = o.header.indexOf('code_insee');
    this.iLon = o.header.indexOf('lon');
    this.iLat = o.header.indexOf('lat');
    this.starts = new Int32Array(this.expected + 2);
    this.chunkBytes = o.chunkBytes ?? 1 << 19;
  }

  /** Good lines per département. */
  get counts(): Map<string, number> {
    return new Map([...this.outs.values()].filter((d) => d.count > 0).map((d) => [d.dep, d.count]));
  }

  private info(code: string): CodeInfo | null {
    let i = this.byCode.get(code);
    if (i === undefined) {
      const actuel = CODE.test(code) ? this.o.lookup(code) : undefined;
      if (actuel === undefined) i = null;
      else {
        const dep = departementOf(code);
        let out = this.outs.get(dep);
        if (!out) {
          out = { dep, b: EMPTY, pos: 0, count: 0 };
          this.outs.set(dep, out);
        }
        i = { out, prefix: Buffer.from(`${dep};${actuel};`, 'latin1') };
      }
      this.byCode.set(code, i);
    }
    return i;
  }

  private fieldEnd(f: number, end: number): number {
    return f + 1 < this.expected ? this.starts[f + 1] - 1 : end;
  }

  /** Text of field `f` of the line (quotes removed): the slow path. */
  private field(buf: Buffer, f: number, end: number): string {
    const s = this.starts[f];
    const e = this.fieldEnd(f, end);
    if (e > s && buf[s] === QUOTE) return buf.toString('utf8', s + 1, e - 1).replace(/""/g, '"');
    return buf.toString('utf8', s, e);
  }

  private reject(buf: Buffer, start: number, end: number, n: number, reason: string): void {
    this.bad++;
    this.o.onBad({ line: n, raw: buf.toString('utf8', start, Math.min(end, start + 10000)), reason });
  }

  private handleLine(buf: Buffer, start: number, end: number, fields: number, quoted: boolean): void {
    if (end > start && buf[end - 1] === CR) end--;
    if (end === start) return; // blank line (end of file): not a record
    const n = ++this.lines;
    if (this.suspect) {
      const why = encodingError(buf, start, end);
      if (why) {
        // The raw text keeps what can be shown: invalid bytes become U+FFFD, NUL too (refused in text).
        this.bad++;
        this.o.onBad({ line: n, raw: buf.toString('utf8', start, Math.min(end, start + 10000)).replace(/\0/g, '\uFFFD'), reason: why });
        return;
      }
    }
    if (quoted || fields !== this.expected) {
      this.reject(buf, start, end, n, quoted ? 'unbalanced double quote' : `expected ${this.expected} fields, got ${fields}`);
      return;
    }
    // code_insee: numeric key of its 5 bytes (fast path), else its text.
    const cs = this.starts[this.iCode];
    const ce = this.fieldEnd(this.iCode, end);
    let info: CodeInfo | null | undefined;
    if (ce - cs === 5 && buf[cs] !== QUOTE) {
      const key = buf[cs] * 4294967296 + buf[cs + 1] * 16777216 + buf[cs + 2] * 65536 + buf[cs + 3] * 256 + buf[cs + 4];
      info = this.byKey.get(key);
      if (info === undefined) {
        info = this.info(buf.toString('latin1', cs, ce));
        this.byKey.set(key, info);
      }
    } else {
      const code = this.field(buf, this.iCode, end);
      if (code === '') {
        this.reject(buf, start, end, n, 'column code_insee: empty');
        return;
      }
      info = this.info(code);
    }
    if (!info) {
      this.reject(
        buf,
        start,
        end,
        n,
        `column code_insee: '${this.field(buf, this.iCode, end)}' is not a current commune or arrondissement`,
      );
      return;
    }
    // lon/lat: read from bytes; quoted values (never in the BAN) take the text path.
    const xs = this.starts[this.iLon];
    const ys = this.starts[this.iLat];
    const x = buf[xs] === QUOTE ? textCoordinate(this.field(buf, this.iLon, end)) : coordinate(buf, xs, this.fieldEnd(this.iLon, end));
    const y = buf[ys] === QUOTE ? textCoordinate(this.field(buf, this.iLat, end)) : coordinate(buf, ys, this.fieldEnd(this.iLat, end));
    if (x !== x || y !== y) {
      // NaN
      this.reject(
        buf,
        start,
        end,
        n,
        `columns lon/lat: not a number ('${this.field(buf, this.iLon, end)}', '${this.field(buf, this.iLat, end)}')`,
      );
      return;
    }
    if (x < -180 || x > 180 || y < -90 || y > 90 || (x === 0 && y === 0)) {
      this.reject(
        buf,
        start,
        end,
        n,
        `columns lon/lat: out of range (${this.field(buf, this.iLon, end)}, ${this.field(buf, this.iLat, end)})`,
      );
      return;
    }
    const out = info.out;
    if (this.o.expectedDep && out.dep !== this.o.expectedDep) {
      this.reject(
        buf,
        start,
        end,
        n,
        `column code_insee: ${this.field(buf, this.iCode, end)} is not in département ${this.o.expectedDep} of the file`,
      );
      return;
    }
    this.good++;
    out.count++;
    if (out !== this.last) {
      // Sorted input (the BAN is sorted by commune): hand out the finished département at once.
      if (this.last && this.run >= 256) this.hand(this.last);
      this.last = out;
      this.run = 0;
    }
    this.run++;
    const prefix = info.prefix;
    const len = end - start;
    const need = len + prefix.length + 24;
    if (out.pos + need > out.b.length) {
      this.hand(out);
      out.b = Buffer.allocUnsafeSlow(Math.max(this.chunkBytes + 1024, need));
    }
    const b = out.b;
    let p = out.pos;
    // Line number, in decimal.
    let digits = 1;
    for (let v = n; v >= 10; v = Math.floor(v / 10)) digits++;
    for (let k = digits - 1, v = n; k >= 0; k--, v = Math.floor(v / 10)) b[p + k] = ZERO + (v % 10);
    p += digits;
    b[p++] = this.o.delimiter;
    for (let k = 0; k < prefix.length; k++) b[p++] = prefix[k];
    p += buf.copy(b, p, start, end);
    b[p++] = NL;
    out.pos = p;
    if (p >= this.chunkBytes) this.hand(out);
  }

  /** Moves a département's pending lines to the ready list (the buffer itself: the next lines go to a new one). */
  private hand(out: DepOut): void {
    if (out.pos === 0) return;
    this.ready.push({ dep: out.dep, buf: out.b.subarray(0, out.pos) });
    out.b = EMPTY; // allocated again by the département's next line: a finished département holds nothing
    out.pos = 0;
  }

  /** Scans a chunk of the file (header excluded) and returns the buffers now ready. */
  scan(chunk: Buffer): { dep: string; buf: Buffer }[] {
    let from = 0;
    if (this.carry) {
      // The line cut by the previous chunk: completed alone, the chunk itself is never copied.
      const nl = chunk.indexOf(NL);
      if (nl < 0) {
        this.carry = Buffer.concat([this.carry, chunk]);
        this.checkCarry();
        return this.ready.splice(0);
      }
      const line = Buffer.concat([this.carry, chunk.subarray(0, nl + 1)]);
      this.carry = null;
      this.scanFrom(line, 0);
      from = nl + 1;
    }
    this.scanFrom(chunk, from);
    return this.ready.splice(0);
  }

  private scanFrom(buf: Buffer, from: number): void {
    const d = this.o.delimiter;
    const starts = this.starts;
    const max = this.expected;
    let start = from;
    let fields = 1;
    let quoted = false;
    starts[0] = from;
    const len = buf.length;
    // The complete lines of the chunk, checked in one native pass each (a line feed never ends
    // inside a multi-byte sequence, so the region is valid iff each of its lines is).
    const last = buf.lastIndexOf(NL);
    this.suspect = last >= from && !textSafe(buf, from, last + 1);
    for (let i = from; i < len; i++) {
      const b = buf[i];
      if (b > QUOTE && b !== d) continue; // most bytes: letters, digits
      if (b === QUOTE) quoted = !quoted;
      else if (b === d) {
        if (!quoted) {
          if (fields < max) starts[fields] = i + 1;
          fields++;
        }
      } else if (b === NL) {
        starts[0] = start;
        this.handleLine(buf, start, i, fields, quoted);
        start = i + 1;
        fields = 1;
        quoted = false;
      }
    }
    if (start < len) {
      this.carry = Buffer.from(buf.subarray(start));
      this.checkCarry();
    }
  }

  /** A line still without its end past MAX_LINE_BYTES: no line break where one was expected. */
  private checkCarry(): void {
    const max = this.o.maxLineBytes;
    if (max !== undefined && this.carry && this.carry.length > max) {
      throw new FormatError(
        this.o.label ?? 'BAN file',
        `line longer than ${(max / 1024 / 1024).toFixed(1)} MB (MAX_LINE_BYTES): no line break where one was expected (wrong line ends, a binary or a damaged file?)`,
        this.lines + 1,
      );
    }
  }

  /** End of the file: the last line (no final line feed) and every pending buffer. */
  end(): { dep: string; buf: Buffer }[] {
    if (this.carry && this.carry.length) {
      const buf = this.carry;
      this.carry = null;
      let fields = 1;
      let quoted = false;
      this.starts[0] = 0;
      for (let i = 0; i < buf.length; i++) {
        if (buf[i] === QUOTE) quoted = !quoted;
        else if (buf[i] === this.o.delimiter && !quoted) {
          if (fields < this.expected) this.starts[fields] = i + 1;
          fields++;
        }
      }
      this.suspect = !textSafe(buf, 0, buf.length);
      this.handleLine(buf, 0, buf.length, fields, quoted);
    }
    for (const out of this.outs.values()) this.hand(out);
    return this.ready.splice(0);
  }
}

/** True when bytes [s, e) are valid UTF-8 without a NUL byte (both native passes). */
function textSafe(buf: Buffer, s: number, e: number): boolean {
  const region = buf.subarray(s, e);
  return isUtf8(region) && region.indexOf(0) < 0;
}

/**
 * Why PostgreSQL would refuse bytes [s, e) as UTF-8 text, or null: the first NUL byte or invalid
 * UTF-8 sequence, with its byte position in the line (1-based) and value. The slow path: only
 * for lines of a chunk that failed `textSafe`.
 */
export function encodingError(buf: Buffer, s: number, e: number): string | null {
  for (let i = s; i < e;) {
    const b = buf[i];
    if (b === 0) return `NUL byte (0x00) at byte ${i - s + 1} of the line: not allowed in text`;
    if (b < 0x80) {
      i++;
      continue;
    }
    // Length and range of the second byte of a well-formed sequence (Unicode table 3-7).
    let n = 0;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) n = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    }
    let ok = n > 0 && i + n < e && buf[i + 1] >= lo && buf[i + 1] <= hi;
    for (let k = 2; ok && k <= n; k++) ok = buf[i + k] >= 0x80 && buf[i + k] <= 0xbf;
    if (!ok) {
      return `invalid UTF-8: byte 0x${b.toString(16).toUpperCase()} at byte ${i - s + 1} of the line does not start a valid sequence (the file must be UTF-8; a Latin-1 or Windows-1252 character?)`;
    }
    i += n + 1;
  }
  return null;
}

/** A quoted coordinate's text, checked like the unquoted bytes. */
function textCoordinate(t: string): number {
  return NUMBER.test(t) ? Number(t) : NaN;
}
