/**
 * Node-only measure of the BAN splitter (pipelines/ban/lines.ts), the hot path of the BAN load:
 * the synthetic file is gunzipped into memory in 1 MB chunks (as the load reads it), then scanned
 * `repeats` times; the best and median rounds are printed (MB/s, ns a line). With `--compare
 * <module>`, another build of lines.ts (e.g. a copy of the previous version) is measured
 * alternately in the same process, so both see the same machine load. Prints only, writes
 * nothing; the generated file is deleted at the end unless BENCH_BAN_KEEP=1.
 *
 *   npx tsx bench/ban/splitter.ts [rows=500000] [repeats=7] [--compare /path/to/lines.ts]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { benchCommunes, generate } from './generate';
import * as current from '../../pipelines/ban/lines';

type Lines = typeof current;

async function chunksOf(rows: number): Promise<Buffer[]> {
  const dir = process.env.BENCH_DIR ?? '/tmp/dotation-bench-ban';
  const gz = path.join(dir, `splitter-${rows}.csv.gz`);
  if (!fs.existsSync(gz)) await generate(rows, gz);
  const csv = zlib.gunzipSync(fs.readFileSync(gz));
  if (process.env.BENCH_BAN_KEEP !== '1') fs.rmSync(gz, { force: true });
  const body = csv.subarray(csv.indexOf(0x0a) + 1);
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += 1 << 20) out.push(body.subarray(i, Math.min(body.length, i + (1 << 20))));
  return out;
}

function round(m: Lines, chunks: Buffer[], header: string[], codes: Map<string, string>): { seconds: number; good: number; bad: number } {
  const s = new m.BanSplitter({ delimiter: 0x3b, header, lookup: (c) => codes.get(c), expectedDep: null, onBad: () => undefined });
  const t0 = process.hrtime.bigint();
  let n = 0;
  for (const c of chunks) n += s.scan(c).length;
  n += s.end().length;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (n === 0) throw new Error('no output');
  return { seconds, good: s.good, bad: s.bad };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const ci = args.indexOf('--compare');
  const other = ci >= 0 ? args.splice(ci, 2)[1] : null;
  const rows = Number(args[0] ?? 500_000);
  const repeats = Number(args[1] ?? 7);
  const chunks = await chunksOf(rows);
  const mb = chunks.reduce((s, c) => s + c.length, 0) / 1e6;
  const header =
    'id;id_fantoir;numero;rep;nom_voie;code_postal;code_insee;nom_commune;code_insee_ancienne_commune;nom_ancienne_commune;x;y;lon;lat;type_position;alias;nom_ld;libelle_acheminement;nom_afnor;source_position;source_nom_voie;certification_commune;cad_parcelles'.split(
      ';',
    );
  const codes = new Map(benchCommunes().map((c) => [c.code, c.code]));
  const builds: [string, Lines][] = [['current', current]];
  if (other) builds.push([path.basename(path.dirname(other)) + '/' + path.basename(other), (await import(path.resolve(other))) as Lines]);
  const times = new Map<string, number[]>(builds.map(([n]) => [n, []]));
  for (const [, m] of builds) round(m, chunks, header, codes); // warm-up
  for (let k = 0; k < repeats; k++) {
    for (const [name, m] of k % 2 ? [...builds].reverse() : builds) {
      const r = round(m, chunks, header, codes);
      if (r.good + r.bad !== rows) throw new Error(`${name}: ${r.good} + ${r.bad} lines, ${rows} expected`);
      times.get(name)!.push(r.seconds);
    }
  }
  console.log(
    `splitter, ${rows.toLocaleString('en')} rows, ${mb.toFixed(1)} MB, ${repeats} rounds, load average ${os.loadavg()[0].toFixed(1)}`,
  );
  for (const [name, t] of times) {
    const sorted = [...t].sort((a, b) => a - b);
    const med = sorted[Math.floor(sorted.length / 2)];
    console.log(
      `  ${name}: best ${(sorted[0] * 1000).toFixed(0)} ms (${(mb / sorted[0]).toFixed(0)} MB/s, ${((sorted[0] / rows) * 1e9).toFixed(0)} ns a line), median ${(med * 1000).toFixed(0)} ms`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
