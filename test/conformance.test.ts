import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { conformanceProblems, provenanceProblem, type ConformanceEnv } from './helpers/conformance';
import { loadRegistry, pipelineOrder, sourceRegistry } from '../config/sources';
import { resetSettings, settings } from '../config/settings';
import { pool } from '../src/db/pool';
import { runSource, type RunReport } from '../src/engine/runner';
import { enqueueRun, closeQueues, runsQueue } from '../src/queue/queue';
import { startWorker } from '../src/queue/worker';
import { closeRedisConnections } from '../src/queue/connection';

/**
 * Pipeline conformance: every folder of `pipelines/` (the registry, not a list kept by hand) is
 * run through the BullMQ worker on its fixture folder, in `dotation start` order, and checked:
 * fixtures laid out as a mirror, rows that add up, pack queries returning code_commune and the
 * declared fields by name, sliceVersion's shape, built CSVs valid against their Table Schema.
 * A pipeline that does not conform fails with a message saying what to add (shown below on a
 * registry of two pipelines made for the test).
 */
const ROOT = path.resolve(__dirname, '..');
const FIXTURES = path.join(__dirname, 'fixtures');

let db: Awaited<ReturnType<typeof freshDatabase>>;
let stopWorker: (() => Promise<void>) | undefined;
let work: string;

beforeAll(async () => {
  db = await freshDatabase();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-conformance-'));
  // The worker reads MIRROR_DIR from the settings: one mirror path, re-filled for each pipeline.
  process.env.MIRROR_DIR = path.join(work, 'mirror');
  resetSettings();
  const w = await startWorker({ concurrency: 1, packs: false, log: () => undefined, handleSignals: false });
  stopWorker = w.close;
}, 120000);

afterAll(async () => {
  await stopWorker?.();
  await runsQueue()
    .obliterate({ force: true })
    .catch(() => undefined);
  await closeQueues();
  await closeRedisConnections();
  await db.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

/**
 * The edition of fixtures whose files state none: a copied BAN file carries no date and a renamed
 * IRIS GeoPackage no year, so the run is told, as an operator tells it (--millesime).
 */
const STATED_EDITION: Record<string, string> = { ban: '2024-06-21', iris: '2025' };

/** Runs a source through the worker and reads its run back from the ledger. */
async function runThroughWorker(id: string): Promise<RunReport> {
  const job = await enqueueRun(id, { trigger: 'test', attempts: 1, millesime: STATED_EDITION[id] });
  const t0 = Date.now();
  for (;;) {
    const { rows } = await pool().query(
      `select id, status, error, millesime, bytes, rows_read, rows_loaded, rows_rejected, rows_published from runs
        where job_id = $1 and status in ('succeeded', 'failed', 'unchanged')`,
      [job.id],
    );
    if (rows.length) {
      const r = rows[0];
      return {
        runId: Number(r.id),
        source: id,
        status: r.status,
        millesime: r.millesime,
        bytes: Number(r.bytes),
        files: [],
        read: Number(r.rows_read),
        loaded: Number(r.rows_loaded),
        rejected: Number(r.rows_rejected),
        published: Number(r.rows_published),
        error: r.error ?? undefined,
      };
    }
    if (Date.now() - t0 > 170000) throw new Error(`job ${job.id} of ${id} did not end in time`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('every pipeline conforms (registry order)', () => {
  test('the registry is every folder of pipelines/ with an index.ts', () => {
    const folders = fs.readdirSync(path.join(ROOT, 'pipelines')).filter((d) => fs.existsSync(path.join(ROOT, 'pipelines', d, 'index.ts')));
    expect([...sourceRegistry().keys()].sort()).toEqual(folders.sort());
  });

  test('every fixture folder says where its bytes come from: real/ with PROVENANCE.md, or a README saying none was found and naming the documentation', () => {
    const problems = pipelineOrder()
      .map((id) => provenanceProblem(`pipelines/${id}`, path.join(FIXTURES, id)))
      .filter((p): p is string => Boolean(p));
    expect(problems).toEqual([]);
  });

  for (const id of pipelineOrder()) {
    test(`${id}`, async () => {
      const env: ConformanceEnv = {
        db: pool(),
        fixturesRoot: FIXTURES,
        workDir: work,
        packsDir: settings().PACKS_DIR,
        run: (source) => runThroughWorker(source),
      };
      expect(await conformanceProblems(id, sourceRegistry().get(id)!, env)).toEqual([]);
    }, 180000);
  }
});

describe('a pipeline that does not conform is told what is missing (a registry made for the test)', () => {
  let registryRoot: string;
  beforeAll(async () => {
    registryRoot = path.join(work, 'registry');
    const declaration = (id: string) => `{
      id: '${id}', title: 'Démonstration', producer: 'Test', format: 'csv', schedule: '0 5 * * *',
      licence: { id: 'lov2', title: 'Licence Ouverte', url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/' },
      landingPage: 'https://example.org/', millesime: '2024',
      resources: [{ name: 'demo', url: 'https://example.org/demo.csv', page: 'https://example.org/', mirrorNames: ['demo.csv'] }],
    }`;
    const src = (m: string) => JSON.stringify(path.join(ROOT, 'src', m));
    fs.mkdirSync(path.join(registryRoot, 'pipelines', 'sans-fixture'), { recursive: true });
    fs.writeFileSync(
      path.join(registryRoot, 'pipelines', 'sans-fixture', 'index.ts'),
      `export const pipeline = { source: ${declaration('sans-fixture')}, load: async () => undefined };\n`,
    );
    // Loads demo.csv (code;valeur), re-codes it and publishes it; its pack table declares 'valeur' but the query forgets it.
    fs.mkdirSync(path.join(registryRoot, 'pipelines', 'champ-manquant'), { recursive: true });
    fs.writeFileSync(
      path.join(registryRoot, 'pipelines', 'champ-manquant', 'index.ts'),
      `const { loadCsv } = require(${src('engine/load-csv')});
const { recode } = require(${src('communes/recode')});
export const pipeline = {
  source: ${declaration('champ-manquant')},
  async load(ctx) {
    const staging = await ctx.staging('demo', { code: 'text', valeur: 'int', fichier: 'text', line: 'bigint', raw: 'text' });
    await loadCsv(ctx, {
      file: ctx.files.get('demo'), encoding: 'utf8', dialect: { delimiter: ';' }, staging, required: ['code', 'valeur'],
      row: (get, line, values) => ({ code: get('code'), valeur: Number(get('valeur')), fichier: 'demo.csv', line, raw: values.join(';') }),
    });
    const { map } = await recode(ctx, staging, { cog: 2024, column: 'code', split: 'keep-on-code', plm: 'both' });
    await ctx.publish('2024', async (tx) => {
      await tx.query('delete from demo_valeur');
      const r = await tx.query('insert into demo_valeur select m.code_actuel, sum(s.valeur) from ' + staging.qualified + ' s join ' + map + ' m on m.code = s.code group by 1');
      return r.rowCount;
    });
  },
  pack: {
    tables: [{ name: 'demo', title: 'Démo', description: 'Démo', fields: [{ name: 'valeur', type: 'integer', title: 'Valeur', description: 'Valeur' }],
               query: 'select code_commune, 2024 as annee from demo_valeur where code_commune = any($1::text[])' }],
    readme: () => '## Démo',
  },
};
`,
    );
    fs.mkdirSync(path.join(registryRoot, 'fixtures', 'champ-manquant'), { recursive: true });
    fs.writeFileSync(path.join(registryRoot, 'fixtures', 'champ-manquant', 'demo.csv'), 'code;valeur\n01001;12\n35238;30\n');
    fs.writeFileSync(
      path.join(registryRoot, 'fixtures', 'champ-manquant', 'README.md'),
      '# Démo — SYNTHETIC\n\nNo genuine file was found. The layout comes from the producer documentation (https://example.org/).\n',
    );
    // A fixture with a file under its upstream name, but neither real/ nor a README saying where it comes from.
    fs.mkdirSync(path.join(registryRoot, 'pipelines', 'sans-provenance'), { recursive: true });
    fs.writeFileSync(
      path.join(registryRoot, 'pipelines', 'sans-provenance', 'index.ts'),
      `export const pipeline = { source: ${declaration('sans-provenance')}, load: async () => undefined };\n`,
    );
    fs.mkdirSync(path.join(registryRoot, 'fixtures', 'sans-provenance', 'real'), { recursive: true });
    fs.writeFileSync(path.join(registryRoot, 'fixtures', 'sans-provenance', 'demo.csv'), 'code;valeur\n01001;12\n');
    fs.writeFileSync(path.join(registryRoot, 'fixtures', 'sans-provenance', 'real', 'demo-extract.csv'), 'code;valeur\n01001;12\n');
    await pool().query(`create table demo_valeur (code_commune text, valeur int)`);
  });

  const env = (): ConformanceEnv => ({
    db: pool(),
    fixturesRoot: path.join(registryRoot, 'fixtures'),
    workDir: path.join(work, 'registry-work'),
    run: (id, pipeline, mirror) =>
      runSource(id, { pipeline, settings: { ...settings(), MIRROR_DIR: mirror }, trigger: 'test', log: () => undefined }),
  });

  test('the registry can be loaded from another folder', () => {
    expect([...loadRegistry(path.join(registryRoot, 'pipelines')).keys()]).toEqual(['champ-manquant', 'sans-fixture', 'sans-provenance']);
  });

  test('without a fixture folder: says which folder to add and what to put in it', async () => {
    const p = loadRegistry(path.join(registryRoot, 'pipelines')).get('sans-fixture')!;
    const problems = await conformanceProblems('sans-fixture', p, env());
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^pipelines\/sans-fixture: no fixture folder\. Add .*fixtures\/sans-fixture\/ with small files named as the resources .*\(mirrorNames: demo\.csv\)/,
    );
  });

  test('neither genuine lines (real/ with PROVENANCE.md) nor a README saying none was found and where the layout came from: fails, saying what to add', async () => {
    const p = loadRegistry(path.join(registryRoot, 'pipelines')).get('sans-provenance')!;
    const problems = await conformanceProblems('sans-provenance', p, env());
    expect(problems).toContainEqual(
      expect.stringMatching(
        /^pipelines\/sans-provenance: .*fixtures\/sans-provenance\/ does not say where its bytes come from\. Put genuine whole-line extracts .*real\/ with a PROVENANCE\.md.*or say in .*README\.md that no genuine file was found and where the layout .*\(there is no README\)/,
      ),
    );
    // A real/ folder without its PROVENANCE.md does not count; a README saying only "synthetic" does not either.
    fs.writeFileSync(
      path.join(registryRoot, 'fixtures', 'sans-provenance', 'README.md'),
      '# Demo fixtures — SYNTHETIC\n\nInvented rows.\n',
    );
    expect(await conformanceProblems('sans-provenance', p, env())).toContainEqual(
      expect.stringMatching(/no sentence like « No genuine … file was found »/),
    );
    // Saying none was found and that the layout comes "from the documentation" without naming it does not either.
    fs.writeFileSync(
      path.join(registryRoot, 'fixtures', 'sans-provenance', 'README.md'),
      '# Demo fixtures — SYNTHETIC\n\nNo genuine file was found. The layout comes from the documentation.\n',
    );
    expect(await conformanceProblems('sans-provenance', p, env())).toContainEqual(
      expect.stringMatching(/does not say where its bytes come from.*it names no documentation/),
    );
    // Naming it (a link, a code-id, a repository file at a commit) does.
    fs.writeFileSync(
      path.join(registryRoot, 'fixtures', 'sans-provenance', 'README.md'),
      '# Demo fixtures — SYNTHETIC\n\nNo genuine file was found. The layout comes from the producer documentation (https://example.org/doc).\n',
    );
    expect(await conformanceProblems('sans-provenance', p, env())).not.toContainEqual(
      expect.stringMatching(/does not say where its bytes come from/),
    );
    fs.writeFileSync(
      path.join(registryRoot, 'fixtures', 'sans-provenance', 'README.md'),
      '# Demo fixtures — SYNTHETIC\n\nInvented rows.\n',
    );
    // Either form of provenance satisfies it.
    fs.writeFileSync(
      path.join(registryRoot, 'fixtures', 'sans-provenance', 'real', 'PROVENANCE.md'),
      '# provenance\n\nOrigin: example/repo@abc, demo.csv, whole lines.\n',
    );
    expect(await conformanceProblems('sans-provenance', p, env())).not.toContainEqual(
      expect.stringMatching(/does not say where its bytes come from/),
    );
  });

  test('a pack query missing a declared field: names the table and the column', async () => {
    const p = loadRegistry(path.join(registryRoot, 'pipelines')).get('champ-manquant')!;
    const problems = await conformanceProblems('champ-manquant', p, env());
    expect(problems).toEqual([
      expect.stringMatching(
        /^pipelines\/champ-manquant\/pack\.ts table 'demo': the pack query must return columns code_commune, valeur .*missing: valeur; unexpected: annee/,
      ),
    ]);
  });
});
