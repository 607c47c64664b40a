import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yauzl from 'yauzl';
import { zipFiles, readZipEntries } from '../../src/packs/zip';

// Packs are ZIPs written by yazl with its CRC-32 computed by zlib.crc32 (see src/packs/zip.ts):
// the checksums in the archive must still be those of the data.

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
