import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { settings } from '../config/settings';
import { start } from '../src/start';
import { buildServer } from '../src/server/app';

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase({ NETWORK: 'never', MIRROR_DIR: '' });
});
afterAll(async () => db.cleanup());

describe('dotation start (no mirror, no network: embedded defaults)', () => {
  test('loads cog and populations, builds the packs and serves them', async () => {
    const lines: string[] = [];
    // Packs limited to two communes to keep the test short; `npm start` builds all of them.
    const code = await start({ serve: false, progress: false, log: (m) => lines.push(m), communes: ['35238', '75056'] });
    expect(code).toBe(0);
    const { rows } = await pool().query(
      `select source, status from runs where trigger = 'start' and source in ('cog', 'populations') order by id`,
    );
    expect(rows).toEqual([
      { source: 'cog', status: 'succeeded' },
      { source: 'populations', status: 'succeeded' },
    ]);
    const {
      rows: [pop],
    } = await pool().query(`select pmun from population_legale where code_commune = '35238'`);
    expect(pop.pmun).toBeGreaterThan(200000);
    const manifest = JSON.parse(fs.readFileSync(path.join(settings().PACKS_DIR, '35238', 'latest.json'), 'utf8'));
    expect(fs.existsSync(path.join(settings().PACKS_DIR, '35238', manifest.versions[0].file))).toBe(true);

    const app = await buildServer();
    try {
      const res = await app.inject({ method: 'GET', url: '/communes/35238/pack.zip' });
      expect(res.statusCode).toBe(200);
      expect(res.headers.etag).toBe(`"${manifest.versions[0].sha256}"`);
    } finally {
      await app.close();
    }
  });
});
