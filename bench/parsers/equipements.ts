/**
 * Benchmark of the équipements pipeline on a BPE detailed file of 300 000 equipments (about a
 * tenth of the national file, 20 000 × the fixture) with the ~95 columns of BPE24,
 * Windows-1252, zipped as upstream. Run: `npx tsx bench/parsers/equipements.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import { BenchResult, communeCodes, inScratchDb, zipFiles } from './harness';
import { BPE24_COLUMNS, bpe24Line } from '../../test/fixtures/equipements/make-fixtures';

export const ROWS = 300_000;
const TYPES = ['D265', 'D307', 'D277', 'D281', 'C108', 'C201', 'A206', 'B207', 'B105', 'A504'];

export function generate(file: string): void {
  const codes = communeCodes().filter((c) => !/^97/.test(c));
  const out = fs.openSync(file, 'w');
  let buf = BPE24_COLUMNS.join(';') + '\r\n';
  for (let i = 0; i < ROWS; i++) {
    const code = codes[(i * 7919) % codes.length];
    const lon = (-4 + ((i * 37) % 1200) / 100).toFixed(6),
      lat = (42.5 + ((i * 53) % 800) / 100).toFixed(6);
    buf +=
      bpe24Line({
        depcom: code,
        typequ: TYPES[i % TYPES.length],
        nom: `Équipement n° ${i}`,
        lon,
        lat,
        x: '',
        y: '',
        epsg: '2154',
        iris: code + '0000',
      }) + '\r\n';
    if (buf.length > 1 << 20) {
      fs.writeSync(out, iconv.encode(buf, 'win1252'));
      buf = '';
    }
  }
  fs.writeSync(out, iconv.encode(buf, 'win1252'));
  fs.closeSync(out);
}

export async function bench(): Promise<BenchResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-equipements-'));
  try {
    const csv = path.join(dir, 'BPE24.csv');
    generate(csv);
    const file = path.join(dir, 'BPE24.zip');
    await zipFiles(file, { 'BPE24.csv': csv });
    const r = await inScratchDb('equipements', dir, async (runSource) => {
      const rep = await runSource('equipements', { file, trigger: 'test', log: () => undefined });
      if (rep.read !== rep.loaded + rep.rejected) throw new Error('counts do not add up');
      console.error(
        `equipements bench: ${(fs.statSync(csv).size / 1048576).toFixed(0)} MB CSV, read ${rep.read}, rejected ${rep.rejected}, published ${rep.published} points`,
      );
      return rep.read;
    });
    return { name: `equipements (BPE24 layout, ${ROWS} equipments)`, ...r };
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
