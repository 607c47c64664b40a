import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { unzip } from './helpers/zip';
import { pool } from '../src/db/pool';
import os from 'node:os';
import { resetSettings, settings } from '../config/settings';
import { runSource } from '../src/engine/runner';
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

describe('dotation start with a mirror laid out like ../shared/data, a genuine file under real/<source>/', () => {
  // Made-up mirror: the synthetic births zip of test/fixtures/etat-civil copied where ../shared/data keeps
  // INSEE's genuine births file (real/etat-civil/DS_ETAT_CIVIL_NAIS_COMMUNES.zip); no deaths file, as there.
  const mirror = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-mirror-'));
  const births = path.join(__dirname, 'fixtures', 'etat-civil', 'DS_ETAT_CIVIL_NAIS_COMMUNES_CSV_FR.zip');
  const genuine = path.join(mirror, 'real', 'etat-civil', 'DS_ETAT_CIVIL_NAIS_COMMUNES.zip');
  beforeAll(() => {
    fs.mkdirSync(path.dirname(genuine), { recursive: true });
    fs.copyFileSync(births, genuine);
    fs.writeFileSync(path.join(mirror, 'real', 'README.md'), 'Genuine upstream files (made-up test mirror).\n');
    process.env.MIRROR_DIR = mirror;
    resetSettings();
  });
  afterAll(() => {
    process.env.MIRROR_DIR = '';
    resetSettings();
    fs.rmSync(mirror, { recursive: true, force: true });
  });

  test('état civil is loaded from real/etat-civil/, births alone (no deaths file in the mirror)', async () => {
    const lines: string[] = [];
    const code = await start({ serve: false, progress: false, log: (m) => lines.push(m), communes: ['19248'] });
    expect(code).toBe(0);
    const { rows: runs } = await pool().query(
      `select r.status, r.millesime, p.resource, p.origin, p.path from runs r join provenance p on p.run_id = r.id
        where r.trigger = 'start' and r.source = 'etat-civil'`,
    );
    expect(runs).toEqual([{ status: 'succeeded', millesime: '2024', resource: 'naissances', origin: 'mirror', path: genuine }]);
    expect(lines.filter((l) => l.startsWith('[etat-civil]') && /skipped|failed/.test(l))).toEqual([]);
    const { rows } = await pool().query(
      `select naissances, deces from etat_civil where millesime = '2024' and code_commune = '19248' and annee = 2024`,
    );
    expect(rows).toEqual([{ naissances: 6, deces: null }]);
    const { rows: pub } = await pool().query(`select details from published_datasets where source = 'etat-civil'`);
    expect(pub[0].details).toMatchObject({ seul: 'naissances', absents: ['deces'] });
    // The pack says why its deaths column is empty.
    const manifest = JSON.parse(fs.readFileSync(path.join(settings().PACKS_DIR, '19248', 'latest.json'), 'utf8'));
    const files = await unzip(path.join(settings().PACKS_DIR, '19248', manifest.versions[0].file));
    expect(files.get('LISEZMOI.md')!.toString('utf8')).toContain(
      "Les décès ne figurent pas dans cette édition : seul le fichier des naissances de l'INSEE a été chargé.",
    );
  });

  test('for one name, a copy the operator put in the mirror (<mirror>/etat-civil/) comes before real/', async () => {
    const operator = path.join(mirror, 'etat-civil', 'DS_ETAT_CIVIL_NAIS_COMMUNES.zip');
    fs.mkdirSync(path.dirname(operator), { recursive: true });
    fs.copyFileSync(births, operator);
    const r = await runSource('etat-civil', { trigger: 'test', force: true, log: () => undefined });
    expect(r.files.map((f) => [f.resource, f.origin, f.path])).toEqual([['naissances', 'mirror', operator]]);
  });
});
