/**
 * Benchmark of the budgets pipeline on 10× the fixtures: the OFGL and DGFiP fixture rows repeated
 * for 10 blocks of real communes (codes taken from the package, so every copy is re-coded).
 * Reports rows, seconds and peak RSS. Run: `npx tsx bench/parsers/budgets.ts`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { readPackageArray } from '../../pipelines/cog/embedded';

const ADMIN = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
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

export async function bench(): Promise<{ name: string; rows: number; seconds: number; peakRssMb: number }> {
  const communes = (readPackageArray('communes') as { code: string; type: string }[])
    .filter((c) => c.type === 'commune-actuelle' && /^\d{5}$/.test(c.code) && !/^9/.test(c.code)).map((c) => c.code);
  const pick = (k: number, i: number) => communes[(k * 97 + i * 13) % communes.length];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-budgets-'));
  const ofgl = path.join(dir, 'ofgl-base-communes-consolidee.csv');
  const dgfip = path.join(dir, 'comptes-individuels-des-communes-fichier-global-2023-2024.csv');
  // copy 0 is the fixture as is; later copies move each row to another commune
  multiply(path.join(FIX, 'ofgl-base-communes-consolidee.csv'), ofgl, TIMES, (l, k, i) => {
    if (!k) return l;
    const f = l.split(';'); f[5] = pick(k, i); f[3] = f[5].slice(0, 2); return f.join(';');
  });
  multiply(path.join(FIX, 'comptes-individuels-des-communes-fichier-global-2023-2024.csv'), dgfip, TIMES, (l, k, i) => {
    if (!k) return l;
    const f = l.split(';'); const c = pick(k, i); f[1] = '0' + c.slice(0, 2); f[2] = c.slice(2); return f.join(';');
  });
  const name = `dotation_bench_budgets_${crypto.randomBytes(3).toString('hex')}`;
  const admin = new Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const u = new URL(ADMIN); u.pathname = `/${name}`;
  Object.assign(process.env, { DATABASE_URL: u.toString(), NETWORK: 'never', MIRROR_DIR: dir, DATA_DIR: path.join(dir, 'data') });
  const { resetSettings } = await import('../../config/settings');
  resetSettings();
  const { migrate } = await import('../../src/db/migrate');
  const { runSource } = await import('../../src/engine/runner');
  const { closePools } = await import('../../src/db/pool');
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
  try {
    await migrate(u.toString());
    await runSource('cog', { trigger: 'test', log: () => undefined });
    peak = process.memoryUsage().rss;
    const t0 = process.hrtime.bigint();
    const r = await runSource('budgets', { trigger: 'test', log: () => undefined });  // both files from MIRROR_DIR
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.read !== r.loaded + r.rejected) throw new Error('counts do not add up');
    console.error(`budgets bench: read ${r.read}, rejected ${r.rejected}, published ${r.published}`);
    return { name: 'budgets (OFGL + DGFiP, 10× fixtures)', rows: r.read, seconds: Math.round(seconds * 100) / 100, peakRssMb: Math.round(peak / 1048576) };
  } finally {
    clearInterval(sampler);
    await closePools();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) bench().then((r) => console.log(JSON.stringify(r)), (e) => { console.error(e); process.exit(1); });
