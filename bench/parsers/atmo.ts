/**
 * Benchmark of the atmo pipeline on a GeoJSON FeatureCollection of national size (every commune
 * of metropolitan France × 3 days ≈ 100 000 features, plus EPCI-level records), streamed with
 * stream-json. Loads into a scratch database (migrations + referential) and reports rows,
 * seconds and peak RSS. Run: `npx tsx bench/parsers/atmo.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inScratchDb } from './harness';
import { readPackageArray } from '../../pipelines/cog/embedded';

const LABELS = ['Indisponible', 'Bon', 'Moyen', 'Dégradé', 'Mauvais', 'Très mauvais', 'Extrêmement mauvais', 'Événement'];

export function generate(file: string, days: number): number {
  const communes = (readPackageArray('communes') as { code: string; type: string; nom: string }[]).filter(
    (c) => c.type === 'commune-actuelle' && !/^9[78]/.test(c.code),
  );
  const epcis = (readPackageArray('epci') as { code: string; nom: string }[]).slice(0, 200);
  const out = fs.openSync(file, 'w');
  fs.writeSync(out, '{"type":"FeatureCollection","name":"ind_atmo_2021","features":[\n');
  let n = 0;
  let buf = '';
  const feature = (date: string, type: string, code: string, lib: string, q: number) => {
    const props = {
      aasqa: '84',
      date_maj: `${date}T13:05:00Z`,
      date_ech: `${date}Z`,
      type_zone: type,
      code_zone: code,
      lib_zone: lib,
      code_qual: q,
      lib_qual: LABELS[q],
      coul_qual: '#50CCAA',
      code_no2: 1,
      code_o3: q,
      code_pm10: 1,
      code_pm25: 1,
      code_so2: 1,
      source: 'Atmo',
    };
    buf +=
      (n++ ? ',\n' : '') + JSON.stringify({ type: 'Feature', geometry: { type: 'Point', coordinates: [4.92, 46.15] }, properties: props });
    if (buf.length > 1 << 20) {
      fs.writeSync(out, buf);
      buf = '';
    }
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
  try {
    const r = await inScratchDb(
      'atmo',
      dir,
      async (runSource) => (await runSource('atmo', { file, trigger: 'test', log: () => undefined })).read,
    );
    return { name: 'atmo', ...r };
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
