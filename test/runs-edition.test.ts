import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { resetSettings } from '../config/settings';
import { runSource } from '../src/engine/runner';
import { listRuns } from '../src/cli';

/**
 * `dotation runs` shows, for every run, the edition of the data it loaded and where that was
 * read — never a file's date. The files used here get a modification date of 2031-01-01: had any
 * run taken a file date, that day would show.
 */
const FIX = path.join(__dirname, 'fixtures');
const FILE_DAY = new Date('2031-01-01T12:00:00Z');
let db: Awaited<ReturnType<typeof freshDatabase>>;
let tmp: string;
const copy = (rel: string, name = path.basename(rel)) => {
  const to = path.join(tmp, name);
  fs.copyFileSync(path.join(FIX, rel), to);
  fs.utimesSync(to, FILE_DAY, FILE_DAY);
  return to;
};
const quiet = { trigger: 'test' as const, log: () => undefined };

beforeAll(async () => {
  db = await freshDatabase();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-edition-'));
});
afterAll(async () => db.cleanup());

test('every run shows an edition and where it was read, never a file date', async () => {
  const first = Math.max(0, ...(await listRuns(50)).map((r) => Number(r.id))) + 1;
  // Embedded default: the edition is the data's (the package's census).
  await runSource('populations', quiet);
  // A copied BAN file, its edition stated by the operator; then the same file again: unchanged, same edition.
  const ban = copy('ban/adresses-35.csv.gz');
  await runSource('ban', { ...quiet, file: ban, millesime: '2024-06-03' });
  await runSource('ban', { ...quiet, file: ban, millesime: '2024-06-03' });
  // A copied BAN file that nobody dates: refused, and no date is made up.
  await runSource('ban', { ...quiet, file: ban, force: true }).catch(() => undefined);
  // A france-geojson copy found in the mirror: COG 2018, stated by its declaration.
  process.env.MIRROR_DIR = path.join(FIX, 'contours');
  resetSettings();
  try {
    await runSource('contours', quiet);
  } finally {
    process.env.MIRROR_DIR = '';
    resetSettings();
  }
  // A BAN copy in the mirror, dated by the editions.json an operator wrote beside it.
  const mirror = fs.mkdtempSync(path.join(tmp, 'mirror-'));
  fs.mkdirSync(path.join(mirror, 'ban'));
  fs.copyFileSync(path.join(FIX, 'ban', 'adresses-974.csv.gz'), path.join(mirror, 'ban', 'adresses-974.csv.gz'));
  fs.utimesSync(path.join(mirror, 'ban', 'adresses-974.csv.gz'), FILE_DAY, FILE_DAY);
  fs.writeFileSync(path.join(mirror, 'ban', 'editions.json'), JSON.stringify({ 'adresses-974.csv.gz': '2024-05-27' }));
  process.env.MIRROR_DIR = mirror;
  resetSettings();
  try {
    await runSource('ban', quiet);
  } finally {
    process.env.MIRROR_DIR = '';
    resetSettings();
  }
  // Births: the edition is the last year in the data.
  await runSource('etat-civil', { ...quiet, file: copy('etat-civil/DS_ETAT_CIVIL_NAIS_COMMUNES_CSV_FR.zip') });

  const runs = (await listRuns(20))
    .filter((r) => Number(r.id) >= first)
    .reverse()
    .map((r) => [r.source, r.status, r.edition, r.from]);
  expect(runs).toEqual([
    ['populations', 'succeeded', expect.stringMatching(/^\d{4}$/), 'data'],
    ['ban', 'succeeded', '2024-06-03', 'operator (--millesime)'],
    ['ban', 'unchanged', '2024-06-03', 'operator (--millesime)'],
    ['ban', 'failed', null, ''],
    ['contours', 'succeeded', '2018', 'declaration'],
    ['ban', 'succeeded', '2024-05-27', 'operator (editions.json)'],
    ['etat-civil', 'succeeded', '2024', 'data'],
  ]);
  const today = new Date().toISOString().slice(0, 10);
  for (const [, , edition] of runs) expect([today, '2031-01-01']).not.toContain(edition);
});
