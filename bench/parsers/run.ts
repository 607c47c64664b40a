/**
 * Runs every parser benchmark (each feeds its pipeline a generated file about ten times its
 * fixture, or national size) one after the other and writes the "Parsers" section of
 * BENCHMARKS.md. Run: `npx tsx bench/parsers/run.ts [name …]`.
 */
import os from 'node:os';
import { machine, writeBenchmarkSection } from '../measure';

const BENCHES: Record<
  string,
  () => Promise<{ default?: unknown; bench: () => Promise<{ name: string; rows: number; seconds: number; peakRssMb: number }> }>
> = {
  recensement: () => import('./recensement'),
  'etat-civil': () => import('./etat-civil'),
  equipements: () => import('./equipements'),
  elections: () => import('./elections'),
  budgets: () => import('./budgets'),
  arcep: () => import('./arcep'),
  atmo: () => import('./atmo'),
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(BENCHES);
  const rows: string[] = [];
  const loadBefore = os.loadavg()[0].toFixed(1);
  for (const id of wanted) {
    const load = BENCHES[id];
    if (!load) throw new Error(`unknown bench '${id}' (${Object.keys(BENCHES).join(', ')})`);
    console.error(`bench ${id}…`);
    const r = await (await load()).bench();
    console.error(JSON.stringify(r));
    rows.push(
      `| ${r.name} | ${r.rows.toLocaleString('en-US')} | ${r.seconds.toFixed(1)} | ${Math.round(r.rows / r.seconds).toLocaleString('en-US')} | ${r.peakRssMb} |`,
    );
  }
  writeBenchmarkSection(
    'parsers',
    `## Parsers (one pipeline each, generated input at about ten times the fixture or national size)

Measured by \`npx tsx bench/parsers/run.ts\` on ${new Date().toISOString().slice(0, 10)}; machine: ${machine()}; load average ${loadBefore} at start and ${os.loadavg()[0].toFixed(1)} at the end (other processes share the machine: figures are pessimistic).
Each run: scratch database, referential loaded, then the timed run (decode → parse → COPY into staging → SQL transform → publish). Peak RSS is sampled every 50 ms during the timed run; flat memory means the input was streamed.

| Pipeline | Rows read | Seconds | Rows/s | Peak RSS (MB) |
|---|---:|---:|---:|---:|
${rows.join('\n')}
`,
  );
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
