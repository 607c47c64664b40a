import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { zipFiles, readZipEntries } from '../../src/packs/zip';

// Packs are ZIPs written by src/packs/zip.ts with each entry's CRC-32 computed by zlib.crc32:
// the checksums in the archive must be those of the data.

test('ZIP entries carry the CRC-32 of their data, and the same files give the same bytes', async () => {
  const files = [
    { name: 'petit.csv', data: Buffer.from('a;b\r\n1;2\r\n') },
    { name: 'vide.csv', data: Buffer.alloc(0) },
    { name: 'gros.bin', data: crypto.randomBytes(3_000_000) },
  ];
  const zip = await zipFiles(files);
  expect((await zipFiles(files)).equals(zip)).toBe(true);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'zip-')), 'p.zip');
  fs.writeFileSync(file, zip);
  const z = await yauzl.openPromise(file, { lazyEntries: true });
  const crcs = new Map<string, number>();
  await new Promise<void>((resolve, reject) => {
    z.on('entry', (e: yauzl.Entry) => {
      crcs.set(e.fileName, e.crc32);
      z.readEntry();
    });
    z.on('end', resolve);
    z.on('error', reject);
    z.readEntry();
  });
  z.close();
  for (const f of files) {
    // Reference value from a plain table-driven CRC-32, independent of the one yazl used.
    let c = ~0;
    for (const byte of f.data) {
      c ^= byte;
      for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
    }
    expect(crcs.get(f.name)).toBe(~c >>> 0);
  }
  const back = await readZipEntries(file);
  for (const f of files) expect(back.get(f.name)!.equals(f.data)).toBe(true);
});

/** yazl 3, the writer the packs used before src/packs/zip.ts, with the packs' options: the reference. */
function yazlZip(files: { name: string; data: Buffer }[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const zip = new yazl.ZipFile();
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('error', reject);
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    for (const f of files)
      zip.addBuffer(f.data, f.name, { mtime: new Date(2000, 0, 1, 0, 0, 0), mode: 0o100644, compressionLevel: 3, forceDosTimestamp: true });
    zip.end();
  });
}

test("the packs' ZIPs are byte for byte what yazl writes for the same files and options", async () => {
  const text = (n: number) =>
    Buffer.from(Array.from({ length: n }, (_, i) => `35238;rue de la Mairie ${i % 97};${i};48.11;-1.68\n`).join(''));
  const sets = [
    [{ name: 'LISEZMOI.md', data: Buffer.from('# Données ouvertes de Rennes\n\nÉdition 2026.\n') }],
    [
      { name: 'vide.csv', data: Buffer.alloc(0) },
      { name: 'données é.csv', data: text(10) },
      { name: 'dossier/adresses.csv', data: text(20_000) }, // ≥ 256 KB: deflated on libuv's threads
      { name: 'bruit.bin', data: crypto.randomBytes(300_000) },
      { name: 'petit.json', data: Buffer.from('{}\n') },
    ],
  ];
  for (const files of sets) expect((await zipFiles(files)).equals(await yazlZip(files))).toBe(true);
});

test('an entry name that would escape the folder is refused', async () => {
  for (const name of ['/etc/passwd', '../x.csv', 'a/../../x', 'a\\b.csv', ''])
    await expect(zipFiles([{ name, data: Buffer.from('x') }])).rejects.toThrow(/not allowed/);
});
