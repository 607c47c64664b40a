import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { sourceRegistry } from '../config/sources';
import { resetSettings, settings } from '../config/settings';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { enqueueRun, closeQueues, runsQueue } from '../src/queue/queue';
import { startWorker } from '../src/queue/worker';
import { closeRedisConnections } from '../src/queue/connection';
import { buildPacks } from '../src/packs/build';
import { readManifestAsync, versionPath } from '../src/packs/store';
import { readZipEntries } from '../src/packs/zip';
import { validateCsv } from '../src/packs/format';

/**
 * The seven statistical sources together: each is run through the BullMQ worker from a mirror
 * holding their fixtures under upstream names, then packs are built and every CSV they hold is
 * validated against the Table Schema declared in the pack's datapackage.json.
 */
const SOURCES = ['recensement', 'etat-civil', 'equipements', 'elections', 'budgets', 'arcep', 'atmo'];
const FIXTURES = path.join(__dirname, 'fixtures');
const COMMUNES = ['01001', '69149', '2A004', '75056'];

let db: Awaited<ReturnType<typeof freshDatabase>>;
let stopWorker: (() => Promise<void>) | undefined;

beforeAll(async () => {
  db = await freshDatabase();
  // A mirror with one folder per source, as an operator would lay out upstream files.
  const mirror = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-mirror-'));
  for (const s of SOURCES) fs.symlinkSync(path.join(FIXTURES, s), path.join(mirror, s));
  process.env.MIRROR_DIR = mirror;
  resetSettings();
  await runSource('populations', { trigger: 'test', log: () => undefined }); // embedded default
  const w = await startWorker({ concurrency: 2, log: () => undefined, handleSignals: false } as Parameters<typeof startWorker>[0]);
  stopWorker = w.close;
}, 180000);

afterAll(async () => {
  await stopWorker?.();
  await runsQueue()
    .obliterate({ force: true })
    .catch(() => undefined);
  await closeQueues();
  await closeRedisConnections();
  await db.cleanup();
});

async function waitForRuns(
  n: number,
  timeoutMs: number,
): Promise<{ source: string; status: string; error: string | null; rows_read: number; rows_loaded: number; rows_rejected: number }[]> {
  const t0 = Date.now();
  for (;;) {
    const { rows } = await pool().query(
      `select source, status, error, rows_read, rows_loaded, rows_rejected from runs
        where trigger = 'worker' and status in ('succeeded', 'failed', 'unchanged') order by source`,
    );
    if (rows.length >= n || Date.now() - t0 > timeoutMs) return rows;
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('the seven statistical sources, through the worker, into the packs', () => {
  test('each pipeline runs through the worker from the mirror and its rows add up', async () => {
    for (const s of SOURCES) await enqueueRun(s, { trigger: 'test', attempts: 1 });
    const runs = await waitForRuns(SOURCES.length, 150000);
    expect(runs.map((r) => r.source).sort()).toEqual([...SOURCES].sort());
    for (const r of runs) {
      expect({ source: r.source, status: r.status, error: r.error }).toEqual({ source: r.source, status: 'succeeded', error: null });
      expect(r.rows_read).toBe(r.rows_loaded + r.rows_rejected);
      expect(r.rows_loaded).toBeGreaterThan(0);
    }
  }, 200000);

  test('a pack built after them holds their files, and datapackage.json validates every CSV', async () => {
    const report = await buildPacks({ communes: COMMUNES, log: () => undefined });
    expect(report.failed).toBe(0);
    const rowsBySource = new Map<string, number>();
    for (const code of COMMUNES) {
      const manifest = await readManifestAsync(settings().PACKS_DIR, code);
      expect(manifest).toBeTruthy();
      const entries = await readZipEntries(versionPath(settings().PACKS_DIR, code, manifest!.versions[0].version));
      const dp = JSON.parse(entries.get('datapackage.json')!.toString('utf8'));
      const sourcesInPack = new Set<string>();
      for (const res of dp.resources as {
        path: string;
        format: string;
        schema?: Parameters<typeof validateCsv>[1];
        sources?: { title: string }[];
      }[]) {
        const data = entries.get(res.path);
        expect(data).toBeDefined();
        if (res.format !== 'csv' || !res.schema) continue;
        expect({ file: `${code}/${res.path}`, errors: validateCsv(data!.toString('utf8'), res.schema) }).toEqual({
          file: `${code}/${res.path}`,
          errors: [],
        });
        const source = SOURCES.find((s) => res.path.startsWith(s.replace('-', '_')) || res.path.startsWith(s)) ?? sourceOfFile(res.path);
        if (source) {
          sourcesInPack.add(source);
          const lines = data!.toString('utf8').split('\n').filter(Boolean).length - 1;
          rowsBySource.set(source, (rowsBySource.get(source) ?? 0) + lines);
        }
      }
      // Every pack carries a file for each of the seven sources (with its header even when the commune has no row).
      expect([...sourcesInPack].sort()).toEqual([...SOURCES].sort());
    }
    // And across these communes every source contributes data rows.
    for (const s of SOURCES) expect({ source: s, hasRows: (rowsBySource.get(s) ?? 0) > 0 }).toEqual({ source: s, hasRows: true });
  }, 200000);
});

/** Source of a pack file, from the pack sections' table names. */
function sourceOfFile(file: string): string | undefined {
  for (const [id, p] of sourceRegistry()) {
    if (!SOURCES.includes(id)) continue;
    if (p.pack?.tables.some((t) => `${t.name}.csv` === file)) return id;
  }
  return undefined;
}
