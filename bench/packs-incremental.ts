/**
 * Incremental pack rebuild after one département's data changed, against a full build.
 *
 *   npx tsx bench/packs-incremental.ts          # writes its section of BENCHMARKS.md
 *
 * Uses its own database (dotation_bench_packs_incr: referential + embedded populations) and a
 * temporary PACKS_DIR. Steps:
 *   1. full build of every pack (inline buildPacks, 2 départements at once);
 *   2. for départements of different sizes (2A, 35, 62): bump population_legale of all their
 *      communes (what a reload of that département's data does to the packs), then rebuild only
 *      that département (`dotation packs build --departement D`): time ∝ communes touched;
 *   3. the same change, then a full rescan (`dotation packs build`): the fingerprints find the
 *      touched communes, but every commune's rows are still read;
 *   4. the same change, then the queued fan-out of that département (`--queue --departement 35`)
 *      processed by an in-process worker: the queue's overhead on top of step 2.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resetSettings, settings } from '../config/settings';
import { closePools, pool } from '../src/db/pool';
import { migrate } from '../src/db/migrate';
import { runSource } from '../src/engine/runner';
import { buildPacks, BuildReport } from '../src/packs/build';
import { machine, measure, freshDb, writeBenchmarkSection } from './measure';

const DB = 'dotation_bench_packs_incr';

async function touch(dep: string): Promise<number> {
  const { rowCount } = await pool().query(
    `update population_legale set pmun = pmun + 1, ptot = ptot + 1
      where code_commune in (select code from communes where departement = $1)`,
    [dep],
  );
  return rowCount ?? 0;
}

interface Row {
  step: string;
  seconds: number;
  communes: number;
  built: number;
  unchanged: number;
  msPerCommune: number;
}

async function main(): Promise<void> {
  const started = new Date();
  const url = await freshDb(DB);
  const packsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-bench-incr-'));
  Object.assign(process.env, {
    DATABASE_URL: url,
    PACKS_DIR: packsDir,
    MIRROR_DIR: '',
    NETWORK: 'never',
    LOG_LEVEL: 'silent',
    QUEUE_PREFIX: `dotation-bench-${process.pid}`,
  });
  resetSettings();
  await migrate(url);
  for (const id of ['cog', 'populations']) await runSource(id, { trigger: 'cli', log: () => undefined });
  const rows: Row[] = [];
  const push = (step: string, seconds: number, r: Pick<BuildReport, 'built' | 'unchanged' | 'failed'>) => {
    const n = r.built + r.unchanged + r.failed;
    rows.push({
      step,
      seconds,
      communes: n,
      built: r.built,
      unchanged: r.unchanged,
      msPerCommune: (seconds * 1000) / Math.max(1, r.built),
    });
    console.error(`${step}: ${seconds.toFixed(2)} s (${r.built} built, ${r.unchanged} unchanged, ${r.failed} failed)`);
  };
  const log = () => undefined;

  const full = await measure(() => buildPacks({ concurrency: 2, log }));
  push('full build (every commune, first build)', full.seconds, full.result);

  const counts = new Map<string, number>();
  for (const dep of ['2A', '35', '62']) {
    counts.set(dep, await touch(dep));
    const m = await measure(() => buildPacks({ departements: [dep], concurrency: 2, recheck: true, log }));
    push(`change dép. ${dep}, rebuild dép. ${dep} only`, m.seconds, m.result);
  }

  await touch('35');
  const rescan = await measure(() => buildPacks({ concurrency: 2, recheck: true, log }));
  push('change dép. 35, full rescan (every commune re-read, fingerprints compared)', rescan.seconds, rescan.result);

  await touch('35');
  const { startWorker } = await import('../src/queue/worker');
  const { enqueuePacksBuild, packsQueue, closePacksQueue } = await import('../src/queue/packs');
  const { closeQueues } = await import('../src/queue/queue');
  const { closeRedisConnections } = await import('../src/queue/connection');
  const worker = await startWorker({ concurrency: 2, handleSignals: false, log });
  const queued = await measure(async () => {
    const b = await enqueuePacksBuild({ departements: ['35'], recheck: true, trigger: 'cli' });
    for (;;) {
      const job = await packsQueue().getJob(b.jobId);
      const state = job ? await job.getState() : 'missing';
      if (state === 'completed') return job!.returnvalue as { built: number; unchanged: number; failed: number };
      if (state === 'failed') throw new Error(`fan-out failed: ${job!.failedReason}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  push('change dép. 35, queued fan-out of dép. 35 (1 in-process worker)', queued.seconds, queued.result);
  await worker.close();
  await packsQueue()
    .obliterate({ force: true })
    .catch(() => undefined);
  await closePacksQueue();
  await closeQueues();
  await closeRedisConnections();

  const s = settings();
  await closePools();
  fs.rmSync(packsDir, { recursive: true, force: true });
  const loadavg = os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ');
  const fmt = (r: Row) =>
    `| ${r.step} | ${r.seconds.toFixed(2)} | ${r.communes} | ${r.built} | ${r.unchanged} | ${r.built ? r.msPerCommune.toFixed(1) : '–'} |`;
  const md = `
## Incremental pack rebuild (bench/packs-incremental.ts)

Measured on ${started.toISOString().slice(0, 10)}, one run, with \`npx tsx bench/packs-incremental.ts\`.

- Machine: ${machine()}. Load average at the end: ${loadavg} (this bench's own load included).
- Data: referential + embedded populations (${DB}); packs hold cog + populations; PACK_VERSIONS_KEPT=${s.PACK_VERSIONS_KEPT}.
- A département's change = \`population_legale\` of all its communes bumped (${[...counts].map(([d, n]) => `${d}: ${n} rows`).join(', ')}), edited by hand, so every build after it is asked with \`--recheck\` (no source was republished: without it the communes would be skipped unread). A real republication of one département's BAN file is measured in the packs-national section (only that département's communes are re-read).

| Step | Seconds | Communes considered | Built | Unchanged | ms per pack built |
|---|---:|---:|---:|---:|---:|
${rows.map(fmt).join('\n')}

Rebuilding only the touched département grows linearly with the communes touched (see the seconds of 2A, 35 and 62); a rebuilt pack costs more than a first-build one because it reads the previous ZIP to write changes.json. The full rescan reads every commune's rows to compare fingerprints: its time is that of the whole country, whatever was touched.
`;
  writeBenchmarkSection('packs-incremental', md.trim());
  console.log(md);
}

main().catch(async (err) => {
  console.error(err);
  await closePools().catch(() => undefined);
  process.exit(1);
});
