import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import iconv from 'iconv-lite';
import yazl from 'yazl';
import { openBytes, openText, readSmallText, RATIO_GRACE_BYTES } from '../../src/engine/decode';
import { readCsv } from '../../src/engine/csv';
import { FormatError } from '../../src/engine/errors';

// Bounded work (issue 13, item 2) and line-by-line decoding (item 1): a decompression bomb or a
// file without line breaks fails fast naming the file and the line; mixed line ends, encodings
// and byte-order marks are read line by line.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'decode-bounds-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `n` bytes of zeros, gzipped by streaming (never held whole). */
async function gzipZeros(file: string, n: number): Promise<void> {
  const chunk = Buffer.alloc(1 << 20);
  async function* zeros() {
    for (let left = n; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left);
  }
  await pipeline(Readable.from(zeros()), zlib.createGzip({ level: 9 }), fs.createWriteStream(file));
}

/** Reads a stream to the end, counting what came out before it failed. */
async function drain(s: Readable): Promise<{ bytes: number; error: unknown }> {
  let bytes = 0;
  try {
    for await (const c of s) bytes += (c as Buffer | string).length;
    return { bytes, error: null };
  } catch (error) {
    return { bytes, error };
  }
}

async function zipOf(entries: Record<string, Buffer>, file: string): Promise<void> {
  const z = new yazl.ZipFile();
  for (const [name, data] of Object.entries(entries)) z.addBuffer(data, name, { compress: true });
  z.end();
  await pipeline(z.outputStream as unknown as Readable, fs.createWriteStream(file));
}

test('a gzip of zeros fails on the ratio limit after a few MB, naming the file', async () => {
  const file = path.join(dir, 'zeros.csv.gz');
  await gzipZeros(file, 256 * 1024 * 1024); // 256 MB of zeros: ~250 KB on disk
  expect(fs.statSync(file).size).toBeLessThan(1024 * 1024);
  const { bytes, error } = await drain((await openBytes(file)).bytes);
  expect(error).toBeInstanceOf(FormatError);
  expect((error as Error).message).toMatch(/^zeros\.csv\.gz, line 1: decompresses at \d+:1 .*MAX_DECOMPRESSION_RATIO/);
  // Stopped soon after the grace amount (the reads run a little ahead of the inflater), long before the 256 MB.
  expect(bytes).toBeGreaterThanOrEqual(RATIO_GRACE_BYTES);
  expect(bytes).toBeLessThan(4 * RATIO_GRACE_BYTES);
});

test('the line bound stops text mode first on a file without line breaks', async () => {
  const file = path.join(dir, 'zeros2.csv.gz');
  await gzipZeros(file, 64 * 1024 * 1024);
  const opened = await openText(file, { limits: { maxLineBytes: 1024 * 1024 } });
  const { bytes, error } = await drain(opened.text);
  expect((error as Error).message).toMatch(/^zeros2\.csv\.gz, line 1: line longer than 1\.0 MB \(MAX_LINE_BYTES\)/);
  expect(bytes).toBe(0); // no partial line was decoded
});

test('the absolute cap on decompressed bytes', async () => {
  const file = path.join(dir, 'lines.csv.gz');
  const text = 'a;b\n' + '1;2\n'.repeat(300_000);
  fs.writeFileSync(file, zlib.gzipSync(text));
  const { error } = await drain((await openBytes(file, { limits: { maxDecompressedBytes: 500_000 } })).bytes);
  expect((error as Error).message).toMatch(/more than 0\.5 MB once decompressed \(MAX_DECOMPRESSED_BYTES\)/);
  // Within the cap: read whole.
  expect((await drain((await openBytes(file)).bytes)).bytes).toBe(text.length);
});

test('a zip entry declaring a bomb ratio is refused before a byte is inflated', async () => {
  const file = path.join(dir, 'bomb.zip');
  await zipOf({ 'donnees.csv': Buffer.alloc(64 * 1024 * 1024) }, file);
  const err = await openBytes(file, { entry: 'donnees.csv' }).catch((e) => e);
  expect(err).toBeInstanceOf(FormatError);
  expect(err.message).toMatch(/^bomb\.zip!donnees\.csv: declares a compression ratio of \d+:1 .*MAX_DECOMPRESSION_RATIO/);
  const capped = await openBytes(file, { limits: { maxDecompressedBytes: 1024 * 1024 } }).catch((e) => e);
  expect(capped.message).toMatch(/declares 64 MB once decompressed, more than the 1\.0 MB allowed \(MAX_DECOMPRESSED_BYTES\)/);
});

test('a long line names its line number; CR, LF and CRLF each end a line', async () => {
  const file = path.join(dir, 'long.csv');
  fs.writeFileSync(file, Buffer.concat([Buffer.from('a;b\r\n1;2\r3;4\n'), Buffer.alloc(3000, 0x78), Buffer.from('\n')]));
  const { error } = await drain((await openText(file, { limits: { maxLineBytes: 2000 } })).text);
  expect((error as Error).message).toMatch(/^long\.csv, line 4: line longer than/);
});

test('mixed line ends, a byte-order mark in the middle and a Windows-1252 line are read line by line', async () => {
  const file = path.join(dir, 'mixed.csv');
  fs.writeFileSync(
    file,
    Buffer.concat([
      Buffer.from('\uFEFFcode;nom\r\n35238;Rennes\r\n', 'utf8'),
      Buffer.from('35047;Bruz\n35051;Cesson-Sévigné\n', 'utf8'),
      iconv.encode('35066;Chavagne à 1252\r\n', 'win1252'),
      Buffer.from('\uFEFF35024;Betton\n', 'utf8'),
    ]),
  );
  const opened = await openText(file, { encoding: 'utf8' });
  const { rows } = await readCsv(opened.text, opened.label, { delimiter: ';' });
  const got: [string[], number][] = [];
  for await (const r of rows) got.push([r.values, r.line]);
  expect(got).toEqual([
    [['35238', 'Rennes'], 2],
    [['35047', 'Bruz'], 3],
    [['35051', 'Cesson-Sévigné'], 4],
    [['35066', 'Chavagne à 1252'], 5],
    [['35024', 'Betton'], 6],
  ]);
  expect(opened.stats).toEqual({ encoding: 'utf8', otherEncodingLines: 1, firstOtherEncodingLine: 5, boms: 2 });
});

test('a Windows-1252 file stays Windows-1252, its UTF-8 lines are read as UTF-8', async () => {
  const file = path.join(dir, 'w.txt');
  fs.writeFileSync(file, Buffer.concat([iconv.encode('é;è\n', 'win1252'), Buffer.from('ç;à\n', 'utf8'), iconv.encode('ô;û\n', 'win1252')]));
  const opened = await openText(file, { encoding: 'auto' });
  expect(await readSmallText(file)).toBe('é;è\nç;à\nô;û\n');
  await drain(opened.text);
  expect(opened.stats).toMatchObject({ encoding: 'windows-1252', otherEncodingLines: 1, firstOtherEncodingLine: 2 });
});

test('JSON documents are not line-bounded', async () => {
  const file = path.join(dir, 'one-line.json');
  fs.writeFileSync(file, '\uFEFF{"a":"' + 'x'.repeat(50_000) + '"}');
  const s = await readSmallText(file, { lines: false, limits: { maxLineBytes: 1000 } });
  expect(JSON.parse(s).a).toHaveLength(50_000);
});

test('a zip entry read in full closes the archive', async () => {
  const file = path.join(dir, 'ok.zip');
  await zipOf({ 'a.csv': Buffer.from('x;y\n1;2\n') }, file);
  expect(await readSmallText(file, { entry: 'a.csv' })).toBe('x;y\n1;2\n');
});
