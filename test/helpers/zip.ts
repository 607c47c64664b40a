import yauzl from 'yauzl';

/** Every entry of a ZIP on disk, read with yauzl (independent of the ZIP writer under test). */
export async function unzip(file: string): Promise<Map<string, Buffer>> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true });
  const out = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', async (e: yauzl.Entry) => {
      try {
        const chunks: Buffer[] = [];
        for await (const c of await zip.openReadStreamPromise(e)) chunks.push(c as Buffer);
        out.set(e.fileName, Buffer.concat(chunks));
        zip.readEntry();
      } catch (err) {
        reject(err);
      }
    });
    zip.on('end', resolve);
    zip.on('error', reject);
    zip.readEntry();
  });
  return out;
}
