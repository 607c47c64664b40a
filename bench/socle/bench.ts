/**
 * Load benchmark of the socle sources (issue 14) at national size: each source's generated inputs
 * (bench/socle/inputs.ts: RNA ≈ 2.5 million rows, DECP 1.5 million records, Sitadel 3.4 million
 * authorisations, Annuaire Santé 2 million lines + FINESS, annuaire de l'éducation + IPS, élus,
 * GPU layers) loaded file by file through the runner (`runSource(source, { file })`, as
 * `npx dotation run <source> --inline --file …`) into a scratch database (migrations + referential):
 * wall time, rows read / loaded / rejected / published, peak RSS of this process (the pipelines run
 * in it; PostgreSQL's own memory is not counted), load average before each load.
 *
 *   npx tsx bench/socle/bench.ts [--scale 1] [--write] [source…]
 *
 * --scale 0.01 checks the whole chain on 1 % of the rows (per-commune sources — élus, urbanisme
 * municipality/documents — on 1 % of the communes). --write replaces the `socle` section of
 * BENCHMARKS.md (only do it at scale 1 on a quiet machine). Database dotation_bench_socle is
 * dropped at the end unless BENCH_KEEP=1; generated files are deleted after their load.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resetSettings } from '../../config/settings';
import { closePools, pool } from '../../src/db/pool';
import { migrate } from '../../src/db/migrate';
import { runSource, type RunReport } from '../../src/engine/runner';
import { freshDb, machine, measure, writeBenchmarkSection, BENCH_ADMIN_URL } from '../measure';
import { Client } from 'pg';
import { socleSources, type SocleLoad } from './inputs';

interface Row {
  source: string;
  load: SocleLoad;
  genSeconds: number;
  seconds: number;
  peakRssMb: number;
  loadAverage: string;
  report?: RunReport;
  error?: string;
}

const fmt = (x: number) => x.toLocaleString('en-US');
const log = (m: string) => console.error(`${new Date().toISOString()} ${m}`);
const loadavg = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ');

/** Generates and loads the sources named (all by default) at `scale`; returns one row per file. */
async function bench(scale: number, only: string[]): Promise<{ rows: Row[]; tables: Record<string, number> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-bench-socle-'));
  const name = 'dotation_bench_socle';
  const url = await freshDb(name);
  Object.assign(process.env, {
    DATABASE_URL: url,
    NETWORK: 'never',
    MIRROR_DIR: '',
    DATA_DIR: path.join(dir, 'data'),
    LOG_LEVEL: 'silent',
  });
  resetSettings();
  const rows: Row[] = [];
  try {
    await migrate(url);
    await runSource('cog', { trigger: 'test', log: () => undefined });
    for (const s of socleSources(scale).filter((x) => !only.length || only.includes(x.source))) {
      const d = path.join(dir, s.source);
      fs.mkdirSync(d, { recursive: true });
      const g = await measure(() => s.generate(d));
      log(`${s.source}: generated in ${g.seconds.toFixed(1)} s`);
      for (const [k, l] of g.result.entries()) {
        const row: Row = {
          source: s.source,
          load: l,
          genSeconds: k === 0 ? g.seconds : 0,
          seconds: 0,
          peakRssMb: 0,
          loadAverage: loadavg(),
        };
        const t0 = Date.now();
        try {
          const m = await measure(() =>
            runSource(s.source, {
              file: l.file,
              millesime: l.millesime,
              trigger: 'test',
              log: (x) => log(`[${s.source} ${l.label}] ${x}`),
            }),
          );
          Object.assign(row, { seconds: m.seconds, peakRssMb: m.peakRssMb, report: m.result });
          log(
            `${s.source} ${l.label}: ${m.result.status} in ${m.seconds.toFixed(1)} s, read ${m.result.read}, loaded ${m.result.loaded}, rejected ${m.result.rejected}, published ${m.result.published}, peak RSS ${m.peakRssMb.toFixed(0)} MB`,
          );
        } catch (err) {
          row.seconds = (Date.now() - t0) / 1000;
          row.error = (err as Error).message;
          log(`${s.source} ${l.label}: FAILED: ${(err as Error).stack}`);
        }
        rows.push(row);
        fs.rmSync(l.file, { force: true });
      }
      fs.rmSync(d, { recursive: true, force: true });
    }
    const tables: Record<string, number> = {};
    for (const t of [
      'association',
      'marche_public',
      'marche_public_commune',
      'permis_construire',
      'sante_etablissement',
      'sante_profession',
      'education_etablissement',
      'education_ips',
      'elu_municipal',
      'urbanisme_municipalite',
      'urbanisme_document',
      'urbanisme_zonage',
    ]) {
      const r = await pool()
        .query(`select count(*)::bigint as n from ${t}`)
        .catch(() => null);
      if (r) tables[t] = Number(r.rows[0].n);
    }
    return { rows, tables };
  } finally {
    await closePools().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    if (process.env.BENCH_KEEP !== '1') {
      const c = new Client({ connectionString: BENCH_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    }
  }
}

function markdown(scale: number, r: Awaited<ReturnType<typeof bench>>, started: Date, loadBefore: string): string {
  const lines = r.rows.map((x) => {
    const p = x.report;
    const status = x.error ? `**failed**: ${x.error.replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 200)}` : p!.status;
    return `| ${x.source} | ${x.load.input} | ${x.genSeconds ? x.genSeconds.toFixed(1) : ''} | ${x.loadAverage} | ${p ? fmt(p.read) : '–'} | ${p ? fmt(p.loaded) : '–'} | ${p ? fmt(p.rejected) : '–'} | ${p ? fmt(p.published) : '–'} | **${x.seconds.toFixed(1)}** | ${p && x.seconds > 0 ? fmt(Math.round(p.read / x.seconds)) : '–'} | ${x.peakRssMb.toFixed(0)} | ${status} |`;
  });
  const bySource = new Map<string, { seconds: number; peak: number }>();
  for (const x of r.rows) {
    const b = bySource.get(x.source) ?? { seconds: 0, peak: 0 };
    bySource.set(x.source, { seconds: b.seconds + x.seconds, peak: Math.max(b.peak, x.peakRssMb) });
  }
  return `## Socle sources (issue 14): load at national size (bench/socle/bench.ts)

Measured by \`npx tsx bench/socle/bench.ts${scale !== 1 ? ` --scale ${scale}` : ''} --write\` on ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC${scale !== 1 ? `, **at ${scale} of the national size**` : ''}.

- Machine: ${machine()}. Load average (1/5/15 min) before the run ${loadBefore}, after ${loadavg()}; before each load in the table (this bench's own load included).
- Inputs generated in each pipeline's layout (bench/socle/generate.ts, bench/sante/generate.ts; sizes and their sources stated there), spread over the communes by population; each file loaded alone through the runner (\`runSource(source, { file })\`, as \`dotation run --inline --file\`) into a scratch database (migrations + embedded referential); generated files deleted after their load. Generation time is given once per source.
- Peak RSS: this Node process (pipelines run in it), sampled every 100 ms; PostgreSQL's memory is not counted.

| Source | Input | Generation (s) | Load average | Read | Loaded | Rejected | Published | Load (s) | Rows/s | Peak RSS (MB) | Status |
|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|
${lines.join('\n')}

Per source: ${[...bySource.entries()].map(([s, b]) => `${s} ${b.seconds.toFixed(1)} s (peak ${b.peak.toFixed(0)} MB)`).join(', ')}.
Rows published: ${Object.entries(r.tables)
    .map(([t, n]) => `${t} ${fmt(n)}`)
    .join(', ')}.
`;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--scale');
  const scale = at >= 0 ? Number(args.splice(at, 2)[1]) : 1;
  const write = args.includes('--write');
  const only = args.filter((a) => !a.startsWith('--'));
  if (!(scale > 0 && scale <= 1)) throw new Error('--scale must be in ]0, 1]');
  const started = new Date();
  const before = loadavg();
  bench(scale, only)
    .then((r) => {
      const md = markdown(scale, r, started, before);
      console.log(md);
      if (write) writeBenchmarkSection('socle', md);
      if (r.rows.some((x) => x.error || x.report?.status === 'failed')) process.exitCode = 1;
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
