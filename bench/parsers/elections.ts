/**
 * Benchmark of the elections pipeline on the européennes 2024 per-commune layout at full size
 * (every commune actuelle of the package ≈ 35 000 rows × 322 columns ≈ 120 MB, UTF-8, `52,00%`
 * percentages). Loads into a scratch database (migrations + referential) and reports rows,
 * seconds and peak RSS. Run: `npx tsx bench/parsers/elections.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inScratchDb } from './harness';
import { readPackageArray } from '../../pipelines/cog/embedded';

const LISTS = 38;

export function generate(file: string): number {
  const communes = (readPackageArray('communes') as { code: string; type: string; nom: string; departement: string }[]).filter(
    (c) => c.type === 'commune-actuelle',
  );
  const gen = [
    'Code département',
    'Libellé département',
    'Code commune',
    'Libellé commune',
    'Inscrits',
    'Votants',
    '% Votants',
    'Abstentions',
    '% Abstentions',
    'Exprimés',
    '% Exprimés/inscrits',
    '% Exprimés/votants',
    'Blancs',
    '% Blancs/inscrits',
    '% Blancs/votants',
    'Nuls',
    '% Nuls/inscrits',
    '% Nuls/votants',
  ];
  const blocks = Array.from({ length: LISTS }, (_, i) => [
    `Numéro de panneau ${i + 1}`,
    `Nuance liste ${i + 1}`,
    `Libellé abrégé de liste ${i + 1}`,
    `Libellé de liste ${i + 1}`,
    `Voix ${i + 1}`,
    `% Voix/inscrits ${i + 1}`,
    `% Voix/exprimés ${i + 1}`,
    `Sièges ${i + 1}`,
  ]).flat();
  const q = (s: string) => `"${s}"`;
  const P = (a: number, b: number) => `${(b ? (100 * a) / b : 0).toFixed(2).replace('.', ',')}%`;
  const out = fs.openSync(file, 'w');
  let buf = [...gen, ...blocks].map(q).join(';') + '\n';
  let n = 0;
  for (const [k, c] of communes.entries()) {
    const voix = Array.from({ length: LISTS }, (_, i) => ((k * 7 + i * 13) % 97) + (i < 5 ? 40 : 1));
    const exp = voix.reduce((a, b) => a + b, 0);
    const bl = k % 11,
      nu = k % 7,
      vot = exp + bl + nu,
      ins = vot + 50 + (k % 300),
      abs = ins - vot;
    const row = [
      c.departement,
      q(`Département ${c.departement}`),
      c.code,
      q(c.nom.replace(/"/g, '')),
      ins,
      vot,
      P(vot, ins),
      abs,
      P(abs, ins),
      exp,
      P(exp, ins),
      P(exp, vot),
      bl,
      P(bl, ins),
      P(bl, vot),
      nu,
      P(nu, ins),
      P(nu, vot),
    ];
    for (let i = 0; i < LISTS; i++)
      row.push(
        i + 1,
        `LNUA${i % 12}`,
        q(`LISTE ${i + 1}`),
        q(`Liste numéro ${i + 1} pour l'Europe`),
        voix[i],
        P(voix[i], ins),
        P(voix[i], exp),
        0,
      );
    buf += row.join(';') + '\n';
    n++;
    if (buf.length > 1 << 20) {
      fs.writeSync(out, buf);
      buf = '';
    }
  }
  fs.writeSync(out, buf);
  fs.closeSync(out);
  return n;
}

export async function bench(): Promise<{ name: string; rows: number; seconds: number; peakRssMb: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-elections-'));
  const file = path.join(dir, 'resultats-definitifs-par-commune.csv');
  generate(file);
  try {
    const r = await inScratchDb(
      'elections',
      dir,
      async (runSource) =>
        (await runSource('elections', { file, resource: 'europeennes-2024', trigger: 'test', log: () => undefined })).read,
    );
    return { name: 'elections (européennes 2024 layout)', ...r };
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
