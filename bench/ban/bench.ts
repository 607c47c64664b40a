/**
 * BAN load benchmark: our pipeline (gunzip → one Node pass checking and routing lines → COPY over
 * 2 lanes straight into one new table per département → index → attached in one transaction)
 * against `psql \copy` of the same decompressed CSV into an identical table (the BAN columns,
 * lon/lat as double precision, logged) plus the same index build. Both run in the same process
 * run, alternately when repeated, so the ratio holds on a shared machine. Synthetic IRIS/QPV
 * polygons built on the generator's grid are loaded first, as `npm start` does (iris, qpv before
 * ban): each load gives every address its code_iris and code_qp itself. Then the re-enrichment
 * alone, when only polygons change: a partial change (the split of the 2-IRIS communes moves),
 * then a change of every IRIS code (every address rewritten). Writes the `ban` section of
 * BENCHMARKS.md (not with BENCH_BAN_WRITE=0).
 *
 *   npx tsx bench/ban/bench.ts [rows=26000000] [repeats=1]    (goal: ratio ≤ 1.3, Node peak RSS < 500 MB)
 *
 * Uses its own database (dotation_bench_ban) and BENCH_DIR (default /tmp/dotation-bench-ban); the
 * generated files are deleted at the end unless BENCH_BAN_KEEP=1 (the gz is then reused).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { resetSettings } from '../../config/settings';
import { closePools, pool } from '../../src/db/pool';
import { migrate } from '../../src/db/migrate';
import { runSource } from '../../src/engine/runner';
import { enrichDepartements } from '../../src/geo/enrich';
import { BAN_COLUMNS } from '../../pipelines/ban/source';
import { measure, machine, writeBenchmarkSection, freshDb } from '../measure';
import { benchCommunes, cellOf, generate } from './generate';

const DIR = process.env.BENCH_DIR ?? '/tmp/dotation-bench-ban';

export interface OursRun {
  seconds: number;
  peakRssMb: number;
  stages: Record<string, number>;
  loadAverage: number;
}

export interface BanRound {
  psqlCopySeconds: number;
  psqlIndexSeconds: number;
  psqlSeconds: number;
  loadAverage: number;
  /** Our load with the polygons present: rows enriched during the load (the default). */
  inLoad: OursRun;
  /** The same load told not to enrich (DOTATION_BAN_ENRICH_IN_LOAD=0): published without codes, then the UPDATE pass. */
  thenUpdate: OursRun;
  /** Ours without the enrichment (thenUpdate minus its enrichment stage) / psql: the load alone. */
  ratio: number;
  oursSeconds: number;
  oursPeakRssMb: number;
}

export interface EnrichRun {
  seconds: number;
  rows: number;
  departements: number;
  loadAverage: number;
}

export interface BanBenchResult {
  rows: number;
  gzMb: number;
  csvMb: number;
  oursSeconds: number;
  oursPeakRssMb: number;
  published: number;
  psqlCopySeconds: number;
  psqlIndexSeconds: number;
  psqlSeconds: number;
  ratio: number;
  machine: string;
  /** Median round: our load enriching during the load, and load then UPDATE pass. */
  inLoadSeconds: number;
  thenUpdateSeconds: number;
  /** Re-enrichment alone after a partial polygon change, and after a change of every IRIS code. */
  enrichPartial: EnrichRun;
  enrichAll: EnrichRun;
  /** Every round (the headline figures are the round with the median ratio, the slower middle one for an even count). */
  rounds: BanRound[];
  /** UTC date of the run (YYYY-MM-DD HH:MM). */
  date?: string;
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
    if (k.population > 50000)
      qpv.push([`QN${k.code}M`, k.code, lon0 + size / 4, lat0 + size / 4, lon0 + (3 * size) / 4, lat0 + (3 * size) / 4]);
  });
  await c.query(
    `insert into iris (code_iris, nom_iris, type_iris, code_insee, code_commune, departement, geom, geom_simple, fichier)
    select t.code, 'IRIS ' || t.code, 'H', t.com, geo_commune_plm(t.com), geo_departement(t.com), g, g, 'bench'
      from jsonb_to_recordset($1::jsonb) as t(code text, com text, x0 float8, y0 float8, x1 float8, y1 float8)
     cross join lateral (select ST_Multi(ST_MakeEnvelope(t.x0, t.y0, t.x1, t.y1, 4326)) as g) e`,
    [JSON.stringify(iris.map(([code, com, x0, y0, x1, y1]) => ({ code, com, x0, y0, x1, y1 })))],
  );
  await c.query(
    `insert into qpv (code_qp, nom_qp, commune_qp, geom, geom_simple, fichier)
    select t.code, 'QPV ' || t.code, t.com, g, g, 'bench'
      from jsonb_to_recordset($1::jsonb) as t(code text, com text, x0 float8, y0 float8, x1 float8, y1 float8)
     cross join lateral (select ST_Multi(ST_MakeEnvelope(t.x0, t.y0, t.x1, t.y1, 4326)) as g) e`,
    [JSON.stringify(qpv.map(([code, com, x0, y0, x1, y1]) => ({ code, com, x0, y0, x1, y1 })))],
  );
  await c.query(`insert into qpv_communes (code_qp, code_commune, departement, dans_liste, par_contour, part_surface)
    select code_qp, geo_commune_plm(commune_qp), geo_departement(commune_qp), true, null, 1 from qpv`);
  await c.query(`analyze iris; analyze qpv; analyze qpv_communes`);
  await c.end();
}

/**
 * Polygon changes for the re-enrichment measures. `partial`: the split of every 2-IRIS commune
 * moves from half to a third of its cell (the addresses in between change IRIS). `all`: every
 * IRIS code changes (its 6th digit), so every address is rewritten.
 */
async function changePolygons(url: string, change: 'partial' | 'all'): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  if (change === 'partial') {
    await c.query(`update iris i set geom = g, geom_simple = g
      from (select code_iris, ST_Multi(ST_MakeEnvelope(ST_XMin(geom), ST_YMin(geom),
                     case when code_iris like '%0101' then ST_XMax(geom) - (ST_XMax(geom) - ST_XMin(geom)) / 3 else ST_XMax(geom) end, ST_YMax(geom), 4326)) as g
              from iris where code_iris like '%0101') n
     where n.code_iris = i.code_iris`);
    await c.query(`update iris i set geom = g, geom_simple = g
      from (select b.code_iris, ST_Multi(ST_MakeEnvelope(ST_XMax(a.geom), ST_YMin(b.geom), ST_XMax(b.geom), ST_YMax(b.geom), 4326)) as g
              from iris b join iris a on a.code_iris = left(b.code_iris, 5) || '0101' where b.code_iris like '%0102') n
     where n.code_iris = i.code_iris`);
  } else {
    await c.query(
      `update iris set code_iris = left(code_iris, 5) || (case substr(code_iris, 6, 1) when '9' then '8' else '9' end) || right(code_iris, 3)`,
    );
  }
  await c.query(`analyze iris`);
  await c.end();
}

async function enrichRun(): Promise<EnrichRun> {
  const loadAverage = os.loadavg()[0];
  const r = await measure(() => enrichDepartements(pool()));
  return { seconds: r.seconds, rows: r.result.reduce((s, e) => s + e.updated, 0), departements: r.result.length, loadAverage };
}

export async function bench(rows = 26_000_000, repeats = 1): Promise<BanBenchResult> {
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
  // Polygons first, as in `npm start` (iris and qpv load before ban): the loads enrich their rows.
  const withPolygons = process.env.BENCH_BAN_ENRICH !== '0';
  if (withPolygons) await loadPolygons(url);

  const cols = BAN_COLUMNS.map((c) => `${c} ${c === 'lon' || c === 'lat' ? 'double precision' : 'text'}`).join(', ');
  const rounds: BanRound[] = [];
  let published = 0;
  let runs = 0;
  // Ours, end to end through the runner (gunzip included, published at the end; later runs replace the partitions).
  const ours = async (inLoad: boolean): Promise<OursRun> => {
    let stages: Record<string, number> = {};
    const loadAverage = os.loadavg()[0];
    if (!inLoad) process.env.DOTATION_BAN_ENRICH_IN_LOAD = '0';
    resetSettings();
    try {
      const m = await measure(() =>
        runSource('ban', {
          file: gzFile,
          millesime: '2024-06-01', // a generated file: no upstream date
          trigger: 'test',
          force: runs++ > 0,
          log: (msg) => {
            console.error(`[ban] ${msg}`);
            const t = /^timings \(s\): (.*)$/.exec(msg);
            if (t)
              stages = Object.fromEntries(
                t[1].split(', ').map((x) => {
                  const [n, v] = x.split(' ');
                  return [n, Number(v)];
                }),
              );
          },
        }),
      );
      published = m.result.published;
      psql(url, `checkpoint`);
      console.error(
        `ours ${inLoad ? 'enriching during the load' : 'then the UPDATE pass'}: ${m.seconds.toFixed(1)} s (load average ${loadAverage.toFixed(1)})`,
      );
      return { seconds: m.seconds, peakRssMb: m.peakRssMb, stages, loadAverage };
    } finally {
      delete process.env.DOTATION_BAN_ENRICH_IN_LOAD;
      resetSettings();
    }
  };
  for (let k = 0; k < repeats; k++) {
    // Baseline: psql \copy of the decompressed CSV into an identical logged table, then the same index.
    psql(url, `create table baseline (${cols})`);
    const psqlCopySeconds = psql(url, `\\copy baseline from '${csvFile}' with (format csv, delimiter ';', header true)`);
    const psqlIndexSeconds = psql(url, `create index on baseline (code_insee)`) + psql(url, `analyze baseline`);
    psql(url, `drop table baseline`);
    psql(url, `checkpoint`);

    const loadAverage = os.loadavg()[0];
    // Both ways of ours, in alternate order from one round to the next.
    let inLoad: OursRun;
    let thenUpdate: OursRun;
    if (k % 2 === 0) {
      inLoad = await ours(true);
      thenUpdate = await ours(withPolygons ? false : true);
    } else {
      thenUpdate = await ours(withPolygons ? false : true);
      inLoad = await ours(true);
    }
    const psqlSeconds = psqlCopySeconds + psqlIndexSeconds;
    const loadAlone = thenUpdate.seconds - (thenUpdate.stages.enrichment ?? 0);
    const round: BanRound = {
      psqlCopySeconds,
      psqlIndexSeconds,
      psqlSeconds,
      loadAverage,
      inLoad,
      thenUpdate,
      ratio: loadAlone / psqlSeconds,
      oursSeconds: loadAlone,
      oursPeakRssMb: Math.max(inLoad.peakRssMb, thenUpdate.peakRssMb),
    };
    rounds.push(round);
    console.error(
      `round ${k + 1}: ours ${loadAlone.toFixed(1)} s (load alone) vs psql ${psqlSeconds.toFixed(1)} s → ratio ${round.ratio.toFixed(2)};` +
        ` enriched during the load ${inLoad.seconds.toFixed(1)} s, load then UPDATE pass ${thenUpdate.seconds.toFixed(1)} s (load average ${loadAverage.toFixed(1)})`,
    );
  }

  // Re-enrichment alone when only polygons change (BENCH_BAN_ENRICH=0 skips the polygons while iterating).
  const none: EnrichRun = { seconds: NaN, rows: 0, departements: 0, loadAverage: NaN };
  let enrichPartial = none;
  let enrichAll = none;
  if (withPolygons) {
    const {
      rows: [c],
    } = await pool().query(
      `select count(*) filter (where code_iris is not null)::int as iris, count(*) filter (where code_qp is not null)::int as qp from adresses`,
    );
    console.error(`after the load: ${c.iris} addresses with code_iris, ${c.qp} with code_qp`);
    await changePolygons(url, 'partial');
    enrichPartial = await enrichRun();
    console.error(`re-enrichment after a partial polygon change: ${enrichPartial.seconds.toFixed(1)} s, ${enrichPartial.rows} rows`);
    await changePolygons(url, 'all');
    enrichAll = await enrichRun();
    console.error(`re-enrichment after a change of every IRIS code: ${enrichAll.seconds.toFixed(1)} s, ${enrichAll.rows} rows`);
  }
  await closePools();
  fs.rmSync(csvFile, { force: true });
  if (process.env.BENCH_BAN_KEEP !== '1') {
    fs.rmSync(gzFile, { force: true });
    fs.rmSync(stamp, { force: true });
  }

  // Median round; with an even count, the slower of the two middle ones (never the flattering one).
  const median = [...rounds].sort((a, b) => a.ratio - b.ratio)[Math.floor(rounds.length / 2)];
  return {
    rows,
    gzMb,
    csvMb,
    oursSeconds: median.oursSeconds,
    oursPeakRssMb: Math.max(...rounds.map((r) => r.oursPeakRssMb)),
    published,
    psqlCopySeconds: median.psqlCopySeconds,
    psqlIndexSeconds: median.psqlIndexSeconds,
    psqlSeconds: median.psqlSeconds,
    date: new Date().toISOString().slice(0, 16).replace('T', ' '),
    ratio: median.ratio,
    inLoadSeconds: median.inLoad.seconds,
    thenUpdateSeconds: median.thenUpdate.seconds,
    enrichPartial,
    enrichAll,
    machine: machine(),
    rounds,
  };
}

export function markdown(r: BanBenchResult): string {
  const f = (x: number) => x.toFixed(1);
  const stage = (s: Record<string, number>) =>
    ['copy', 'index', 'publication', 'enrichment'].map((k) => `${k} ${f(s[k] ?? 0)} s`).join(', ') +
    (s.enriched_copy !== undefined ? ` (enriched copies ${f(s.enriched_copy)} s, inside copy + index)` : '');
  const e = (x: EnrichRun) =>
    `${f(x.seconds)} s for ${x.rows.toLocaleString('en')} rows updated in ${x.departements} départements (load average ${f(x.loadAverage)})`;
  return `## BAN load (\`npx tsx bench/ban/bench.ts ${r.rows} ${r.rounds.length}\`)

- Date: ${r.date ?? new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. Machine: ${r.machine} (load average given per round, this bench's own load included).
- Data: synthetic national BAN, ${r.rows.toLocaleString('en')} rows, ${f(r.csvMb)} MB CSV, ${f(r.gzMb)} MB gz.
- Ours (\`runSource('ban')\`, end to end): gunzip → one Node pass (field count, quotes, UTF-8, code_insee, lon/lat checked; bad lines quarantined with their line number) → COPY over 2 lanes straight into one new table per département (geometry generated during the COPY, CHECK on the département); a département with IRIS/QPV polygons is copied into an unlogged raw table, then moved once into its new table with code_iris and code_qp (grid lookup, set-based) → index + analyze (a département's as soon as its COPY is complete, overlapping the load; the rest after) → old partitions dropped and new tables attached in one transaction, enriched. The copy stage includes the overlapped moves and index builds; rounds after the first replace the partitions the previous round published (autovacuum is then working on them). Synthetic IRIS (1 or 2 rectangles a commune) and QPV (communes over 50,000 inhabitants) are loaded before the BAN, as in \`npm start\`.
- Baseline: \`psql \\copy\` of the decompressed CSV into an identical logged table, then \`create index (code_insee)\` + \`analyze\`. Run in the same process run as ours, alternately.

Each round runs ours twice (alternate order), polygons present: **enriched during the load** (the default), and **load, then UPDATE pass** (\`DOTATION_BAN_ENRICH_IN_LOAD=0\`: rows published without codes, then the enrichment pass rewrites every row of the published partitions, as before this change, with the grid lookup). The ratio compares the load alone (the second run minus its enrichment stage) with psql.

| Round | Load avg | psql copy + index | Enriched during the load: total | by stage | Load, then UPDATE pass: total | by stage | Ratio (load alone) | Peak RSS |
|---|---|---|---|---|---|---|---|---|
${r.rounds.map((x, i) => `| ${i + 1} | ${f(x.loadAverage)} | ${f(x.psqlCopySeconds)} + ${f(x.psqlIndexSeconds)} = ${f(x.psqlSeconds)} s | **${f(x.inLoad.seconds)} s** | ${stage(x.inLoad.stages)} | ${f(x.thenUpdate.seconds)} s | ${stage(x.thenUpdate.stages)} | **${x.ratio.toFixed(2)}** | ${x.oursPeakRssMb.toFixed(0)} MB |`).join('\n')}

Result (median round; the slower middle one for an even count): the load alone ${f(r.oursSeconds)} s vs psql ${f(r.psqlSeconds)} s → **ratio ${r.ratio.toFixed(2)}** (goal ≤ 1.3); with every address enriched during the load ${f(r.inLoadSeconds)} s, against ${f(r.thenUpdateSeconds)} s to load then UPDATE; peak RSS ${r.oursPeakRssMb.toFixed(0)} MB (goal < 500 MB), ${r.published.toLocaleString('en')} rows published.
Re-enrichment alone, when only polygons change (published partitions updated where a code changes): after a partial change (the split of every 2-IRIS commune moves) ${e(r.enrichPartial)}; after a change of every IRIS code ${e(r.enrichAll)}.

Before the enrichment during the load (previous code: rows published without codes, then an UPDATE pass with two GiST lookups per address, every wide row rewritten with its index), same machine, 2.5M-row file, polygons present (2026-11-26 23:34 UTC, load average 2.2, psql 6.8 s; the new code on that file, 23:32 UTC: ratio 1.15 and 1.28 in two rounds, enriched during the load 16.4–17.4 s, re-enrichment 7.4 s partial and 16.6 s for every code): load 7.8 s + enrichment 45.8 s = 54.0 s; re-enrichment after the partial polygon change 34.6 s (213,785 rows), after the change of every IRIS code 47.3 s (2,499,848 rows). On a loaded machine (load average ~7, 2026-11-26 22:05) that enrichment took 155.7 s. Before the one-pass load (same machine, 2.5M rows): 2.58× — COPY into unlogged staging 14 s, SQL validation 10.8 s, insert into the partitioned table 23.2 s, index 8 s.
`;
}

if (require.main === module) {
  const rows = Number(process.argv[2] ?? 26_000_000);
  const repeats = Number(process.argv[3] ?? 1);
  bench(rows, repeats)
    .then((r) => {
      console.log(JSON.stringify(r, null, 2));
      if (process.env.BENCH_BAN_ENRICH !== '0' && process.env.BENCH_BAN_WRITE !== '0') writeBenchmarkSection('ban', markdown(r));
      console.log(
        `\nBAN ${r.rows} rows (${r.csvMb.toFixed(0)} MB CSV, ${r.gzMb.toFixed(0)} MB gz): ours, load alone ${r.oursSeconds.toFixed(1)} s (peak RSS ${r.oursPeakRssMb.toFixed(0)} MB)` +
          ` vs psql \\copy ${r.psqlCopySeconds.toFixed(1)} s + index ${r.psqlIndexSeconds.toFixed(1)} s = ${r.psqlSeconds.toFixed(1)} s → ratio ${r.ratio.toFixed(2)} (goal ≤ 1.3);` +
          ` enriched during the load ${r.inLoadSeconds.toFixed(1)} s, load then UPDATE pass ${r.thenUpdateSeconds.toFixed(1)} s;` +
          ` re-enrichment: partial ${r.enrichPartial.seconds.toFixed(1)} s (${r.enrichPartial.rows} rows), every IRIS code ${r.enrichAll.seconds.toFixed(1)} s (${r.enrichAll.rows} rows)`,
      );
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
