/**
 * Benchmark of the arcep pipeline at national size (~110 000 sites, as in a recent quarter):
 * generates a synthetic `2024_T3_sites_Metropole.csv` from the commune referential, loads it
 * into a scratch database (migrations + referential), reports rows, seconds and peak RSS.
 * Run: `npx tsx bench/parsers/arcep.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inScratchDb } from './harness';
import { readPackageArray } from '../../pipelines/cog/embedded';

const HEADER =
  'code_op;nom_op;num_site;id_site_partage;id_station_anfr;x;y;latitude;longitude;nom_reg;nom_dep;insee_dep;nom_com;insee_com;site_2g;site_3g;site_4g;site_5g;mes_4g_trim;site_ZB;site_DCC;site_strategique;site_capa_240mbps;date_ouverturecommerciale_5g;site_5g_700_m_hz;site_5g_800_m_hz;site_5g_1800_m_hz;site_5g_2100_m_hz;site_5g_3500_m_hz';
const OPS = [
  ['20801', 'Orange'],
  ['20810', 'SFR'],
  ['20815', 'Free Mobile'],
  ['20820', 'Bouygues Telecom'],
];

export function generate(file: string, rows: number): void {
  const communes = (readPackageArray('communes') as { code: string; type: string; nom: string; departement?: string }[]).filter(
    (c) => c.type === 'commune-actuelle' && !/^9[78]/.test(c.code),
  );
  const out = fs.openSync(file, 'w');
  let buf = HEADER + '\n';
  for (let i = 0; i < rows; i++) {
    const c = communes[(i * 7919) % communes.length];
    const [op, nom] = OPS[i % 4];
    const b = (p: number) => ((i * 31 + p) % 5 < 3 ? '1' : '0');
    buf +=
      [
        op,
        nom,
        String(i).padStart(10, '0'),
        '',
        String(800000000 + i),
        '611098',
        '6277414',
        '43.59021',
        '1.89946',
        'Région',
        'Département',
        c.departement ?? c.code.slice(0, 2),
        c.nom.replace(/;/g, ' '),
        c.code,
        b(1),
        b(2),
        '1',
        b(3),
        '1',
        '0',
        '0',
        '0',
        '1',
        '',
        '0',
        '0',
        '0',
        '0',
        b(3),
      ].join(';') + '\n';
    if (buf.length > 1 << 20) {
      fs.writeSync(out, buf);
      buf = '';
    }
  }
  fs.writeSync(out, buf);
  fs.closeSync(out);
}

export async function bench(rows = 110_000): Promise<{ name: string; rows: number; seconds: number; peakRssMb: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-arcep-'));
  const file = path.join(dir, '2024_T3_sites_Metropole.csv');
  generate(file, rows);
  try {
    const r = await inScratchDb(
      'arcep',
      dir,
      async (runSource) => (await runSource('arcep', { file, trigger: 'test', log: () => undefined })).read,
    );
    return { name: 'arcep', ...r };
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
