import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { settings } from '../config/settings';
import { buildPacks } from '../src/packs/build';
import { readManifest } from '../src/packs/store';

// Issue 13, probe item 5: a killed build left `.tmp` files that nothing removed. A build removes
// the temporary files in the directories of the communes it owns, built or skipped as fresh.

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

const tmpFiles = (code: string) =>
  fs.existsSync(path.join(settings().PACKS_DIR, code))
    ? fs.readdirSync(path.join(settings().PACKS_DIR, code)).filter((n) => n.endsWith('.tmp'))
    : [];

test('orphan temporary files of a killed build are removed by the next build, fresh packs included', async () => {
  const log: string[] = [];
  const first = await buildPacks({ communes: ['2A004', '2A006'], log: (m) => log.push(m) });
  expect(first.built).toBe(2);
  const v = readManifest(settings().PACKS_DIR, '2A004')!.latest;
  // What a build killed between write and rename leaves: a zero-byte and a partial temporary file.
  const dir = path.join(settings().PACKS_DIR, '2A004');
  fs.writeFileSync(path.join(dir, `.${v}.zip.4242.0badc0de.tmp`), '');
  fs.writeFileSync(path.join(dir, `.latest.json.4242.0badc0de.tmp`), '{"code":');
  fs.writeFileSync(path.join(settings().PACKS_DIR, '2A006', `.x.zip.1.2.tmp`), 'PK');
  expect(tmpFiles('2A004')).toHaveLength(2);

  const second = await buildPacks({ communes: ['2A004', '2A006'], log: (m) => log.push(m) });
  expect(second.skipped).toBe(2); // both fresh: nothing rebuilt, the directories swept anyway
  expect(tmpFiles('2A004')).toEqual([]);
  expect(tmpFiles('2A006')).toEqual([]);
  expect(log).toContain('3 temporary file(s) left by an interrupted build removed');
  expect(readManifest(settings().PACKS_DIR, '2A004')!.latest).toBe(v);
});
