import fs from 'node:fs';
import path from 'node:path';

/** The genuine official extracts beside the repo (read-only, never copied in). */
export const SHARED_DATA = path.resolve(__dirname, '..', '..', '..', 'shared', 'data');
export const hasSharedData = fs.existsSync(path.join(SHARED_DATA, 'README.md'));

/**
 * `describe` when ../shared/data exists, else a skipped describe that says why:
 * the real-data suites run wherever the extracts are, and are skipped, visibly, elsewhere.
 */
export const describeRealData: jest.Describe = hasSharedData
  ? describe
  : (((name: string, fn: () => void) => {
      console.warn(`skipping real-data suite "${name}": ${SHARED_DATA} is absent (it holds the official extracts; see its README)`);
      return describe.skip(name, fn);
    }) as unknown as jest.Describe);

export function sharedFile(...parts: string[]): string {
  return path.join(SHARED_DATA, ...parts);
}
