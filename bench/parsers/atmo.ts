/**
 * Benchmark of the atmo pipeline on a GeoJSON FeatureCollection of national size (every commune
 * of metropolitan France × 3 days ≈ 100 000 features, plus EPCI-level records), streamed with
 * stream-json. Loads into a scratch database (migrations + referential) and reports rows,
 * seconds and peak RSS. Run: `npx tsx bench/parsers/atmo.ts`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { readPackageArray } from '../../pipelines/cog/embedded';

const ADMIN = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const LABELS = ['Indisponible', 'Bon', 'Moyen', 'Dégradé', 'Mauvais', 'Très mauvais', 'Extrêmement mauvais', 'Événement'];

function generate(file: string, days: number): number {
  const communes = (readPackageArray('communes') as { code: string; type: string; nom: string }[])
    .filter((c) => c.type === 'commune-actuelle' && !/^9[78]/.test(c.code));
  const epcis = (readPackageArray('epci') as { code: string; nom: string }[]).slice(0, 200);
  const out = fs.openSync(file, 'w');
  fs.writeSync(out, '{"type":"FeatureCollection","name":"ind_atmo_2021","features":[\n');
  let n = 0;
  let buf = '';
  const feature = (date: string, type: string, code: string, lib: string, q: number) => {
    const props = { aasqa: '84', date_maj: `${date}T13:05:00Z`, date_ech: `${date}Z`, type_zone: type, code_zone: code, lib_zone: lib, code_qual: q, lib_qual: LABELS[q], coul_qual: '#50CCAA', code_no2: 1, code_o3: q, code_pm10: 1, code_pm25: 1, code_so2: 1, source: 'Atmo' };
    buf += (n++ ? ',\n' : '') + JSON.stringify({ type: 'Feature', geometry: { type: 'Point', coordinates: [4.92, 46.15] }, properties: props });
    if (buf.length > 1 << 20) { fs.writeSync(out, buf); buf = ''; }
  };
  for (let d = 0; d < days; d++) {
    const date = `2024-09-${String(10 + d).padStart(2, '0')}`;
    communes.forEach((c, i) => feature(date, 'commune', c.code, c.nom, 1 + ((i + d) % 6)));
    epcis.forEach((e, i) => feature(date, 'EPCI', e.code, e.nom, 1 + ((i + d) % 6)));
  }
  fs.writeSync(out, buf + '\n]}\n');
  fs.closeSync(out);
  return n;
}

export async function bench(days = 3): Promise<{ name: string; rows: number; seconds: number; peakRssMb: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-atmo-'));
  const file = path.join(dir, 'ind_atmo_2021.geojson');
  generate(file, days);
  const name = `dotation_bench_atmo_${crypto.randomBytes(3).toString('hex')}`;
  const admin = new Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const u = new URL(ADMIN); u.pathname = `/${name}`;
  Object.assign(process.env, { DATABASE_URL: u.toString(), NETWORK: 'never', MIRROR_DIR: '', DATA_DIR: path.join(dir, 'data') });
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
    const r = await runSource('atmo', { file, trigger: 'test', log: () => undefined });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { name: 'atmo', rows: r.read, seconds: Math.round(seconds * 100) / 100, peakRssMb: Math.round(peak / 1048576) };
  } finally {
    clearInterval(sampler);
    await closePools();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) bench().then((r) => console.log(JSON.stringify(r)), (e) => { console.error(e); process.exit(1); });
