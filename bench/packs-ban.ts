/**
 * The BAN's share of the pack build: a scratch database with the referential (embedded COG) and a
 * generated national-layout BAN of N rows, then buildPacks() over every commune actuelle and
 * arrondissement municipal (first build, then an incremental rebuild of one département after its
 * addresses changed). Isolates what dominates the national build (every address written twice per
 * pack: adresses.csv and adresses.geojson) from the other sources.
 *
 *   npx tsx bench/packs-ban.ts [rows=2600000]
 *     BENCH_KEEP=1       keep the database and print its URL (reuse it with BENCH_DATABASE_URL=…)
 *     BENCH_DATABASE_URL skip the load, build the packs of that database
 *     BENCH_WRITE=1      write the `packs-ban` section of BENCHMARKS.md
 *     BENCH_DB_NAME      name of the scratch database (default dotation_bench_packs_ban)
 *     BENCH_LOAD_ONLY=1  stop after the load (with BENCH_KEEP=1: prepare a database for later runs)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resetSettings } from '../config/settings';
import { closePools, pool } from '../src/db/pool';
import { migrate } from '../src/db/migrate';
import { runSource } from '../src/engine/runner';
import { buildPacks } from '../src/packs/build';
import { diskUsage, freshDb, machine, measure, writeBenchmarkSection } from './measure';
import { generate as genBan } from './ban/generate';

const ROWS = Number(process.argv[2] ?? 2_600_000);
const DB_NAME = process.env.BENCH_DB_NAME ?? 'dotation_bench_packs_ban';
const log = (m: string) => console.error(`${new Date().toISOString()} ${m}`);
const loadavg = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ');
const fmt = (n: number) => n.toLocaleString('en-US');

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-packs-ban-'));
  const packsDir = path.join(work, 'packs');
  let url = process.env.BENCH_DATABASE_URL;
  const fresh = !url;
  Object.assign(process.env, {
    NETWORK: 'never',
    MIRROR_DIR: '',
    DATA_DIR: path.join(work, 'data'),
    PACKS_DIR: packsDir,
    LOG_LEVEL: 'silent',
  });
  if (!url) {
    url = await freshDb(DB_NAME);
    Object.assign(process.env, { DATABASE_URL: url });
    resetSettings();
    await migrate(url);
    await runSource('cog', { trigger: 'test', log: () => {} });
    const file = path.join(work, 'adresses-france.csv.gz');
    const g = await genBan(ROWS, file, 1);
    log(`BAN generated: ${fmt(g.rows)} rows, ${(g.bytes / 1048576).toFixed(0)} MB CSV`);
    const r = await runSource('ban', { file, millesime: '2024-06-01', trigger: 'test', log: (m) => log(`[ban] ${m}`) });
    log(`BAN loaded: ${r.status}, ${fmt(r.published ?? 0)} published`);
    fs.rmSync(file);
  } else {
    Object.assign(process.env, { DATABASE_URL: url });
    resetSettings();
  }
  const {
    rows: [{ n }],
  } = await pool().query(`select count(*)::bigint as n from adresses`);
  if (process.env.BENCH_LOAD_ONLY) {
    await closePools();
    log(`loaded ${fmt(Number(n))} addresses: BENCH_DATABASE_URL=${url}`);
    return;
  }
  const load0 = loadavg();
  log(`first build (${fmt(Number(n))} addresses, load average ${load0})`);
  const first = await measure(() => buildPacks({ log }));
  const disk = diskUsage(packsDir);
  log(
    `first build: ${first.seconds.toFixed(1)} s, built ${first.result.built}, failed ${first.result.failed}, peak ${first.peakRssMb} MB, ${(disk.bytes / 1048576).toFixed(0)} MB`,
  );
  // One département's addresses change (a street renamed in every commune of 35): only its packs are rebuilt.
  await pool().query(`update adresses set nom_voie = nom_voie || ' (bis)' where departement = '35' and line % 50 = 0`);
  await pool().query(`update adresses_departements set published_at = now() where departement = '35'`);
  const load1 = loadavg();
  const inc = await measure(() => buildPacks({ departements: ['35'], log }));
  log(`rebuild of 35: ${inc.seconds.toFixed(1)} s, built ${inc.result.built}, unchanged ${inc.result.unchanged}`);
  if (process.env.BENCH_WRITE) {
    writeBenchmarkSection(
      'packs-ban',
      [
        `## Packs, BAN share (\`npx tsx bench/packs-ban.ts ${ROWS}\`)`,
        '',
        `- Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. Machine: ${machine()}.`,
        `- Database: embedded COG + generated national-layout BAN, ${fmt(Number(n))} addresses (every other source absent).`,
        '',
        '| Build | Load average | Packs built | Seconds | Packs/s | Addresses/s | Peak RSS | Disk |',
        '|---|---|---|---|---|---|---|---|',
        `| first, every commune | ${load0} | ${fmt(first.result.built)} | ${first.seconds.toFixed(1)} | ${(first.result.built / first.seconds).toFixed(0)} | ${fmt(Math.round(Number(n) / first.seconds))} | ${first.peakRssMb} MB | ${(disk.bytes / 1048576).toFixed(0)} MB |`,
        `| département 35 after a change | ${load1} | ${fmt(inc.result.built)} | ${inc.seconds.toFixed(1)} | ${(inc.result.built / inc.seconds).toFixed(0)} | | ${inc.peakRssMb} MB | |`,
        '',
      ].join('\n'),
    );
  }
  await closePools();
  fs.rmSync(work, { recursive: true, force: true });
  if (fresh && process.env.BENCH_KEEP) log(`kept database: BENCH_DATABASE_URL=${url}`);
  else if (fresh) {
    const { Client } = await import('pg');
    const c = new Client({ connectionString: process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
    await c.connect();
    await c.query(`drop database if exists ${DB_NAME} with (force)`);
    await c.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
