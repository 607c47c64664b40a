/**
 * Santé load benchmark at national size: a generated Annuaire Santé personne-activité file
 * (default 2,000,000 lines ≈ 780 MB, the national file is ≈ 760 MB) and FINESS extract (100,000
 * establishments, ≈ 200,000 records), each loaded alone through the runner (`--file`) into a
 * scratch database (migrations + referential): wall time, rows, and the peak RSS of this process
 * (the RPPS file is streamed line by line and COPYed; it is never held in memory). Writes the
 * `sante` section of BENCHMARKS.md (not with BENCH_WRITE=0: checks at a small size).
 *
 *   npx tsx bench/sante/bench.ts [rpps lines=2000000] [finess establishments=100000]
 *
 * Uses its own database (dotation_bench_sante) and BENCH_DIR (default /tmp/dotation-bench-sante);
 * the generated files are deleted at the end unless BENCH_KEEP=1.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resetSettings } from '../../config/settings';
import { closePools, pool } from '../../src/db/pool';
import { migrate } from '../../src/db/migrate';
import { runSource, type RunReport } from '../../src/engine/runner';
import { freshDb, machine, measure, writeBenchmarkSection } from '../measure';
import { generateFiness, generateRpps } from './generate';

const DIR = process.env.BENCH_DIR ?? '/tmp/dotation-bench-sante';

interface Step {
  label: string;
  input: string;
  genSeconds: number;
  seconds: number;
  peakRssMb: number;
  report: RunReport;
  loadAverage: string;
}

async function bench(rppsLines: number, finessCount: number): Promise<{ steps: Step[]; rows: Record<string, number> }> {
  fs.mkdirSync(DIR, { recursive: true });
  const url = await freshDb('dotation_bench_sante');
  Object.assign(process.env, {
    DATABASE_URL: url,
    NETWORK: 'never',
    MIRROR_DIR: '',
    DATA_DIR: path.join(DIR, 'data'),
    LOG_LEVEL: 'silent',
  });
  resetSettings();
  await migrate(url);
  await runSource('cog', { trigger: 'test', log: () => undefined });
  const steps: Step[] = [];
  const log = (m: string) => console.error(`${new Date().toISOString()} ${m}`);

  const finess = path.join(DIR, 'etalab-cs1100507-stock-20260512-0339.csv');
  const rpps = path.join(DIR, 'PS_LibreAcces_Personne_activite_202606101208.txt');
  const g1 = await measure(() => generateFiness(finessCount, finess));
  const g2 = await measure(() => generateRpps(rppsLines, rpps));
  log(
    `generated: FINESS ${g1.result.bytes} bytes in ${g1.seconds.toFixed(1)} s, RPPS ${g2.result.bytes} bytes in ${g2.seconds.toFixed(1)} s`,
  );

  for (const [label, file, g, input] of [
    ['FINESS', finess, g1.seconds, `${finessCount.toLocaleString('en-US')} establishments, ${(g1.result.bytes / 1048576).toFixed(0)} MB`],
    ['RPPS', rpps, g2.seconds, `${rppsLines.toLocaleString('en-US')} lines, ${(g2.result.bytes / 1048576).toFixed(0)} MB`],
  ] as const) {
    const loadAverage = os.loadavg()[0].toFixed(1);
    const m = await measure(() => runSource('sante', { file, trigger: 'test', force: true, log: (x) => log(`[${label}] ${x}`) }));
    log(`${label}: ${m.result.status} in ${m.seconds.toFixed(1)} s, read ${m.result.read}, peak RSS ${m.peakRssMb.toFixed(0)} MB`);
    steps.push({ label, input, genSeconds: g, seconds: m.seconds, peakRssMb: m.peakRssMb, report: m.result, loadAverage });
  }
  const rows: Record<string, number> = {};
  for (const t of ['sante_etablissement', 'sante_profession', 'sante_savoir_faire'])
    rows[t] = Number((await pool().query(`select count(*) as n from ${t}`)).rows[0].n);
  if (process.env.BENCH_KEEP !== '1') fs.rmSync(DIR, { recursive: true, force: true });
  await closePools();
  return { steps, rows };
}

function markdown(r: Awaited<ReturnType<typeof bench>>): string {
  return `## Santé (FINESS and Annuaire Santé at national size)

Measured by \`npx tsx bench/sante/bench.ts\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; machine: ${machine()}.
Generated inputs in the producers' layouts (bench/sante/generate.ts), each loaded alone with \`--file\` through the runner into a scratch database.

| File | Input | Load average | Read | Loaded | Rejected | Load time | Peak RSS (Node) |
|---|---|---|---|---|---|---|---|
${r.steps.map((s) => `| ${s.label} | ${s.input} | ${s.loadAverage} | ${s.report.read.toLocaleString('en-US')} | ${s.report.loaded.toLocaleString('en-US')} | ${s.report.rejected.toLocaleString('en-US')} | **${s.seconds.toFixed(1)} s** | ${s.peakRssMb.toFixed(0)} MB |`).join('\n')}

Published: ${Object.entries(r.rows)
    .map(([t, n]) => `${t} ${n.toLocaleString('en-US')} rows`)
    .join(', ')}.
`;
}

if (require.main === module) {
  const rppsLines = Number(process.argv[2] ?? 2_000_000);
  const finessCount = Number(process.argv[3] ?? 100_000);
  bench(rppsLines, finessCount)
    .then((r) => {
      const md = markdown(r);
      console.log(md);
      if (process.env.BENCH_WRITE !== '0') writeBenchmarkSection('sante', md);
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
