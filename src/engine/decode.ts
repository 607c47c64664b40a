import { isAscii, isUtf8 } from 'node:buffer';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline as pipe, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import yauzl from 'yauzl';
import iconv from 'iconv-lite';
import { settings } from '../../config/settings';
import { FormatError } from './errors';

export type Encoding = 'utf8' | 'windows-1252' | 'auto';

/**
 * Bounds of the work one input file may cause (settings MAX_DECOMPRESSED_BYTES,
 * MAX_DECOMPRESSION_RATIO, MAX_LINE_BYTES): a decompression bomb or a file without line
 * breaks fails fast, naming the file and the line, instead of filling memory or the disk.
 */
interface DecodeLimits {
  /** Largest decompressed size of a gzip file or zip entry. */
  maxDecompressedBytes: number;
  /** Largest decompressed / compressed ratio, checked once RATIO_GRACE_BYTES are out. */
  maxRatio: number;
  /** Longest physical line (text mode only). */
  maxLineBytes: number;
}

/** The ratio is checked only past this many decompressed bytes: a tiny file may compress very well. */
export const RATIO_GRACE_BYTES = 16 * 1024 * 1024;

function decodeLimits(overrides: Partial<DecodeLimits> = {}): DecodeLimits {
  const s = settings();
  return {
    maxDecompressedBytes: s.MAX_DECOMPRESSED_BYTES,
    maxRatio: s.MAX_DECOMPRESSION_RATIO,
    maxLineBytes: s.MAX_LINE_BYTES,
    ...overrides,
  };
}

export interface OpenOptions {
  /** For a zip: the entry to read (case-insensitive; a RegExp picks the first match). */
  entry?: string | RegExp;
  encoding?: Encoding;
  /** Called with the count of raw (compressed) bytes read so far. */
  onBytes?: (n: number) => void;
  /**
   * Text made of lines (CSV, the default): every line is bounded by `maxLineBytes`, and its
   * encoding is decided line by line (a Windows-1252 line in a UTF-8 file is read as such and
   * counted, never turned into U+FFFD). `false` for one JSON document (UTF-8, no line bound:
   * the GeoJSON reader bounds each feature instead).
   */
  lines?: boolean;
  /** Overrides of the settings' limits (tests). */
  limits?: Partial<DecodeLimits>;
}

/** What decoding saw, filled while the text is read (final once it has ended). */
export interface DecodeStats {
  /** Encoding of the file as a whole (sniffed on its first 64 KB in `auto`). */
  encoding: 'utf8' | 'windows-1252';
  /** Lines decoded in the other encoding than the file's (mixed files), and the first of them. */
  otherEncodingLines: number;
  firstOtherEncodingLine?: number;
  /** Byte-order marks removed (the file's, and any at the start of a later line: concatenated files). */
  boms: number;
}

export interface OpenedFile {
  /** Decoded text, UTF-8, BOM removed. */
  text: Readable;
  /** Name used in messages: `ensemble.zip!donnees_communes.csv`. */
  label: string;
  /** Size on disk of the raw file. */
  size: number;
  stats: DecodeStats;
}

export interface OpenedBytes {
  /** Decompressed bytes (gunzipped, or the zip entry's), bounded by the limits. */
  bytes: Readable;
  label: string;
  size: number;
}

/** First bytes of a file (magic number), without reading it whole. */
export function readHead(file: string, n = 4): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(n);
    const r = fs.readSync(fd, b, 0, n, 0);
    return b.subarray(0, r);
  } finally {
    fs.closeSync(fd);
  }
}

async function magic(file: string): Promise<Buffer> {
  const fd = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fd.read(buf, 0, 4, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fd.close();
  }
}

export function isZip(head: Buffer): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}
function isGzip(head: Buffer): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: false }, (err, zip) => (err ? reject(err) : resolve(zip!))),
  );
}

/** Lists entries of a zip archive (names only). */
export async function zipEntries(file: string): Promise<string[]> {
  const zip = await openZip(file).catch((e) => {
    throw new FormatError(path.basename(file), `truncated or corrupt zip archive (${e.message})`);
  });
  try {
    const names: string[] = [];
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (e: yauzl.Entry) => {
        names.push(e.fileName);
        zip.readEntry();
      });
      zip.on('end', () => resolve());
      zip.on('error', reject);
      zip.readEntry();
    });
    return names;
  } finally {
    zip.close();
  }
}

const MB = (n: number) => `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;

async function openZipEntry(
  file: string,
  want: string | RegExp | undefined,
  limits: DecodeLimits,
): Promise<{ stream: Readable; name: string; zip: yauzl.ZipFile; compressed: number; uncompressed: number }> {
  const label = path.basename(file);
  const zip = await openZip(file).catch((e) => {
    throw new FormatError(label, `truncated or corrupt zip archive (${e.message})`);
  });
  const matches = (name: string) => {
    const base = name.split('/').pop()!;
    if (want === undefined) return !name.endsWith('/');
    if (typeof want === 'string') return base.toLowerCase() === want.toLowerCase();
    return want.test(base);
  };
  const entry = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
    zip.on('entry', (e: yauzl.Entry) => (matches(e.fileName) ? resolve(e) : zip.readEntry()));
    zip.on('end', () => resolve(undefined));
    zip.on('error', reject);
    zip.readEntry();
  });
  if (!entry) {
    zip.close();
    throw new FormatError(label, `no entry ${want instanceof RegExp ? `matching ${want}` : `named '${want}'`} in the archive`);
  }
  // The sizes the archive declares are checked before a byte is inflated (yauzl then holds the
  // entry to its declared size); the stream is counted as well, like a gzip.
  const elabel = `${label}!${entry.fileName}`;
  if (entry.uncompressedSize > limits.maxDecompressedBytes) {
    zip.close();
    throw new FormatError(
      elabel,
      `declares ${MB(entry.uncompressedSize)} once decompressed, more than the ${MB(limits.maxDecompressedBytes)} allowed (MAX_DECOMPRESSED_BYTES)`,
    );
  }
  const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
  if (entry.uncompressedSize > RATIO_GRACE_BYTES && ratio > limits.maxRatio) {
    zip.close();
    throw new FormatError(
      elabel,
      `declares a compression ratio of ${Math.round(ratio)}:1 (${MB(entry.compressedSize)} → ${MB(entry.uncompressedSize)}), above the ${limits.maxRatio}:1 allowed (MAX_DECOMPRESSION_RATIO): a decompression bomb?`,
    );
  }
  const stream = await new Promise<Readable>((resolve, reject) =>
    zip.openReadStream(entry, (err, s) =>
      err ? reject(new FormatError(label, `cannot read entry ${entry.fileName}: ${err.message}`)) : resolve(s!),
    ),
  );
  return { stream, name: entry.fileName, zip, compressed: entry.compressedSize, uncompressed: entry.uncompressedSize };
}

/** Counts bytes flowing through, for progress. */
function byteCounter(onBytes?: (n: number) => void): Transform & { count: number } {
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      t.count += chunk.length;
      onBytes?.(t.count);
      cb(null, chunk);
    },
  }) as Transform & { count: number };
  t.count = 0;
  return t;
}

const LF = 0x0a,
  CR = 0x0d;

/**
 * Bounds decompressed bytes: total size, ratio to the compressed bytes read so far, and (when
 * `maxLineBytes` is set) the length of each physical line (LF, CRLF or CR ends one). Fails with
 * a FormatError naming the file and the line reached; nothing past the limit is read.
 */
class Bounds extends Transform {
  private out = 0;
  private lineLen = 0;
  private line = 1;
  private pendingCR = false;

  constructor(
    private readonly label: string,
    private readonly limits: DecodeLimits,
    private readonly compressed: (() => number) | null,
    private readonly maxLineBytes: number | null,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _e: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.out += chunk.length;
    if (this.compressed) {
      if (this.out > this.limits.maxDecompressedBytes) {
        return cb(
          new FormatError(
            this.label,
            `more than ${MB(this.limits.maxDecompressedBytes)} once decompressed (MAX_DECOMPRESSED_BYTES): refused`,
            this.line,
          ),
        );
      }
      const inBytes = Math.max(1, this.compressed());
      if (this.out > RATIO_GRACE_BYTES && this.out / inBytes > this.limits.maxRatio) {
        return cb(
          new FormatError(
            this.label,
            `decompresses at ${Math.round(this.out / inBytes)}:1 (${MB(inBytes)} → ${MB(this.out)} so far), above the ${this.limits.maxRatio}:1 allowed (MAX_DECOMPRESSION_RATIO): a decompression bomb?`,
            this.line,
          ),
        );
      }
    }
    if (this.maxLineBytes !== null) {
      const err = this.scanLines(chunk, this.maxLineBytes);
      if (err) return cb(err);
    }
    cb(null, chunk);
  }

  private scanLines(chunk: Buffer, max: number): FormatError | null {
    let pos = 0;
    let nextLf = chunk.indexOf(LF);
    let nextCr = chunk.indexOf(CR);
    if (this.pendingCR) {
      this.pendingCR = false;
      if (chunk[0] !== LF) this.line++; // a lone CR ended the previous line
    }
    for (;;) {
      if (nextLf >= 0 && nextLf < pos) nextLf = chunk.indexOf(LF, pos);
      if (nextCr >= 0 && nextCr < pos) nextCr = chunk.indexOf(CR, pos);
      const brk = nextLf < 0 ? nextCr : nextCr < 0 ? nextLf : Math.min(nextLf, nextCr);
      const end = brk < 0 ? chunk.length : brk;
      this.lineLen += end - pos;
      if (this.lineLen > max) {
        return new FormatError(
          this.label,
          `line longer than ${MB(max)} (MAX_LINE_BYTES): no line break where one was expected (wrong line ends, a binary or a damaged file?)`,
          this.line,
        );
      }
      if (brk < 0) return null;
      this.lineLen = 0;
      if (chunk[brk] === LF) this.line++;
      else if (brk + 1 === chunk.length) this.pendingCR = true;
      else if (chunk[brk + 1] !== LF) this.line++;
      pos = brk + 1;
    }
  }
}

/** True when the buffer is valid UTF-8 (the last, possibly cut, character ignored). */
export function looksUtf8(buf: Buffer): boolean {
  return isUtf8(buf.subarray(0, Math.max(0, buf.length - 4))) || isUtf8(buf);
}

const BOM = '\uFEFF';

function stripBoms(s: string, stats: DecodeStats): string {
  if (!s.includes(BOM)) return s;
  const parts = s.split(BOM);
  stats.boms += parts.length - 1;
  return parts.join('');
}

/**
 * Picks the file's encoding from its first 64 KB (`auto`: valid UTF-8 stays UTF-8, anything
 * else is Windows-1252, the Ministry's .txt files), then decodes whole lines: a chunk that is
 * valid UTF-8 (UTF-8 file) or plain ASCII is decoded at once; otherwise each line is decoded in
 * the encoding its bytes are valid in, and counted when that is not the file's.
 */
function lineDecoder(encoding: Encoding, stats: DecodeStats): Transform {
  let primary: 'utf8' | 'windows-1252' | undefined = encoding === 'auto' ? undefined : encoding;
  if (primary) stats.encoding = primary;
  const head: Buffer[] = [];
  let headLen = 0;
  let carry: Buffer | null = null;
  let line = 1; // number of the first line of the next decoded part
  const decodeLine = (b: Buffer): string => {
    const utf = isUtf8(b);
    if (primary === 'utf8' ? !utf : utf && !isAscii(b)) {
      stats.otherEncodingLines++;
      stats.firstOtherEncodingLine ??= line;
    }
    return utf ? b.toString('utf8') : iconv.decode(b, 'win1252');
  };
  const decodePart = (part: Buffer): string => {
    if (isAscii(part) || (primary === 'utf8' && isUtf8(part))) {
      let n = -1;
      for (let i = part.indexOf(LF); i >= 0; i = part.indexOf(LF, i + 1)) n++;
      line += n + 1;
      return part.toString('utf8');
    }
    const out: string[] = [];
    let start = 0;
    for (let i = part.indexOf(LF); start < part.length; i = part.indexOf(LF, start)) {
      const end = i < 0 ? part.length : i + 1;
      out.push(decodeLine(part.subarray(start, end)));
      if (i >= 0) line++;
      start = end;
    }
    return out.join('');
  };
  const emit = (t: Transform, buf: Buffer, final: boolean) => {
    const data = carry ? Buffer.concat([carry, buf]) : buf;
    carry = null;
    // Cut after the last line end (a CR too: old Mac files), never inside a character.
    const cut = final ? data.length : Math.max(data.lastIndexOf(LF), data.lastIndexOf(CR)) + 1;
    if (cut < data.length) carry = Buffer.from(data.subarray(cut));
    if (cut > 0) {
      const s = stripBoms(decodePart(data.subarray(0, cut)), stats);
      if (s) t.push(s);
    }
  };
  const choose = () => {
    const all = Buffer.concat(head);
    head.length = 0;
    primary ??= looksUtf8(all) ? 'utf8' : 'windows-1252';
    stats.encoding = primary;
    return all;
  };
  return new Transform({
    transform(chunk: Buffer, _e, cb) {
      if (primary && !head.length) {
        emit(this, chunk, false);
        return cb();
      }
      head.push(chunk);
      headLen += chunk.length;
      if (primary || headLen >= 65536) emit(this, choose(), false);
      cb();
    },
    flush(cb) {
      emit(this, head.length || !primary ? choose() : Buffer.alloc(0), true);
      cb();
    },
  });
}

/** One document (JSON): streamed through iconv in the declared or sniffed encoding, BOM removed. */
function documentDecoder(encoding: Encoding, stats: DecodeStats): Transform {
  let dec: { write(b: Buffer): string; end(): string | undefined } | undefined;
  const head: Buffer[] = [];
  let headLen = 0;
  const start = (t: Transform) => {
    const all = Buffer.concat(head);
    head.length = 0;
    const enc = encoding === 'auto' ? (looksUtf8(all) ? 'utf8' : 'windows-1252') : encoding;
    stats.encoding = enc;
    dec = iconv.getDecoder(enc === 'utf8' ? 'utf8' : 'win1252', { stripBOM: false }) as unknown as typeof dec;
    const s = dec!.write(all);
    if (s) t.push(s.startsWith(BOM) ? (stats.boms++, s.slice(1)) : s);
  };
  return new Transform({
    transform(chunk: Buffer, _e, cb) {
      if (dec) {
        const s = dec.write(chunk);
        if (s) this.push(s);
        return cb();
      }
      head.push(chunk);
      headLen += chunk.length;
      if (encoding !== 'auto' || headLen >= 65536) start(this);
      cb();
    },
    flush(cb) {
      if (!dec) start(this);
      const rest = dec!.end();
      if (rest) this.push(rest);
      cb();
    },
  });
}

/** Chains streams: an error anywhere destroys them all and reaches the consumer of the last one. */
function chain(first: Readable, ...rest: NodeJS.ReadWriteStream[]): Readable {
  if (!rest.length) return first;
  return pipe(first, ...(rest as [NodeJS.ReadWriteStream]), () => undefined) as unknown as Readable;
}

/**
 * Opens a raw file as decompressed bytes, bounded: gunzips a .gz, picks the named entry of a
 * .zip (declared sizes checked first), counts what comes out against MAX_DECOMPRESSED_BYTES and
 * MAX_DECOMPRESSION_RATIO, and with `maxLineBytes` bounds each line. A truncated archive fails
 * with a FormatError naming it.
 */
export async function openBytes(
  file: string,
  opts: Omit<OpenOptions, 'encoding' | 'lines'> & { maxLineBytes?: number } = {},
): Promise<OpenedBytes> {
  const limits = decodeLimits(opts.limits);
  const head = await magic(file);
  const size = (await fs.promises.stat(file)).size;
  const base = path.basename(file);
  const maxLine = opts.maxLineBytes ?? null;
  if (isZip(head)) {
    const { stream, name, zip, compressed, uncompressed } = await openZipEntry(file, opts.entry, limits);
    const label = `${base}!${name}`;
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      stream.destroy();
      zip.close();
    };
    stream.on('end', close);
    const counter = byteCounter(opts.onBytes);
    const entryErrors = new Transform({ transform: (c, _e, cb) => cb(null, c) });
    stream.on('error', (e) => entryErrors.destroy(new FormatError(label, `truncated or corrupt archive entry (${e.message})`)));
    const bytes = chain(stream.pipe(entryErrors), counter, new Bounds(label, limits, () => compressed, maxLine));
    bytes.on('close', close);
    // Progress counts decompressed bytes here: the total is the entry's declared size, not the archive's.
    return { bytes, label, size: uncompressed };
  }
  // Small reads of a gzip keep the ratio honest: what is counted as read is about what was inflated.
  const raw = fs.createReadStream(file, { highWaterMark: isGzip(head) ? 64 * 1024 : 256 * 1024 });
  const counter = byteCounter(opts.onBytes);
  if (isGzip(head)) {
    const gunzip = zlib.createGunzip({ chunkSize: 256 * 1024 });
    const wrapErrors = new Transform({ transform: (c, _e, cb) => cb(null, c) });
    gunzip.on('error', (e) => wrapErrors.destroy(new FormatError(base, `truncated or corrupt gzip file (${e.message})`)));
    const bytes = chain(raw, counter, gunzip);
    bytes.on('error', () => undefined); // reported through wrapErrors
    const out = chain(bytes.pipe(wrapErrors), new Bounds(base, limits, () => counter.count, maxLine));
    out.on('close', () => raw.destroy());
    return { bytes: out, label: base, size };
  }
  return { bytes: chain(raw, counter, new Bounds(base, limits, null, maxLine)), label: base, size };
}

/**
 * Opens a raw file as decoded UTF-8 text: gunzips a .gz, picks the named entry of a .zip,
 * strips byte-order marks, decodes Windows-1252, within the limits of `openBytes`. In lines
 * mode (the default) each line is bounded and decoded on its own (see OpenOptions.lines).
 */
export async function openText(file: string, opts: OpenOptions = {}): Promise<OpenedFile> {
  const lines = opts.lines ?? true;
  const limits = decodeLimits(opts.limits);
  const { bytes, label, size } = await openBytes(file, {
    entry: opts.entry,
    onBytes: opts.onBytes,
    limits,
    maxLineBytes: lines ? limits.maxLineBytes : undefined,
  });
  const stats: DecodeStats = { encoding: 'utf8', otherEncodingLines: 0, boms: 0 };
  const enc = opts.encoding ?? 'auto';
  const text = chain(bytes, lines ? lineDecoder(enc, stats) : documentDecoder(enc, stats));
  return { text, label, size, stats };
}

/** A sentence about a mixed-encoding file, or null when every line was in the file's encoding. */
export function mixedEncodingNote(label: string, stats: DecodeStats): string | null {
  if (!stats.otherEncodingLines) return null;
  const other = stats.encoding === 'utf8' ? 'Windows-1252' : 'UTF-8';
  return `${label}: ${stats.otherEncodingLines} line(s) in ${other} in a ${stats.encoding === 'utf8' ? 'UTF-8' : 'Windows-1252'} file (first: line ${stats.firstOtherEncodingLine}), decoded line by line`;
}

/** Reads a small text file whole (metadata files, fixtures): never for a national file. */
export async function readSmallText(file: string, opts: OpenOptions = {}): Promise<string> {
  const { text } = await openText(file, opts);
  const parts: string[] = [];
  await pipeline(
    text,
    new Transform({
      transform(c, _e, cb) {
        parts.push(c.toString());
        cb();
      },
    }),
  );
  return parts.join('');
}
