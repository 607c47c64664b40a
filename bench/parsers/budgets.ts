/**
 * Benchmark of the budgets pipeline on 10× the fixtures: the OFGL and DGFiP fixture rows repeated
 * for 10 blocks of real communes (codes taken from the package, so every copy is re-coded).
 * Reports rows, seconds and peak RSS. Run: `npx tsx bench/parsers/budgets.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inScratchDb } from './harness';
import { readPackageArray } from '../../pipelines/cog/embedded';

const FIX = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'budgets');
const TIMES = 10;

/** Rewrites the fixture `times` times, each copy on other communes; returns the data rows written. */
function multiply(src: string, dest: string, times: number, recode: (line: string, copy: number, i: number) => string): number {
  const text = fs.readFileSync(src, 'utf8');
  const [header, ...lines] = text.split('\n').filter(Boolean);
  const out: string[] = [header];
  for (let k = 0; k < times; k++) lines.forEach((l, i) => out.push(recode(l, k, i)));
  fs.writeFileSync(dest, out.join('\n') + '\n');
  return out.length - 1;
}

/** Writes the OFGL and DGFiP files, `TIMES` × the fixtures, into `dir` (upstream names, so `dir` works as MIRROR_DIR). */
export function generate(dir: string): { ofgl: string; dgfip: string; rows: number } {
  const communes = (readPackageArray('communes') as { code: string; type: string }[])
    .filter((c) => c.type === 'commune-actuelle' && /^\d{5}$/.test(c.code) && !/^9/.test(c.code))
    .map((c) => c.code);
  const pick = (k: number, i: number) => communes[(k * 97 + i * 13) % communes.length];
  const ofgl = path.join(dir, 'ofgl-base-communes-consolidee.csv');
  const dgfip = path.join(dir, 'comptes-individuels-des-communes-fichier-global-2023-2024.csv');
  // copy 0 is the fixture as is; later copies move each row to another commune
  const rows =
    multiply(path.join(FIX, 'ofgl-base-communes-consolidee.csv'), ofgl, TIMES, (l, k, i) => {
      if (!k) return l;
      const f = l.split(';');
      f[5] = pick(k, i);
      f[3] = f[5].slice(0, 2);
      return f.join(';');
    }) +
    multiply(path.join(FIX, 'comptes-individuels-des-communes-fichier-global-2023-2024.csv'), dgfip, TIMES, (l, k, i) => {
      if (!k) return l;
      const f = l.split(';');
      const c = pick(k, i);
      f[1] = '0' + c.slice(0, 2);
      f[2] = c.slice(2);
      return f.join(';');
    });
  return { ofgl, dgfip, rows };
}

export async function bench(): Promise<{ name: string; rows: number; seconds: number; peakRssMb: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-budgets-'));
  generate(dir);
  try {
    const r = await inScratchDb(
      'budgets',
      dir,
      async (runSource) => (await runSource('budgets', { trigger: 'test', log: () => undefined })).read,
      { MIRROR_DIR: dir },
    );
    return { name: 'budgets (OFGL + DGFiP, 10× fixtures)', ...r };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module)
  bench().then(
    (r) => console.log(JSON.stringify(r)),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
