import yauzl from 'yauzl';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Readable } from 'node:stream';

/**
 * Deflate level 3. Measured on whole packs built at national size (bench/packs-national.ts, every
 * source; each file deflated 5 times): Marseille's pack (25.5 MB of files) 20.2 MB at level 5 in
 * 1.43 s, 22.6 MB at level 3 in 0.84 s; a village's (35001) 271 KB in 20.3 ms against 302 KB in
 * 12.7 ms: about 11 % more bytes for 35–40 % less CPU. Deflating is the largest single cost of
 * building a pack, and the national build is CPU-bound (issue 14: every pack in under 10 minutes on
 * two cores). Level 6, zlib's default, gave 2 % fewer bytes than 5 for 40 % more CPU.
 */
const LEVEL = 3;

/** Every entry gets this date (DOS time, local clock: 2000-01-01 00:00 on any machine). */
const FIXED_MTIME = new Date(2000, 0, 1, 0, 0, 0);

/**
 * Entries from this size are deflated on libuv's threads, smaller ones here. An asynchronous
 * deflate costs about 0.2–0.3 ms of CPU per call whatever the size (thread hand-off, one callback
 * per 16 KB of output): on a pack of 33 files, mostly a few KB, yazl's all-asynchronous deflate
 * took 12.6 ms of CPU where deflating each file synchronously took 5.6 ms (bench: 35238's pack,
 * 200 times). A large file (a city's addresses, MB) keeps the event loop free.
 */
const ASYNC_FROM = 256 * 1024;
const deflateRaw = promisify(zlib.deflateRaw);

export interface PackFile {
  name: string;
  data: Buffer;
  /** SHA-256 (hex) of `data`, computed once when the file is rendered (packs hash every file for datapackage.json and the manifest). */
  sha256?: string;
}

/** DOS date and time of a local date, as yazl computes them (the packs' bytes did not change when yazl was replaced). */
function dosDateTime(d: Date): { date: number; time: number } {
  return {
    date: (d.getDate() & 0x1f) | (((d.getMonth() + 1) & 0xf) << 5) | (((d.getFullYear() - 1980) & 0x7f) << 9),
    time: Math.floor(d.getSeconds() / 2) | ((d.getMinutes() & 0x3f) << 5) | ((d.getHours() & 0x1f) << 11),
  };
}
const DOS = dosDateTime(FIXED_MTIME);
/** Unix, spec 6.3 (what yazl writes). */
const VERSION_MADE_BY = (3 << 8) | 63;
const VERSION_NEEDED = 20;
const UTF8_NAMES = 1 << 11;
const DEFLATE = 8;
/** -rw-r--r--, in the high half of the external attributes (Unix mode). */
const EXTERNAL_ATTRIBUTES = (0o100644 << 16) >>> 0;

/**
 * Deterministic ZIP: entries in the given order, deflated, fixed date and mode, UTF-8 names, no
 * extra field, no data descriptor. Same files → same bytes. Packs are small (KB to tens of MB) and
 * built in memory. Byte for byte what yazl 3 wrote for the same files with these options
 * (test/unit/zip.test.ts compares both), written here because yazl deflates every entry
 * asynchronously, which doubled the CPU of zipping a pack (see ASYNC_FROM).
 */
export async function zipFiles(files: PackFile[]): Promise<Buffer> {
  const names = files.map((f) => {
    if (!f.name || f.name.startsWith('/') || f.name.includes('\\') || f.name.split('/').includes('..'))
      throw new Error(`ZIP entry name not allowed: '${f.name}'`);
    return Buffer.from(f.name, 'utf8');
  });
  const deflated = await Promise.all(
    files.map((f) => (f.data.length >= ASYNC_FROM ? deflateRaw(f.data, { level: LEVEL }) : zlib.deflateRawSync(f.data, { level: LEVEL }))),
  );
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  files.forEach((f, i) => {
    const name = names[i];
    const data = deflated[i];
    const crc = zlib.crc32(f.data);
    if (data.length > 0xfffffffe || f.data.length > 0xfffffffe || offset > 0xfffffffe)
      throw new Error(`ZIP entry too large for a pack built in memory: '${f.name}'`);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(VERSION_NEEDED, 4);
    local.writeUInt16LE(UTF8_NAMES, 6);
    local.writeUInt16LE(DEFLATE, 8);
    local.writeUInt16LE(DOS.time, 10);
    local.writeUInt16LE(DOS.date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(f.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    // The central record repeats the local header's fields from « version needed » to « extra field
    // length » (ZIP APPNOTE 4.3.7 and 4.3.12), two bytes further on, after « version made by ».
    const record = Buffer.alloc(46);
    record.writeUInt32LE(0x02014b50, 0);
    record.writeUInt16LE(VERSION_MADE_BY, 4);
    local.copy(record, 6, 4, 30);
    // comment length, disk number, internal attributes: 0
    record.writeUInt32LE(EXTERNAL_ATTRIBUTES, 38);
    record.writeUInt32LE(offset, 42);
    parts.push(local, name, data);
    central.push(record, name);
    offset += local.length + name.length + data.length;
  });
  const centralSize = central.reduce((n, b) => n + b.length, 0);
  if (files.length >= 0xffff || offset + centralSize > 0xfffffffe) throw new Error('ZIP too large for a pack built in memory');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, ...central, end]);
}

async function streamToBuffer(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Reads entries of a ZIP on disk (all, or those whose name `want` accepts) into memory. */
export async function readZipEntries(file: string, want: (name: string) => boolean = () => true): Promise<Map<string, Buffer>> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false });
  const out = new Map<string, Buffer>();
  try {
    for await (const entry of zipEntries(zip)) {
      if (!want(entry.fileName)) continue;
      out.set(entry.fileName, await streamToBuffer(await zip.openReadStreamPromise(entry)));
    }
  } finally {
    zip.close();
  }
  return out;
}

async function* zipEntries(zip: yauzl.ZipFile): AsyncGenerator<yauzl.Entry> {
  while (true) {
    const entry = await new Promise<yauzl.Entry | null>((resolve, reject) => {
      const onEntry = (e: yauzl.Entry) => {
        cleanup();
        resolve(e);
      };
      const onEnd = () => {
        cleanup();
        resolve(null);
      };
      const onError = (err: Error) => {
        cleanup();
        reject(err);
      };
      const cleanup = () => {
        zip.off('entry', onEntry);
        zip.off('end', onEnd);
        zip.off('error', onError);
      };
      zip.on('entry', onEntry);
      zip.on('end', onEnd);
      zip.on('error', onError);
      zip.readEntry();
    });
    if (!entry) return;
    yield entry;
  }
}

/**
 * Opens one entry of a ZIP on disk as a stream (decompressed on the fly, never the whole
 * archive in memory). Resolves null when the entry does not exist.
 */
export async function openZipEntry(file: string, name: string): Promise<{ stream: Readable; size: number } | null> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false });
  try {
    for await (const entry of zipEntries(zip)) {
      if (entry.fileName !== name) continue;
      const stream = await zip.openReadStreamPromise(entry);
      stream.once('close', () => zip.close());
      stream.once('end', () => zip.close());
      stream.once('error', () => zip.close());
      return { stream, size: entry.uncompressedSize };
    }
  } catch (err) {
    zip.close();
    throw err;
  }
  zip.close();
  return null;
}
