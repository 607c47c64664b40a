/**
 * Shared harness of the parser benchmarks: a scratch database (migrations + referential),
 * a timed run with peak RSS sampled every 50 ms, then the database dropped.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import yazl from 'yazl';
import { readPackageArray } from '../../pipelines/cog/embedded';

const ADMIN = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export interface BenchResult {
  name: string;
  rows: number;
  seconds: number;
  peakRssMb: number;
}

export function communeCodes(): string[] {
  return (readPackageArray('communes') as { code: string; type: string }[])
    .filter((c) => c.type === 'commune-actuelle' || c.type === 'arrondissement-municipal')
    .map((c) => c.code);
}

export function zipFiles(out: string, entries: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const z = new yazl.ZipFile();
    for (const [name, file] of Object.entries(entries)) z.addFile(file, name);
    z.end();
    z.outputStream
      .pipe(fs.createWriteStream(out))
      .on('close', () => resolve())
      .on('error', reject);
  });
}

/**
 * Creates a scratch database (migrations + referential), runs `fn` timed with peak RSS sampled
 * every 50 ms from the start of the measured run, then drops the database.
 */
export async function inScratchDb(
  label: string,
  dir: string,
  fn: (runSource: typeof import('../../src/engine/runner').runSource) => Promise<number>,
  env: Record<string, string> = {},
): Promise<{ rows: number; seconds: number; peakRssMb: number }> {
  const name = `dotation_bench_${label}_${crypto.randomBytes(3).toString('hex')}`;
  const admin = new Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const u = new URL(ADMIN);
  u.pathname = `/${name}`;
  Object.assign(process.env, { DATABASE_URL: u.toString(), NETWORK: 'never', MIRROR_DIR: '', DATA_DIR: path.join(dir, 'data'), ...env });
  const { resetSettings } = await import('../../config/settings');
  resetSettings();
  const { migrate } = await import('../../src/db/migrate');
  const { runSource } = await import('../../src/engine/runner');
  const { closePools } = await import('../../src/db/pool');
  let peak = 0;
  let sampler: NodeJS.Timeout | undefined;
  try {
    await migrate(u.toString());
    await runSource('cog', { trigger: 'test', log: () => undefined });
    peak = process.memoryUsage().rss;
    sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    const t0 = process.hrtime.bigint();
    const rows = await fn(runSource);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { rows, seconds: Math.round(seconds * 100) / 100, peakRssMb: Math.round(peak / 1048576) };
  } finally {
    if (sampler) clearInterval(sampler);
    await closePools();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}
