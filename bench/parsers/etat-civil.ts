/**
 * Benchmark of the état civil pipeline at full size: every commune and arrondissement of the
 * package × 17 years (2008–2024) for births and for deaths (≈ 1.2 M rows, plus DEP rows), in
 * zips named as upstream. Run: `npx tsx bench/parsers/etat-civil.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BenchResult, communeCodes, inScratchDb, zipFiles } from './harness';

export function generate(file: string, measure: string): void {
  const codes = communeCodes();
  const out = fs.openSync(file, 'w');
  let buf = '\ufeffEC_MEASURE;FREQ;GEO;GEO_OBJECT;OBS_STATUS;TIME_PERIOD;OBS_VALUE\n';
  for (let y = 2008; y <= 2024; y++) {
    for (const [k, code] of codes.entries()) {
      buf += `${measure};A;${code};${/^(751|6938|132)/.test(code) && code.length === 5 && !['75056', '69123', '13055'].includes(code) ? 'ARM' : 'COM'};A;${y};${(k * 7 + y) % 40}\n`;
      if (buf.length > 1 << 20) {
        fs.writeSync(out, buf);
        buf = '';
      }
    }
    buf += `${measure};A;01;DEP;A;${y};7000\n`;
  }
  fs.writeSync(out, buf);
  fs.closeSync(out);
}

export async function bench(): Promise<BenchResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-etat-civil-'));
  try {
    const files: Record<string, string> = {};
    for (const [res, kind, m] of [
      ['naissances', 'NAIS', 'LVB'],
      ['deces', 'DECES', 'DTH'],
    ]) {
      const csv = path.join(dir, `DS_ETAT_CIVIL_${kind}_COMMUNES_data.csv`);
      generate(csv, m);
      files[res] = path.join(dir, 'mirror', `DS_ETAT_CIVIL_${kind}_COMMUNES_CSV_FR.zip`);
      fs.mkdirSync(path.dirname(files[res]), { recursive: true });
      await zipFiles(files[res], { [path.basename(csv)]: csv });
    }
    const r = await inScratchDb('etat_civil', dir, async (runSource) => {
      process.env.MIRROR_DIR = path.join(dir, 'mirror');
      (await import('../../config/settings')).resetSettings();
      const rep = await runSource('etat-civil', { trigger: 'test', log: (m) => console.error(new Date().toISOString(), m) });
      if (rep.read !== rep.loaded + rep.rejected) throw new Error('counts do not add up');
      console.error(`etat-civil bench: read ${rep.read}, rejected ${rep.rejected}, published ${rep.published}`);
      return rep.read;
    });
    return { name: 'etat-civil (naissances + décès 2008–2024)', ...r };
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
