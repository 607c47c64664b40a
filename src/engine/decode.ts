import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import yauzl from 'yauzl';
import iconv from 'iconv-lite';
import { FormatError } from './errors';

export type Encoding = 'utf8' | 'windows-1252' | 'auto';

export interface OpenOptions {
  /** For a zip: the entry to read (case-insensitive; a RegExp picks the first match). */
  entry?: string | RegExp;
  encoding?: Encoding;
  /** Called with the count of raw (compressed) bytes read so far. */
  onBytes?: (n: number) => void;
}

export interface OpenedFile {
  /** Decoded text, UTF-8, BOM removed. */
  text: Readable;
  /** Name used in messages: `ensemble.zip!donnees_communes.csv`. */
  label: string;
  /** Size on disk of the raw file. */
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

async function openZipEntry(
  file: string,
  want: string | RegExp | undefined,
): Promise<{ stream: Readable; name: string; zip: yauzl.ZipFile }> {
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
  const stream = await new Promise<Readable>((resolve, reject) =>
    zip.openReadStream(entry, (err, s) =>
      err ? reject(new FormatError(label, `cannot read entry ${entry.fileName}: ${err.message}`)) : resolve(s!),
    ),
  );
  return { stream, name: entry.fileName, zip };
}

/** Counts bytes flowing through, for progress. */
function byteCounter(onBytes?: (n: number) => void): Transform {
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      onBytes?.(n);
      cb(null, chunk);
    },
  });
}

/** True when the buffer is valid UTF-8 (the last, possibly cut, character ignored). */
export function looksUtf8(buf: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, Math.max(0, buf.length - 4)));
    return true;
  } catch {
    return false;
  }
}

/**
 * Decodes to UTF-8 text. `auto` sniffs the first 64 KB: valid UTF-8 stays UTF-8 (BOM removed),
 * anything else is read as Windows-1252 (the Ministry's .txt files).
 */
function decoder(encoding: Encoding): Transform {
  let dec: { write(b: Buffer): string; end(): string | undefined } | undefined;
  let bomChecked = false;
  const head: Buffer[] = [];
  let headLen = 0;
  const choose = (sample: Buffer) => {
    const enc = encoding === 'auto' ? (looksUtf8(sample) ? 'utf8' : 'win1252') : encoding === 'utf8' ? 'utf8' : 'win1252';
    dec = iconv.getDecoder(enc, { stripBOM: false }) as unknown as typeof dec;
  };
  const feed = (t: Transform, chunk: Buffer) => {
    if (!bomChecked) {
      bomChecked = true;
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
    }
    const s = dec!.write(chunk);
    if (s) t.push(s);
  };
  return new Transform({
    transform(chunk: Buffer, _e, cb) {
      if (dec) {
        feed(this, chunk);
        return cb();
      }
      head.push(chunk);
      headLen += chunk.length;
      if (encoding !== 'auto' || headLen >= 65536) {
        const all = Buffer.concat(head);
        choose(all);
        feed(this, all);
      }
      cb();
    },
    flush(cb) {
      if (!dec) {
        const all = Buffer.concat(head);
        choose(all);
        feed(this, all);
      }
      const rest = dec!.end();
      if (rest) this.push(rest);
      cb();
    },
  });
}

/**
 * Opens a raw file as decoded UTF-8 text: gunzips a .gz, picks the named entry of a .zip,
 * strips a BOM, decodes Windows-1252. A truncated archive fails with a FormatError naming it.
 */
export async function openText(file: string, opts: OpenOptions = {}): Promise<OpenedFile> {
  const head = await magic(file);
  const size = (await fs.promises.stat(file)).size;
  const base = path.basename(file);
  const raw = fs.createReadStream(file, { highWaterMark: 256 * 1024 });
  const counted = raw.pipe(byteCounter(opts.onBytes));
  raw.on('error', (e) => counted.destroy(e));
  let source: Readable = counted;
  let label = base;
  if (isZip(head)) {
    raw.destroy();
    const { stream, name, zip } = await openZipEntry(file, opts.entry);
    label = `${base}!${name}`;
    const counter = byteCounter(opts.onBytes);
    stream.on('error', (e) => counter.destroy(new FormatError(label, `truncated or corrupt archive entry (${e.message})`)));
    stream.on('end', () => zip.close());
    source = stream.pipe(counter);
  } else if (isGzip(head)) {
    const gunzip = zlib.createGunzip();
    counted.on('error', (e) => gunzip.destroy(e));
    gunzip.on('error', () => undefined);
    source = counted.pipe(gunzip);
    const wrapped = new PassThrough();
    gunzip.on('error', (e) => wrapped.destroy(new FormatError(label, `truncated or corrupt gzip file (${e.message})`)));
    source = source.pipe(wrapped);
  }
  const dec = decoder(opts.encoding ?? 'auto');
  source.on('error', (e) => dec.destroy(e));
  const text = source.pipe(dec);
  return { text, label, size };
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
