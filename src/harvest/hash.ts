import crypto from 'node:crypto';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';

/** SHA-256 and size of a file, streamed. */
export async function sha256File(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  await pipeline(fs.createReadStream(file), async function* (src) {
    for await (const chunk of src) { hash.update(chunk as Buffer); bytes += (chunk as Buffer).length; }
  });
  return { sha256: hash.digest('hex'), bytes };
}

export function sha256(data: string | Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}
