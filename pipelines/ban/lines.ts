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
