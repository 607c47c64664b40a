/**
 * `npm run bench`: measures (a) the referential + populations load, from the embedded
 * defaults and, when ../shared/data exists, from the mirror; (b) a build of every commune's
 * pack. Writes BENCHMARKS.md at the repository root. Uses its own databases (dotation_bench_*)
 * and a temporary PACKS_DIR; PostgreSQL must be running (scripts/services.sh).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resetSettings, settings } from '../config/settings';
import { closePools } from '../src/db/pool';
import { migrate } from '../src/db/migrate';
import { runSource } from '../src/engine/runner';
import { buildPacks } from '../src/packs/build';
import { diskUsage, machine, measure, writeBenchmarkSection, freshDb } from './measure';

const ROOT = path.resolve(__dirname, '..');
const SHARED = path.resolve(ROOT, '..', 'shared', 'data');

interface Row {
  step: string;
  seconds: number;
  rate: string;
  peakRssMb: number;
  note: string;
}

async function useEnv(env: Record<string, string>): Promise<void> {
  await closePools();
  Object.assign(process.env, env);
  resetSettings();
}

async function loadReferential(label: string, db: string, mirror: string, rows: Row[]): Promise<void> {
  const url = await freshDb(db);
  await useEnv({ DATABASE_URL: url, MIRROR_DIR: mirror, NETWORK: 'never', LOG_LEVEL: 'silent' });
  await migrate(url);
  for (const id of ['cog', 'populations']) {
    const m = await measure(() => runSource(id, { trigger: 'cli', force: true, log: () => undefined }));
    const origins = [...new Set(m.result.files.map((f) => f.origin))].join('+') || 'embedded';
    rows.push({
      step: `${label}: load ${id}`,
      seconds: m.seconds,
      rate: `${Math.round(m.result.read / m.seconds).toLocaleString('en-US')} rows/s`,
      peakRssMb: m.peakRssMb,
      note: `${origins}; read ${m.result.read}, published ${m.result.published}, millésime ${m.result.millesime}`,
    });
    console.error(`${label} ${id}: ${m.seconds.toFixed(1)} s`);
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const started = new Date();
  await loadReferential('embedded', 'dotation_bench_embedded', '', rows);
  const hasMirror = fs.existsSync(path.join(SHARED, 'population'));
  if (hasMirror) await loadReferential('mirror', 'dotation_bench_mirror', SHARED, rows);

  // (b) every commune's pack, from the last loaded database, into an empty PACKS_DIR.
  const packsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-bench-packs-'));
  await useEnv({ PACKS_DIR: packsDir });
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 2);
  let last = Date.now();
  const full = await measure(() =>
    buildPacks({
      concurrency,
      log: () => undefined,
      progress: {
        start() {},
        stop() {},
        update(n) {
          if (Date.now() - last > 10000) {
            last = Date.now();
            console.error(`packs: ${n}`);
          }
        },
      },
    }),
  );
  const disk = diskUsage(packsDir);
  const n = full.result.built + full.result.unchanged;
  rows.push({
    step: 'build every pack (first build)',
    seconds: full.seconds,
    rate: `${(n / full.seconds).toFixed(0)} packs/s`,
    peakRssMb: full.peakRssMb,
    note: `${full.result.built} built, ${full.result.failed} failed; ${(disk.bytes / 1024 / 1024).toFixed(0)} MB in ${disk.files} files (${(disk.bytes / Math.max(1, n) / 1024).toFixed(1)} KB/pack incl. manifest)`,
  });
  console.error(`packs: ${full.seconds.toFixed(1)} s`);
  const again = await measure(() => buildPacks({ concurrency, log: () => undefined }));
  rows.push({
    step: 'build every pack again (nothing changed)',
    seconds: again.seconds,
    rate: `${(n / again.seconds).toFixed(0)} packs/s`,
    peakRssMb: again.peakRssMb,
    note: `${again.result.built} built, ${again.result.unchanged} unchanged, ${again.result.skipped} of them skipped unread (no source republished)`,
  });
  const s = settings();
  await closePools();
  fs.rmSync(packsDir, { recursive: true, force: true });

  const fmt = (r: Row) => `| ${r.step} | ${r.seconds.toFixed(1)} | ${r.rate} | ${r.peakRssMb.toFixed(0)} | ${r.note} |`;
  const md = `## Referential + populations load, and every commune's pack

Measured by \`npm run bench\` (bench/run.ts) on ${started.toISOString().slice(0, 10)}.

- Machine: ${machine()}
- Conditions: shared machine (other processes were running during the measurement); PostgreSQL on the same host; NETWORK=never.
- Pack build concurrency: ${concurrency} départements at once, 4 communes at once per département; packs hold the sources loaded here (cog + populations).
- Mirror: ${hasMirror ? SHARED : 'absent (mirror rows skipped)'}; PACK_VERSIONS_KEPT=${s.PACK_VERSIONS_KEPT}.

| Step | Seconds | Rate | Peak RSS (MB) | Notes |
|---|---:|---|---:|---|
${rows.map(fmt).join('\n')}

Process maxRSS over the whole run: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB.

Goal: every pack in less than 10 minutes (${(35000 / 600).toFixed(0)} packs/s).
`;
  writeBenchmarkSection('load-and-packs', md, path.join(ROOT, 'BENCHMARKS.md'));
  console.log(md);
}

main().catch(async (err) => {
  console.error(err);
  await closePools().catch(() => undefined);
  process.exit(1);
});
