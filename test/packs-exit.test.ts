import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from './helpers/db';

/**
 * `dotation packs build` exits non-zero when any pack failed (issue 13, probe 5: "44 built, 80 failed"
 * with exit 0). A pack is made to fail by a regular file standing where its directory must be
 * (mkdir fails as it does on a read-only or broken mount); the other pack is built.
 */
const root = path.resolve(__dirname, '..');
let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

function dotation(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', 'src/cli.ts', ...args], {
    cwd: root,
    env: { ...process.env, ...db.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('packs build: exit 1 and the failed pack named on stderr when a pack fails; exit 0 once it builds', () => {
  const packs = db.env.PACKS_DIR;
  fs.mkdirSync(packs, { recursive: true });
  fs.writeFileSync(path.join(packs, '35238'), 'not a directory');
  const failed = dotation(['packs', 'build', '--commune', '35238', '--commune', '35062']);
  expect(failed.stdout).toMatch(/1 pack\(s\) built, 0 unchanged, 1 failed/);
  expect(failed.stderr).toMatch(/pack 35238: /);
  expect(failed.status).toBe(1);

  fs.rmSync(path.join(packs, '35238'));
  const ok = dotation(['packs', 'build', '--commune', '35238', '--commune', '35062']);
  expect(ok.stdout).toMatch(/1 pack\(s\) built, 1 unchanged/);
  expect(ok.status).toBe(0);
});
