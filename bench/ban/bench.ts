/**
 * BAN load benchmark: our pipeline (gunzip → line checker → parallel COPY into UNLOGGED staging →
 * SQL validation → département partitions + index → published) against `psql \copy` of the same
 * decompressed CSV into an identical table (the BAN columns, lon/lat as double precision, logged)
 * plus the same index build. Then the enrichment (code_iris, code_qp) of every address against
 * synthetic IRIS/QPV polygons built on the generator's grid.
 *
 *   npx tsx bench/ban/bench.ts [rows=26000000]     (goal: ratio ≤ 1.3, Node peak RSS < 500 MB)
 *
 * Uses its own database (dotation_bench_ban) and BENCH_DIR (default /tmp/dotation-bench-ban).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { resetSettings } from '../../config/settings';
import { closePools, pool } from '../../src/db/pool';
import { migrate } from '../../src/db/migrate';
import { runSource } from '../../src/engine/runner';
import { enrichDepartements } from '../../src/geo/enrich';
import { BAN_COLUMNS } from '../../pipelines/ban/source';
import { measure, machine } from '../measure';
import { benchCommunes, cellOf, generate } from './generate';

const ADMIN = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DIR = process.env.BENCH_DIR ?? '/tmp/dotation-bench-ban';

export interface BanBenchResult {
  rows: number; gzMb: number; csvMb: number;
  oursSeconds: number; oursPeakRssMb: number; published: number;
  psqlCopySeconds: number; psqlIndexSeconds: number; psqlSeconds: number;
  ratio: number; enrichSeconds: number; enrichedRows: number; machine: string;
}

async function freshDb(name: string): Promise<string> {
  const c = new Client({ connectionString: ADMIN });
  await c.connect();
  await c.query(`drop database if exists ${name} with (force)`);
  await c.query(`create database ${name}`);
  await c.end();
  const u = new URL(ADMIN);
  u.pathname = `/${name}`;
  return u.toString();
}

function psql(url: string, sql: string): number {
  const t0 = process.hrtime.bigint();
  execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-q', '-c', sql], { stdio: ['ignore', 'ignore', 'inherit'] });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Synthetic IRIS (1 per commune, 2 for communes over 10 000 inhabitants) and QPV (communes over 50 000) on the generator grid. */
async function loadPolygons(url: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  const communes = benchCommunes();
  const iris: [string, string, number, number, number, number][] = [];
  const qpv: [string, string, number, number, number, number][] = [];
  communes.forEach((k, i) => {
    const { lon0, lat0, size } = cellOf(i);
    if (k.population > 10000) {
      iris.push([`${k.code}0101`, k.code, lon0, lat0, lon0 + size / 2, lat0 + size]);
      iris.push([`${k.code}0102`, k.code, lon0 + size / 2, lat0, lon0 + size, lat0 + size]);
    } else iris.push([`${k.code}0000`, k.code, lon0, lat0, lon0 + size, lat0 + size]);
    if (k.population > 50000) qpv.push([`QN${k.code}M`, k.code, lon0 + size / 4, lat0 + size / 4, lon0 + (3 * size) / 4, lat0 + (3 * size) / 4]);
  });
  await c.query(`insert into iris (code_iris, nom_iris, type_iris, code_insee, code_commune, departement, geom, geom_simple, fichier)
    select t.code, 'IRIS ' || t.code, 'H', t.com, geo_commune_plm(t.com), geo_departement(t.com), g, g, 'bench'
      from jsonb_to_recordset($1::jsonb) as t(code text, com text, x0 float8, y0 float8, x1 float8, y1 float8)
     cross join lateral (select ST_Multi(ST_MakeEnvelope(t.x0, t.y0, t.x1, t.y1, 4326)) as g) e`,
    [JSON.stringify(iris.map(([code, com, x0, y0, x1, y1]) => ({ code, com, x0, y0, x1, y1 })))]);
  await c.query(`insert into qpv (code_qp, nom_qp, commune_qp, geom, geom_simple, fichier)
    select t.code, 'QPV ' || t.code, t.com, g, g, 'bench'
      from jsonb_to_recordset($1::jsonb) as t(code text, com text, x0 float8, y0 float8, x1 float8, y1 float8)
     cross join lateral (select ST_Multi(ST_MakeEnvelope(t.x0, t.y0, t.x1, t.y1, 4326)) as g) e`,
    [JSON.stringify(qpv.map(([code, com, x0, y0, x1, y1]) => ({ code, com, x0, y0, x1, y1 })))]);
  await c.query(`insert into qpv_communes (code_qp, code_commune, departement, dans_liste, par_contour, part_surface)
    select code_qp, geo_commune_plm(commune_qp), geo_departement(commune_qp), true, null, 1 from qpv`);
  await c.query(`analyze iris; analyze qpv; analyze qpv_communes`);
  await c.end();
}

export async function bench(rows = 26_000_000): Promise<BanBenchResult> {
  fs.mkdirSync(DIR, { recursive: true });
  const gzFile = path.join(DIR, 'adresses-france.csv.gz');
  const stamp = path.join(DIR, 'rows');
  if (!fs.existsSync(gzFile) || !fs.existsSync(stamp) || fs.readFileSync(stamp, 'utf8') !== String(rows)) {
    console.error(`generating ${rows} rows…`);
    await generate(rows, gzFile);
    fs.writeFileSync(stamp, String(rows));
  }
  const csvFile = path.join(DIR, 'adresses-france.csv');
  execFileSync('sh', ['-c', `gzip -dc '${gzFile}' > '${csvFile}'`]);
  const gzMb = fs.statSync(gzFile).size / 1e6;
  const csvMb = fs.statSync(csvFile).size / 1e6;

  const url = await freshDb('dotation_bench_ban');
  await closePools();
  Object.assign(process.env, { DATABASE_URL: url, NETWORK: 'never', MIRROR_DIR: '', LOG_LEVEL: 'silent' });
  resetSettings();
  await migrate(url);
  await runSource('cog', { trigger: 'test', log: () => undefined });

  // Baseline: psql \copy of the decompressed CSV into an identical logged table, then the same index.
  const cols = BAN_COLUMNS.map((c) => `${c} ${c === 'lon' || c === 'lat' ? 'double precision' : 'text'}`).join(', ');
  psql(url, `create table baseline (${cols})`);
  const psqlCopySeconds = psql(url, `\\copy baseline from '${csvFile}' with (format csv, delimiter ';', header true)`);
  const psqlIndexSeconds = psql(url, `create index on baseline (code_insee)`) + psql(url, `analyze baseline`);
  psql(url, `drop table baseline`);
  psql(url, `checkpoint`);

  // Ours, end to end through the runner (gunzip included, published at the end).
  const ours = await measure(() => runSource('ban', { file: gzFile, trigger: 'test', log: (m) => console.error(`[ban] ${m}`) }));
  const published = ours.result.published;

  // Enrichment of every address against synthetic IRIS and QPV.
  await loadPolygons(url);
  const enrich = await measure(() => enrichDepartements(pool()));
  const enrichedRows = enrich.result.reduce((s, e) => s + e.updated, 0);
  await closePools();
  fs.rmSync(csvFile, { force: true });

  const psqlSeconds = psqlCopySeconds + psqlIndexSeconds;
  return {
    rows, gzMb, csvMb, oursSeconds: ours.seconds, oursPeakRssMb: ours.peakRssMb, published,
    psqlCopySeconds, psqlIndexSeconds, psqlSeconds, ratio: ours.seconds / psqlSeconds,
    enrichSeconds: enrich.seconds, enrichedRows, machine: machine(),
  };
}

if (require.main === module) {
  const rows = Number(process.argv[2] ?? 26_000_000);
  bench(rows).then((r) => {
    console.log(JSON.stringify(r, null, 2));
    console.log(`\nBAN ${r.rows} rows (${r.csvMb.toFixed(0)} MB CSV, ${r.gzMb.toFixed(0)} MB gz): ours ${r.oursSeconds.toFixed(1)} s (peak RSS ${r.oursPeakRssMb.toFixed(0)} MB)`
      + ` vs psql \\copy ${r.psqlCopySeconds.toFixed(1)} s + index ${r.psqlIndexSeconds.toFixed(1)} s = ${r.psqlSeconds.toFixed(1)} s → ratio ${r.ratio.toFixed(2)} (goal ≤ 1.3);`
      + ` enrichment ${r.enrichSeconds.toFixed(1)} s (${r.enrichedRows} rows)`);
  }).catch((e) => { console.error(e); process.exit(1); });
}
