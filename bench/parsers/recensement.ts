/**
 * Benchmark of the recensement pipeline on a full-size base communale: every commune actuelle
 * and arrondissement municipal of the package (≈ 35 000 rows) × 100 variables (P22_…, C22_…,
 * P16_…), Latin-1, `;`, in a zip with its meta file, as INSEE ships it (≈ 3.5 M long values).
 * Loads into a scratch database (migrations + referential) and reports rows, seconds and peak
 * RSS. Run: `npx tsx bench/parsers/recensement.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BenchResult, communeCodes, inScratchDb, zipFiles } from './harness';

export const VARS = 100;

export function generate(dir: string): { csv: string; meta: string } {
  const codes = communeCodes();
  const names = Array.from({ length: VARS }, (_, i) => (i < 60 ? `P22_V${i}` : i < 90 ? `C22_V${i}` : `P16_V${i}`));
  names[0] = 'P22_POP';
  const csv = path.join(dir, 'base-cc-evol-struct-pop-2022.CSV');
  const out = fs.openSync(csv, 'w');
  let buf = ['CODGEO', ...names].join(';') + '\r\n';
  for (const [k, code] of codes.entries()) {
    const row: string[] = [code];
    for (let i = 0; i < VARS; i++)
      row.push(
        i >= 60 && i < 90 ? (((k * 31 + i * 7) % 5000) / 3).toFixed(11) : (k + i) % 53 === 0 ? '' : String((k * 17 + i * 11) % 9000),
      );
    buf += row.join(';') + '\r\n';
    if (buf.length > 1 << 20) {
      fs.writeSync(out, Buffer.from(buf, 'latin1'));
      buf = '';
    }
  }
  fs.writeSync(out, Buffer.from(buf, 'latin1'));
  fs.closeSync(out);
  const meta = path.join(dir, 'meta_base-cc-evol-struct-pop-2022.CSV');
  fs.writeFileSync(
    meta,
    Buffer.from(
      ['COD_VAR;LIB_VAR;LIB_VAR_LONG;TYPE_VAR;LONG_VAR', ...names.map((n) => `${n};Libellé ${n};Libellé long ${n};NUM;17`)].join('\r\n'),
      'latin1',
    ),
  );
  return { csv, meta };
}

export async function bench(): Promise<BenchResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-recensement-'));
  try {
    const { csv, meta } = generate(dir);
    const file = path.join(dir, 'base-cc-evol-struct-pop-2022_csv.zip');
    await zipFiles(file, { 'base-cc-evol-struct-pop-2022.CSV': csv, 'meta_base-cc-evol-struct-pop-2022.CSV': meta });
    const r = await inScratchDb('recensement', dir, async (runSource) => {
      const rep = await runSource('recensement', {
        file,
        resource: 'evol-struct-pop',
        trigger: 'test',
        log: (m) => console.error(new Date().toISOString(), m),
      });
      if (rep.read !== rep.loaded + rep.rejected) throw new Error('counts do not add up');
      console.error(
        `recensement bench: ${(fs.statSync(csv).size / 1048576).toFixed(0)} MB CSV, read ${rep.read}, rejected ${rep.rejected}, published ${rep.published} long values`,
      );
      return rep.read;
    });
    return { name: `recensement (base-cc, ${VARS} variables)`, ...r };
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
