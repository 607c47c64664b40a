import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { unzip } from './helpers/zip';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { buildPacks } from '../src/packs/build';
import { readManifest } from '../src/packs/store';
import { settings } from '../config/settings';
import { editionKey, parseEdition } from '../src/engine/edition';

/**
 * Typed editions end to end: "latest" is chronological in the database and in the packs, and a
 * newer scrutin loaded after an older one rebuilds the packs that cite it.
 */
const FIX = path.join(__dirname, 'fixtures', 'elections');
const PRES = path.join(FIX, 'resultats-par-niveau-subcom-t1-france-entiere.txt');
const MUNI = path.join(FIX, 'municipales-2026-resultats-communes-2026-03-20.csv');
const CODES = ['01001', '69123'];
const quiet = { trigger: 'test' as const, log: () => undefined };

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

/** The elections entry of `sources` in the commune's latest datapackage.json. */
async function electionsVersion(code: string): Promise<string | undefined> {
  const m = readManifest(settings().PACKS_DIR, code)!;
  const files = await unzip(path.join(settings().PACKS_DIR, code, m.versions[0].file));
  const dp = JSON.parse(files.get('datapackage.json')!.toString('utf8'));
  return dp.sources.find((s: { title: string }) => /élections/i.test(s.title))?.version;
}

describe('typed editions', () => {
  test('the SQL key of labels published before migration 004 agrees with src/engine/edition.ts', async () => {
    const labels = [
      '2021',
      '2024_T1',
      '2024_T3',
      '2024_T4',
      '2024-09-24',
      'presidentielle-2022-t2',
      'europeennes-2024',
      '2026-08',
      'ofgl-2023',
      'dgfip-2022',
    ];
    const { rows } = await pool().query(`select l, (edition_key_from_label(l)).* from unnest($1::text[]) l`, [labels]);
    for (const r of rows)
      expect({ label: r.l, kind: r.kind, key: r.key }).toEqual({
        label: r.l,
        kind: parseEdition(r.l).kind,
        key: editionKey(parseEdition(r.l)),
      });
  });

  test('présidentielle 2022 then municipales 2026: the packs cite 2026 as the latest, and the second load rebuilds them', async () => {
    expect(await runSource('elections', { ...quiet, file: PRES, resource: 'presidentielle-2022-t1' })).toMatchObject({
      status: 'succeeded',
    });
    const first = await buildPacks({ communes: CODES, log: () => undefined });
    expect(first).toMatchObject({ built: CODES.length, failed: 0 });
    for (const c of CODES) expect(await electionsVersion(c)).toBe('presidentielle-2022-t1');

    expect(await runSource('elections', { ...quiet, file: MUNI, resource: 'municipales-2026-t1' })).toMatchObject({ status: 'succeeded' });
    // As text, the older présidentielle would still be the "latest".
    const { rows: text } = await pool().query(`select max(millesime) as m from published_datasets where source = 'elections'`);
    expect(text[0].m).toBe('presidentielle-2022-t1');
    const { rows: latest } = await pool().query(`select latest_edition('elections') as m`);
    expect(latest[0].m).toBe('municipales-2026-t1');

    const second = await buildPacks({ communes: CODES, log: () => undefined });
    expect(second).toMatchObject({ built: CODES.length, unchanged: 0, failed: 0 });
    for (const c of CODES) expect(await electionsVersion(c)).toBe('municipales-2026-t1');
    // The packs hold both scrutins.
    const m = readManifest(settings().PACKS_DIR, '69123')!;
    const files = await unzip(path.join(settings().PACKS_DIR, '69123', m.versions[0].file));
    const csv = [...files.entries()].find(([n]) => /^election/.test(n) && n.endsWith('.csv'))![1].toString('utf8');
    expect(csv).toMatch(/presidentielle-2022/);
    expect(csv).toMatch(/municipales-2026/);
  });

  test('reloading the older scrutin keeps 2026 as the latest, and its communes are read again (its rows could have changed)', async () => {
    expect(await runSource('elections', { ...quiet, file: PRES, resource: 'presidentielle-2022-t1', force: true })).toMatchObject({
      status: 'succeeded',
    });
    const third = await buildPacks({ communes: CODES, log: () => undefined });
    // Same file, same rows: the packs are unchanged, but they were read again, not skipped on the sources key.
    expect(third).toMatchObject({ built: 0, unchanged: CODES.length, skipped: 0, failed: 0 });
    for (const c of CODES) expect(await electionsVersion(c)).toBe('municipales-2026-t1');
  });
});
