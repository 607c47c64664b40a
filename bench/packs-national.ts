/**
 * Issues 5 and 14 performance lines: the pack of every commune with every source, old and new,
 * loaded at national size. One scratch database (create, migrate, referential), then every source
 * loaded through the runner from the parser benchmarks' generators (bench/parsers/*.ts,
 * bench/ban/generate.ts), the socle generators (bench/socle/inputs.ts: associations, marchés
 * publics, permis de construire, santé, éducation, élus, urbanisme) or the real files of
 * ../shared/data when present (populations, contours), then buildPacks() over every commune
 * actuelle and arrondissement municipal: first build, again with nothing changed, after one
 * département's BAN file was republished, and after a new monthly RNA archive changing the
 * associations of a few communes (only the packs whose associations slice changed are rebuilt):
 * time, packs/s, peak RSS, disk. Drops the database and the generated files.
 *
 *   npx tsx bench/packs-national.ts --write                     national size; writes the `packs-national` section of BENCHMARKS.md
 *   npx tsx bench/packs-national.ts --scale 0.01 --departements 35,2A   a check of the whole chain: 1 % of the rows,
 *                                                               packs of those départements only (never written)
 *
 *   npx tsx bench/packs-national.ts --previous-sources --write  the sources of the 2026-11-26 run only (no socle
 *                                                               source, no RNA step): the like-for-like check that the
 *                                                               national build stays within 10 % of that run (issue 11);
 *                                                               writes its own section `packs-national-previous`
 *
 *   npx tsx bench/packs-national.ts --load-only                 the loads only: keeps the database (its name is printed)
 *                                                               with the load rows stored in it (table bench_loads)
 *   npx tsx bench/packs-national.ts --reuse <database> --first-build-only --write   the first build only, in its
 *                                                               own section (packs-national-first-build)
 *   npx tsx bench/packs-national.ts --reuse <database> --write  the pack steps only, on a database a --load-only run
 *                                                               kept; the report gives that run's load rows, date and
 *                                                               load average. The steps republish département 35's BAN
 *                                                               and an RNA archive: reuse a database once, or expect the
 *                                                               after-reload steps to find nothing new. Kept afterwards.
 *                                                               A reuse first applies the migrations added since the loads
 *                                                               and forgets earlier reuses' packs (pack_builds, pack_versions):
 *                                                               its first build always builds every pack.
 *
 * Why the split: the loads take about 40 minutes at national size and do not depend on the pack
 * code; measuring a change to the pack build needs only the pack steps, on a quiet machine.
 *
 * --scale scales the BAN (26,000,000 rows at 1; BENCH_BAN_ROWS overrides), the ARCEP sites and the
 * socle sources; the other generators are per commune and keep their size. BENCH_KEEP=1 keeps the database.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { BAN_COLUMNS } from '../pipelines/ban/source';
import { resetSettings, settings } from '../config/settings';
import { closePools, pool } from '../src/db/pool';
import { migrate } from '../src/db/migrate';
import { runSource, RunOptions, RunReport } from '../src/engine/runner';
import { buildPacks, BuildReport } from '../src/packs/build';
import { diskUsage, machine, measure, writeBenchmarkSection } from './measure';
import { zipFiles } from './parsers/harness';
import { generate as genRecensement, VARS as RECENSEMENT_VARS } from './parsers/recensement';
import { generate as genEtatCivil } from './parsers/etat-civil';
import { generate as genEquipements, ROWS as EQUIPEMENTS_ROWS } from './parsers/equipements';
import { generate as genElections } from './parsers/elections';
import { generate as genBudgets } from './parsers/budgets';
import { generate as genArcep } from './parsers/arcep';
import { generate as genAtmo } from './parsers/atmo';
import { generate as genBan } from './ban/generate';
import { generateRna, NATIONAL as SOCLE_NATIONAL, scaled } from './socle/generate';
import { socleSources } from './socle/inputs';

const ADMIN = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SHARED = path.resolve(__dirname, '..', '..', 'shared', 'data');
const ARGS = process.argv.slice(2);
const arg = (k: string) => {
  const i = ARGS.indexOf(k);
  return i >= 0 ? ARGS[i + 1] : undefined;
};
const SCALE = Number(arg('--scale') ?? 1);
if (!(SCALE > 0 && SCALE <= 1)) throw new Error('--scale must be in ]0, 1]');
/** Packs built for these départements only (a check at small scale); default: every commune. */
const DEPARTEMENTS = arg('--departements')?.split(',').filter(Boolean);
const WRITE = ARGS.includes('--write');
/** Only the sources of the first national run (2026-11-26: 545.5 s for every pack), for a like-for-like comparison. */
const PREVIOUS = ARGS.includes('--previous-sources');
/** The first build of that run, with the same sources (BENCHMARKS.md, packs-national, 2026-11-26). */
const PREVIOUS_SECONDS = 545.5;
const BAN_ROWS = Number(process.env.BENCH_BAN_ROWS ?? Math.round(26_000_000 * SCALE));
const RELOADED_DEP = DEPARTEMENTS?.includes('35') || !DEPARTEMENTS ? '35' : DEPARTEMENTS[0];
const ARCEP_ROWS = Math.max(1000, Math.round(110_000 * SCALE));
/** Communes whose associations change in the republished RNA archive. */
const RNA_CHANGED = 5;
const ATMO_DAYS = 3;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 2);
const LOAD_ONLY = ARGS.includes('--load-only');
/** A database kept by a --load-only run: its pack steps only. */
const REUSE = arg('--reuse');
if (REUSE !== undefined && !/^dotation_bench_packs_national_[0-9a-f]{6}$/.test(REUSE))
  throw new Error('--reuse takes the name of a database kept by --load-only (dotation_bench_packs_national_xxxxxx)');
if (REUSE && LOAD_ONLY) throw new Error('--reuse and --load-only exclude each other');
/**
 * The first build only (with --reuse: a database whose later steps already ran once — its BAN and
 * RNA republications would find nothing new): written to its own section, packs-national-first-build.
 */
const FIRST_ONLY = ARGS.includes('--first-build-only');

interface Input {
  file?: string;
  resource?: string;
  mirror?: string;
  input: string;
  cleanup?: string[];
}
interface LoadRow {
  id: string;
  input: string;
  genSeconds: number;
  seconds: number;
  peakRssMb: number;
  report?: RunReport;
  error?: string;
}

const mb = (bytes: number) =>
  bytes < 1048576 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1048576).toFixed(bytes < 10 * 1048576 ? 1 : 0)} MB`;
const size = (f: string) => fs.statSync(f).size;
const fmt = (n: number) => n.toLocaleString('en-US');
const loadavg = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ');
const log = (m: string) => console.error(`${new Date().toISOString()} ${m}`);

async function setEnv(env: Record<string, string>): Promise<void> {
  Object.assign(process.env, env);
  resetSettings();
}

async function main(): Promise<void> {
  const started = new Date();
  const loadBefore = loadavg();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-packs-national-'));
  const packsDir = path.join(work, 'packs');
  const name = REUSE ?? `dotation_bench_packs_national_${crypto.randomBytes(3).toString('hex')}`;
  const admin = new Client({ connectionString: ADMIN });
  await admin.connect();
  if (!REUSE) await admin.query(`create database ${name}`);
  const u = new URL(ADMIN);
  u.pathname = `/${name}`;
  const url = u.toString();
  log(`database ${name}, work dir ${work}`);
  await setEnv({
    DATABASE_URL: url,
    NETWORK: 'never',
    MIRROR_DIR: '',
    DATA_DIR: path.join(work, 'data'),
    PACKS_DIR: packsDir,
    LOG_LEVEL: 'silent',
  });

  const loads: LoadRow[] = [];
  let full: { result: BuildReport; seconds: number; peakRssMb: number } | undefined;
  let again: { result: BuildReport; seconds: number; peakRssMb: number } | undefined;
  let depReload: { seconds: number; rows: number } | undefined;
  let afterReload: { result: BuildReport; seconds: number; peakRssMb: number } | undefined;
  let rnaReload: { seconds: number; genSeconds: number; rows: number; changed: string[] } | undefined;
  let afterRna: { result: BuildReport; seconds: number; peakRssMb: number } | undefined;
  const rebuiltAfterRna: string[] = [];
  let scopeCommunes = 0;
  let depCommunes = 0;
  let disk = { bytes: 0, files: 0 };
  let packStats: Record<string, string> = {};
  let dbBytes = 0;
  let fatal: string | undefined;
  let migrateSeconds = 0;
  /** When the loads ran in an earlier --load-only run: its date and load averages. */
  let loadedBy: { started: string; loadBefore: string; loadAfter: string } | undefined;

  /** Generates the input (timed apart), loads it through the runner (timed, peak RSS), deletes the generated files. */
  const load = async (id: string, gen: () => Promise<Input>, extra: Partial<RunOptions> = {}, label?: string) => {
    const g = await measure(gen);
    const inp = g.result;
    await setEnv({ MIRROR_DIR: inp.mirror ?? '' });
    log(`${id}: generated in ${g.seconds.toFixed(1)} s (${inp.input}); loading…`);
    const row: LoadRow = { id: label ? `${id} (${label})` : id, input: inp.input, genSeconds: g.seconds, seconds: 0, peakRssMb: 0 };
    const t0 = Date.now();
    try {
      const m = await measure(() =>
        runSource(id, { file: inp.file, resource: inp.resource, trigger: 'test', log: (x) => log(`[${id}] ${x}`), ...extra }),
      );
      Object.assign(row, { seconds: m.seconds, peakRssMb: m.peakRssMb, report: m.result });
      log(
        `${id}: ${m.result.status} in ${m.seconds.toFixed(1)} s, read ${m.result.read}, loaded ${m.result.loaded}, rejected ${m.result.rejected}, published ${m.result.published}`,
      );
    } catch (err) {
      row.seconds = (Date.now() - t0) / 1000;
      row.error = (err as Error).message;
      log(`${id}: FAILED: ${(err as Error).stack}`);
    }
    loads.push(row);
    for (const f of inp.cleanup ?? []) fs.rmSync(f, { recursive: true, force: true });
  };
  const dirFor = (id: string) => {
    const d = path.join(work, 'in', id);
    fs.mkdirSync(d, { recursive: true });
    return d;
  };

  try {
    if (REUSE) {
      const { rows } = await pool().query(`select payload from bench_loads`);
      if (rows.length !== 1) throw new Error(`${REUSE} holds no bench_loads row: not a database kept by --load-only`);
      const p = rows[0].payload as { loads: LoadRow[]; migrateSeconds: number; started: string; loadBefore: string; loadAfter: string };
      loads.push(...p.loads);
      migrateSeconds = p.migrateSeconds;
      loadedBy = { started: p.started, loadBefore: p.loadBefore, loadAfter: p.loadAfter };
      log(`reusing ${REUSE}, loaded by the run of ${p.started}`);
      // Migrations added since the loads (a column a pack query reads, filled from what was loaded),
      // and no pack state of an earlier reuse: every reuse's first build is a first build.
      await migrate(url);
      await pool().query(`truncate pack_builds, pack_versions, pack_build_communes, pack_build_departements`);
    } else {
      const mg = await measure(() => migrate(url));
      migrateSeconds = mg.seconds;
      await load('cog', async () => ({ input: 'embedded (@etalab/decoupage-administratif)' }));

      const realPop = fs.existsSync(path.join(SHARED, 'population', 'donnees_communes.csv'));
      await load('populations', async () =>
        realPop
          ? {
              mirror: SHARED,
              input: `real: ../shared/data/population/donnees_communes.csv (${mb(size(path.join(SHARED, 'population', 'donnees_communes.csv')))}), populations légales 2021`,
            }
          : { input: 'embedded (@etalab/decoupage-administratif)' },
      );

      await load('recensement', async () => {
        const d = dirFor('recensement');
        const { csv, meta } = genRecensement(d);
        const file = path.join(d, 'base-cc-evol-struct-pop-2022_csv.zip');
        await zipFiles(file, { 'base-cc-evol-struct-pop-2022.CSV': csv, 'meta_base-cc-evol-struct-pop-2022.CSV': meta });
        return {
          file,
          resource: 'evol-struct-pop',
          cleanup: [d],
          input: `generated base-cc, every commune and arrondissement × ${RECENSEMENT_VARS} variables: ${mb(size(csv))} CSV, ${mb(size(file))} zip`,
        };
      });

      await load('etat-civil', async () => {
        const d = dirFor('etat-civil');
        const mirror = path.join(d, 'mirror');
        fs.mkdirSync(mirror);
        let csvBytes = 0,
          zipBytes = 0;
        for (const [kind, m] of [
          ['NAIS', 'LVB'],
          ['DECES', 'DTH'],
        ]) {
          const csv = path.join(d, `DS_ETAT_CIVIL_${kind}_COMMUNES_data.csv`);
          genEtatCivil(csv, m);
          const zip = path.join(mirror, `DS_ETAT_CIVIL_${kind}_COMMUNES_CSV_FR.zip`);
          await zipFiles(zip, { [path.basename(csv)]: csv });
          csvBytes += size(csv);
          zipBytes += size(zip);
        }
        return {
          mirror,
          cleanup: [d],
          input: `generated naissances + décès 2008–2024, every commune: ${mb(csvBytes)} CSV, ${mb(zipBytes)} zip`,
        };
      });

      await load('equipements', async () => {
        const d = dirFor('equipements');
        const csv = path.join(d, 'BPE24.csv');
        genEquipements(csv);
        const file = path.join(d, 'BPE24.zip');
        await zipFiles(file, { 'BPE24.csv': csv });
        return {
          file,
          cleanup: [d],
          input: `generated BPE24 layout, ${fmt(EQUIPEMENTS_ROWS)} equipments (≈ 1/10 of the national file): ${mb(size(csv))} CSV, ${mb(size(file))} zip`,
        };
      });

      await load('elections', async () => {
        const d = dirFor('elections');
        const file = path.join(d, 'resultats-definitifs-par-commune.csv');
        const n = genElections(file);
        return {
          file,
          resource: 'europeennes-2024',
          cleanup: [d],
          input: `generated européennes 2024 per-commune layout, ${fmt(n)} communes × 38 lists: ${mb(size(file))}`,
        };
      });

      await load('budgets', async () => {
        const d = dirFor('budgets');
        const g = genBudgets(d);
        return {
          mirror: d,
          cleanup: [d],
          input: `generated OFGL + DGFiP at 10× the fixtures (the only generator there is; not national size): ${g.rows} rows, ${mb(size(g.ofgl) + size(g.dgfip))}`,
        };
      });

      await load('arcep', async () => {
        const d = dirFor('arcep');
        const file = path.join(d, '2024_T3_sites_Metropole.csv');
        genArcep(file, ARCEP_ROWS);
        return { file, cleanup: [d], input: `generated sites file, ${fmt(ARCEP_ROWS)} sites: ${mb(size(file))}` };
      });

      await load('atmo', async () => {
        const d = dirFor('atmo');
        const file = path.join(d, 'ind_atmo_2021.geojson');
        const n = genAtmo(file, ATMO_DAYS);
        return {
          file,
          cleanup: [d],
          input: `generated GeoJSON, every metropolitan commune × ${ATMO_DAYS} days + 200 EPCI: ${fmt(n)} features, ${mb(size(file))}`,
        };
      });

      const realGeo = fs.existsSync(path.join(SHARED, 'geo'));
      if (realGeo) {
        await load('contours', async () => {
          const files = fs.readdirSync(path.join(SHARED, 'geo'));
          const bytes = files.reduce((s, f) => s + size(path.join(SHARED, 'geo', f)), 0);
          return {
            mirror: SHARED,
            input: `real: ../shared/data/geo, ${files.length} files (${mb(bytes)}): communes of 35, 2A, 75 (75056 only), 974 + outline of 35 — no national contour file here`,
          };
        });
      } else {
        loads.push({
          id: 'contours',
          input: 'absent (no ../shared/data/geo)',
          genSeconds: 0,
          seconds: 0,
          peakRssMb: 0,
          error: 'not loaded',
        });
      }

      await load(
        'ban',
        async () => {
          const d = dirFor('ban');
          const file = path.join(d, 'adresses-france.csv.gz');
          const r = await genBan(BAN_ROWS, file, 1);
          return {
            file,
            cleanup: [d],
            input: `generated national layout, ${fmt(r.rows)} addresses over every commune (by population) — ${((100 * r.rows) / 26_000_000).toFixed(0)} % of the national 26 M: ${mb(r.bytes)} CSV, ${mb(r.gzBytes)} gz`,
          };
        },
        { millesime: '2024-06-01' }, // a generated file: no upstream date
      );

      // The socle sources (issue 14), file by file as `dotation run <source> --inline --file …`.
      for (const s of PREVIOUS ? [] : socleSources(SCALE)) {
        const d = dirFor(s.source);
        const g = await measure(() => s.generate(d));
        log(`${s.source}: generated in ${g.seconds.toFixed(1)} s`);
        for (const [k, l] of g.result.entries()) {
          await load(s.source, async () => ({ file: l.file, input: l.input, cleanup: [l.file] }), { millesime: l.millesime }, l.label);
          if (k === 0) loads[loads.length - 1].genSeconds = g.seconds;
        }
        fs.rmSync(d, { recursive: true, force: true });
      }
    }
    if (LOAD_ONLY) {
      await pool().query(`create table bench_loads (payload jsonb not null)`);
      await pool().query(`insert into bench_loads values ($1)`, [
        JSON.stringify({ loads, migrateSeconds, started: started.toISOString(), loadBefore, loadAfter: loadavg() }),
      ]);
      log(`loads kept in ${name}: run the pack steps with --reuse ${name}`);
    }

    // Packs: first build into an empty PACKS_DIR, then again with nothing changed.
    if (LOAD_ONLY) return;
    await setEnv({ MIRROR_DIR: '' });
    let last = Date.now();
    const progress = (label: string) => ({
      start() {},
      stop() {},
      update(n: number) {
        if (Date.now() - last > 15000) {
          last = Date.now();
          log(`${label}: ${n} communes done`);
        }
      },
    });
    const errLog = (m: string) => log(`[packs] ${m}`);
    scopeCommunes = Number(
      (
        await pool().query(
          `select count(*)::int as n from communes where type in ('commune-actuelle', 'arrondissement-municipal') and ($1::text[] is null or departement = any($1))`,
          [DEPARTEMENTS ?? null],
        )
      ).rows[0].n,
    );
    log(`packs: first build of ${scopeCommunes} communes (load average ${loadavg()})`);
    full = await measure(() =>
      buildPacks({ concurrency: CONCURRENCY, departements: DEPARTEMENTS, log: errLog, progress: progress('first build') }),
    );
    log(
      `packs: first build ${full.seconds.toFixed(1)} s: built ${full.result.built}, unchanged ${full.result.unchanged}, failed ${full.result.failed}`,
    );
    disk = diskUsage(packsDir);
    const {
      rows: [st],
    } = await pool().query(
      `select count(*)::int as n, avg(bytes)::bigint as avg, percentile_cont(0.5) within group (order by bytes)::bigint as p50,
              percentile_cont(0.99) within group (order by bytes)::bigint as p99, max(bytes)::bigint as max,
              (array_agg(code order by bytes desc))[1] as max_code from pack_builds`,
    );
    packStats = Object.fromEntries(Object.entries(st).map(([k, v]) => [k, String(v)]));
    dbBytes = Number((await pool().query(`select pg_database_size(current_database()) as b`)).rows[0].b);
    if (!FIRST_ONLY) {
      log(`packs: again (nothing changed)`);
      last = Date.now();
      again = await measure(() =>
        buildPacks({ concurrency: CONCURRENCY, departements: DEPARTEMENTS, log: errLog, progress: progress('again') }),
      );
      log(
        `packs: again ${again.seconds.toFixed(1)} s: built ${again.result.built}, unchanged ${again.result.unchanged}, failed ${again.result.failed}`,
      );

      // One département's BAN file republished (its own adresses-35.csv.gz, every 50th street renamed):
      // the whole build is asked for; only that département's communes are re-read.
      const depFile = path.join(work, `adresses-${RELOADED_DEP}.csv.gz`);
      await exportDepartement(pool(), RELOADED_DEP, depFile);
      const rl = await measure(() =>
        runSource('ban', { file: depFile, millesime: '2024-06-02', trigger: 'test', log: (x) => log(`[ban ${RELOADED_DEP}] ${x}`) }),
      );
      depReload = { seconds: rl.seconds, rows: rl.result.published };
      depCommunes = Number(
        (
          await pool().query(
            `select count(*)::int as n from communes where type in ('commune-actuelle', 'arrondissement-municipal') and departement = $1`,
            [RELOADED_DEP],
          )
        ).rows[0].n,
      );
      log(`packs: after the reload of ${RELOADED_DEP} (${rl.seconds.toFixed(1)} s)`);
      afterReload = await measure(() =>
        buildPacks({ concurrency: CONCURRENCY, departements: DEPARTEMENTS, log: errLog, progress: progress('after reload') }),
      );
      log(
        `packs: after reload ${afterReload.seconds.toFixed(1)} s: built ${afterReload.result.built}, unchanged ${afterReload.result.unchanged} (skipped ${afterReload.result.skipped})`,
      );

      // A new monthly RNA archive (rna_waldec_20261101.zip): the same generated associations, but the
      // first one of RNA_CHANGED communes renamed. Only their packs should be rebuilt (associations'
      // slice versions, src/packs/slices.ts); every other commune is skipped unread or found unchanged.
      // The RNA step needs the socle sources.
      if (!PREVIOUS) {
        const { rows: picked } = await pool().query(
          `select distinct a.code_commune as code, md5(a.code_commune) from association a join communes c on c.code = a.code_commune and c.type = 'commune-actuelle'
        where a.registre = 'waldec' and a.par_code_postal is not true and a.code_source = a.code_commune
          and a.code_commune not in ('75056', '69123', '13055') and ($1::text[] is null or c.departement = any($1))
        order by md5(a.code_commune) limit $2`,
          [DEPARTEMENTS ?? null, RNA_CHANGED],
        );
        const changed = picked.map((r) => r.code as string);
        const rnaDir = dirFor('associations-republished');
        const rg = await measure(() =>
          generateRna('waldec', scaled(SOCLE_NATIONAL.waldec, SCALE), rnaDir, { date: '20261101', changed: new Set(changed) }),
        );
        const rr = await measure(() =>
          runSource('associations', { file: rg.result.file, trigger: 'test', log: (x) => log(`[associations 2026-11] ${x}`) }),
        );
        fs.rmSync(rnaDir, { recursive: true, force: true });
        rnaReload = { seconds: rr.seconds, genSeconds: rg.seconds, rows: rr.result.read, changed };
        log(`packs: after a new RNA archive changing ${changed.join(', ')} (reload ${rr.seconds.toFixed(1)} s, ${rr.result.status})`);
        afterRna = await measure(() =>
          buildPacks({
            concurrency: CONCURRENCY,
            departements: DEPARTEMENTS,
            log: errLog,
            progress: progress('after RNA'),
            onCommune: (o) => {
              if (o.status === 'built') rebuiltAfterRna.push(o.code);
            },
          }),
        );
        log(
          `packs: after the RNA archive ${afterRna.seconds.toFixed(1)} s: built ${afterRna.result.built} (${rebuiltAfterRna.join(', ')}), unchanged ${afterRna.result.unchanged} (skipped ${afterRna.result.skipped})`,
        );
      }
    }
  } catch (err) {
    fatal = (err as Error).stack ?? String(err);
    log(`FATAL: ${fatal}`);
  } finally {
    await closePools().catch(() => undefined);
    if (process.env.BENCH_KEEP !== '1' && !LOAD_ONLY && !REUSE)
      await admin.query(`drop database if exists ${name} with (force)`).catch((e) => log(`drop failed: ${e}`));
    await admin.end();
    fs.rmSync(work, { recursive: true, force: true });
  }

  // ---- report
  const loadAfter = loadavg();
  const loadRows = loads.map((r) => {
    const p = r.report;
    const status = r.error ? `**failed**: ${r.error.replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 300)}` : p!.status;
    const rate = p && r.seconds > 0 ? fmt(Math.round(p.read / r.seconds)) : '–';
    return `| ${r.id} | ${r.input} | ${r.genSeconds.toFixed(1)} | ${r.seconds.toFixed(1)} | ${rate} | ${p ? fmt(p.read) : '–'} | ${p ? fmt(p.rejected) : '–'} | ${p ? fmt(p.published) : '–'} | ${r.peakRssMb.toFixed(0)} | ${status} |`;
  });
  const totalLoad = loads.reduce((s, r) => s + r.seconds, 0);
  const totalGen = loads.reduce((s, r) => s + r.genSeconds, 0);
  const packRow = (label: string, m: typeof full, note: string) =>
    m
      ? `| ${label} | ${m.seconds.toFixed(1)} | ${((m.result.built + m.result.unchanged + m.result.failed) / m.seconds).toFixed(0)} | ${fmt(m.result.built)} | ${fmt(m.result.unchanged)} | ${fmt(m.result.failed)} | ${m.peakRssMb.toFixed(0)} | ${note} |`
      : `| ${label} | – | – | – | – | – | – | not run |`;
  const failures = (m: typeof full, label: string) => {
    if (!m || !m.result.failed) return '';
    const byMsg = new Map<string, number>();
    for (const e of m.result.errors) byMsg.set(e.error, (byMsg.get(e.error) ?? 0) + 1);
    return `\nFailed packs (${label}), by error:\n\n${[...byMsg.entries()].map(([e, n]) => `- ${n} communes: \`${e.replace(/`/g, "'").slice(0, 500)}\``).join('\n')}\n`;
  };
  const n = full ? full.result.built + full.result.unchanged + full.result.failed : 0;
  const national = SCALE === 1 && !DEPARTEMENTS;
  const goal = full
    ? !national
      ? `not measured (a check: ${DEPARTEMENTS ? `packs of département(s) ${DEPARTEMENTS.join(', ')} only, ` : ''}scale ${SCALE})`
      : full.seconds <= 600
        ? `**met** (${(full.seconds / 60).toFixed(1)} min for ${fmt(n)} packs)`
        : `**not met** (${(full.seconds / 60).toFixed(1)} min for ${fmt(n)} packs)`
    : 'not measured';
  const rnaNote = afterRna
    ? `${fmt(afterRna.result.skipped)} skipped unread, ${fmt(afterRna.result.built + afterRna.result.unchanged - afterRna.result.skipped)} re-read; rebuilt: ${rebuiltAfterRna.join(', ') || 'none'} — the ${rnaReload!.changed.length} communes changed: ${rnaReload!.changed.join(', ')} (${
        rebuiltAfterRna.length === rnaReload!.changed.length && rnaReload!.changed.every((c) => rebuiltAfterRna.includes(c))
          ? '**only the packs whose slice changed**'
          : '**not only those**'
      }); reload of the archive (${fmt(rnaReload!.rows)} rows) ${rnaReload!.seconds.toFixed(1)} s before, generated in ${rnaReload!.genSeconds.toFixed(1)} s`
    : '';
  const previousGoal = full
    ? !national
      ? 'not measured (not at national size)'
      : `${full.seconds <= PREVIOUS_SECONDS * 1.1 ? '**within 10 %**' : '**more than 10 % slower**'}: ${full.seconds.toFixed(1)} s against ${PREVIOUS_SECONDS} s (${(full.seconds / PREVIOUS_SECONDS).toFixed(2)}×)`
    : 'not measured';
  const md = `## Every pack${PREVIOUS ? ', the sources of the 2026-11-26 run (no socle source),' : ', every source'} at national size (bench/packs-national.ts${PREVIOUS ? ' --previous-sources' : ''})

Measured on ${started.toISOString().slice(0, 10)}, one run, with \`npx tsx bench/packs-national.ts${PREVIOUS ? ' --previous-sources' : ''}${REUSE ? ' --reuse …' : ''}${FIRST_ONLY ? ' --first-build-only' : ''}${SCALE !== 1 ? ` --scale ${SCALE}` : ''}${DEPARTEMENTS ? ` --departements ${DEPARTEMENTS.join(',')}` : ''}\` (BAN rows: ${fmt(BAN_ROWS)}).

- Machine: ${machine()}. Load average before ${loadBefore}, after ${loadAfter} (1/5/15 min, this run's own load included: check that nothing else ran); PostgreSQL on the same host.${
    loadedBy
      ? `\n- The loads below ran in an earlier \`--load-only\` run (started ${loadedBy.started}, load average before ${loadedBy.loadBefore}, after ${loadedBy.loadAfter}); this run did the pack steps only, on the database it kept (\`--reuse\`).`
      : ''
  }
- One scratch database (migrations ${migrateSeconds.toFixed(1)} s), every source loaded through the runner (\`runSource\`), inputs from the parser benchmarks' generators (bench/parsers/*.ts, bench/ban/generate.ts), ${PREVIOUS ? '' : `the socle generators (bench/socle/generate.ts, bench/sante/generate.ts: sizes and their sources stated there; scale ${SCALE}) `}or real files of ../shared/data; generated files deleted after their load. NETWORK=never.
- BAN: ${fmt(BAN_ROWS)} generated addresses (${((100 * BAN_ROWS) / 26_000_000).toFixed(0)} % of the national ≈ 26 M) spread over every commune in proportion to population — pessimistic for big cities (Paris gets ≈ 3 % of all addresses, ten times its real share).
- Not at national size: équipements (${fmt(EQUIPEMENTS_ROWS)} equipments, ≈ 1/10), budgets (10× the fixtures), contours (only the real files of ../shared/data/geo). Not loaded: iris, qpv (no generator; their pack sections are absent).
- Packs: ${settings().PACK_BUILD_PROCESSES > 1 && scopeCommunes >= 1000 ? `${settings().PACK_BUILD_PROCESSES} build processes (PACK_BUILD_PROCESSES, default: the machine's cores), each one département at a time` : `one process, ${CONCURRENCY} départements at once`}, 4 communes at once per département, into an empty PACKS_DIR; ${DEPARTEMENTS ? `only the ${fmt(scopeCommunes)} communes of département(s) ${DEPARTEMENTS.join(', ')}` : `every commune actuelle and arrondissement municipal (${fmt(scopeCommunes)})`}.

### Loads

| Source | Input | Generation (s) | Load (s) | Rows/s | Read | Rejected | Published | Peak RSS (MB) | Status |
|---|---|---:|---:|---:|---:|---:|---:|---:|---|
${loadRows.join('\n')}

Total load time ${totalLoad.toFixed(0)} s (${(totalLoad / 60).toFixed(1)} min), plus ${totalGen.toFixed(0)} s generating inputs.

### Packs

| Step | Seconds | Packs/s | Built | Unchanged | Failed | Peak RSS (MB) | Notes |
|---|---:|---:|---:|---:|---:|---:|---|
${packRow('build every pack (first build)', full, `${mb(disk.bytes)} in ${fmt(disk.files)} files`)}
${packRow('build every pack again (nothing changed)', again, 'skipped unread: no source republished')}
${packRow(`build every pack after département ${RELOADED_DEP}'s BAN file was republished`, afterReload, afterReload ? `${fmt(afterReload.result.skipped)} skipped unread, ${fmt(afterReload.result.built + afterReload.result.unchanged - afterReload.result.skipped)} re-read (département ${RELOADED_DEP}: ${fmt(depCommunes)} communes); reload of its ${fmt(depReload?.rows ?? 0)} addresses ${depReload?.seconds.toFixed(1)} s before` : '')}
${packRow(`build every pack after a new RNA archive (associations) changing ${RNA_CHANGED} communes`, afterRna, rnaNote)}

- Disk: packs ${mb(disk.bytes)} in ${fmt(disk.files)} files (ZIP + manifest per commune); pack size avg ${mb(Number(packStats.avg ?? 0))}, median ${mb(Number(packStats.p50 ?? 0))}, p99 ${mb(Number(packStats.p99 ?? 0))}, max ${mb(Number(packStats.max ?? 0))} (${packStats.max_code ?? '–'}). Database after the loads: ${mb(dbBytes)}.
- Process maxRSS over the whole run: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB.${settings().PACK_BUILD_PROCESSES > 1 ? " The packs' Peak RSS column is the parent process's: the build processes' own peaks are not measured." : ''}
${
  PREVIOUS
    ? `- Sources: those of the 2026-11-26 run (cog, populations, recensement, état civil, équipements, elections, budgets, arcep, atmo, contours, BAN); the socle sources are not loaded, so their pack sections are absent.\n- Goal (issue 11): the first build within 10 % of the 2026-11-26 run's (${PREVIOUS_SECONDS} s, same sources, same generators): ${previousGoal}`
    : `- Goal (issues 5 and 14): every pack (≈ 35,000) with every source, old and new, in under 10 minutes on this 2-core machine: ${goal}`
}${BAN_ROWS < 26_000_000 ? `, with the BAN at ${((100 * BAN_ROWS) / 26_000_000).toFixed(0)} % of its national size` : ''}.
${failures(full, 'first build')}${failures(again, 'again')}${failures(afterRna, 'after the RNA archive')}${fatal ? `\n**The run stopped on an error**: \`${fatal.split('\n')[0]}\`\n` : ''}`;
  if (WRITE) writeBenchmarkSection(PREVIOUS ? 'packs-national-previous' : FIRST_ONLY ? 'packs-national-first-build' : 'packs-national', md);
  else log('BENCHMARKS.md not written (no --write)');
  console.log(md);
  console.log(
    JSON.stringify(
      {
        loads: loads.map((l) => ({ ...l, report: l.report && { ...l.report, files: undefined } })),
        full,
        again,
        afterReload,
        rnaReload,
        afterRna,
        rebuiltAfterRna,
        disk,
        packStats,
        dbBytes,
        fatal,
      },
      null,
      1,
    ),
  );
  if (fatal) process.exitCode = 1;
}

/** One département's addresses as its own BAN file (adresses-<dep>.csv.gz, national layout), every 50th street renamed. */
async function exportDepartement(db: ReturnType<typeof pool>, dep: string, file: string): Promise<void> {
  const cols = BAN_COLUMNS.map((c) => (c === 'nom_voie' ? `case when line % 50 = 0 then nom_voie || ' (renommée)' else nom_voie end` : c));
  const client = await db.connect();
  try {
    const out = client.query(
      copyTo(
        `copy (select ${cols.join(', ')} from adresses where departement = '${dep}' order by line) to stdout with (format csv, delimiter ';', header false)`,
      ),
    );
    await pipeline(
      Readable.from(
        (async function* () {
          yield Buffer.from(BAN_COLUMNS.join(';') + '\n');
          yield* out;
        })(),
      ),
      zlib.createGzip(),
      fs.createWriteStream(file),
    );
  } finally {
    client.release();
  }
}

main().catch(async (err) => {
  console.error(err);
  await closePools().catch(() => undefined);
  process.exit(1);
});
