import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';

/**
 * The edition of the `cog` source is the COG year of the referential it publishes (the communes of the package
 * @etalab/decoupage-administratif, built by Etalab from INSEE's COG of that year), read here from the package's own
 * README table (« Année | Version du package »), not its npm version; the year of an INSEE COG file loaded beside it
 * (genuine v_commune_2024 lines, fixtures/cog/real/) is recorded with the publication, from the file.
 */
const pkgDir = path.dirname(require.resolve('@etalab/decoupage-administratif/package.json'));
const version = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version as string;
const table = fs
  .readFileSync(path.join(pkgDir, 'README.md'), 'utf8')
  .split('\n')
  .map((l) => /^\|\s*(\d{4})\s*\|\s*(\d+)\.\d+(?:\.\d+)?\s*\|/.exec(l))
  .filter((m): m is RegExpExecArray => Boolean(m));
const cogYear = table.find((m) => m[2] === version.split('.')[0])?.[1];

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

test("the cog run states the referential's COG year (the package README's millésime), and the INSEE file's year beside it", async () => {
  expect(cogYear).toMatch(/^20\d\d$/);
  const report = await runSource('cog', {
    file: path.join(__dirname, 'fixtures', 'cog', 'real', 'communes-v_commune_2024-extract.csv'),
    resource: 'communes',
    trigger: 'test',
    force: true,
    log: () => undefined,
  });
  expect(report.status).toBe('succeeded');
  expect(report.millesime).toBe(cogYear);
  expect(report.millesime).not.toBe(version);
  const { rows } = await pool().query(`select millesime, details from published_datasets where source = 'cog'`);
  expect(rows).toHaveLength(1);
  expect(rows[0].millesime).toBe(cogYear);
  expect(rows[0].details).toMatchObject({ package: version, cogInsee: 2024 });
  const runs = await pool().query(`select millesime from runs where id = $1`, [report.runId]);
  expect(runs.rows[0].millesime).toBe(cogYear);
});
