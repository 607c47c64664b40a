import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';

export const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function dbUrl(name: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Environment every test runs with: no network, no implicit mirror, private dirs. */
export function baseTestEnv(): Record<string, string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-test-'));
  return {
    NETWORK: 'never',
    MIRROR_DIR: '',
    DATA_DIR: path.join(dir, 'data'),
    PACKS_DIR: path.join(dir, 'packs'),
    QUEUE_PREFIX: `dotation-test-${crypto.randomBytes(4).toString('hex')}`,
    LOG_LEVEL: 'silent',
  };
}
