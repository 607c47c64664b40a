/**
 * The generated inputs of the seven socle sources (issue 14) at a given scale (1 = national size),
 * as files to load one by one through the runner (`runSource(source, { file })`, the equivalent of
 * `npx dotation run <source> --inline --file …`). Shared by bench/socle/bench.ts (load time and
 * peak RSS of each) and bench/packs-national.ts (every source loaded before the pack build).
 */
import fs from 'node:fs';
import path from 'node:path';
import { generateFiness, generateRpps } from '../sante/generate';
import {
  generateDecp,
  generateEducation,
  generateElus,
  generateRna,
  generateSitadel,
  generateUrbanisme,
  NATIONAL,
  scaled,
} from './generate';

export interface SocleLoad {
  /** What this file is (shown in the tables). */
  label: string;
  file: string;
  /** `--millesime`, for files whose name does not carry their edition (the élus' date is in the upstream URL). */
  millesime?: string;
  input: string;
}

export interface SocleSource {
  source: string;
  /** Writes the inputs into `dir` (created), returns the files to load in order. */
  generate: (dir: string) => Promise<SocleLoad[]>;
}

const mb = (bytes: number) => `${(bytes / 1048576).toFixed(bytes < 10 * 1048576 ? 1 : 0)} MB`;
const fmt = (x: number) => x.toLocaleString('en-US');
const size = (f: string) => fs.statSync(f).size;

/** National health sizes (bench/sante/bench.ts): ≈ 2 million personne-activité lines, 100,000 FINESS establishments. */
export const SANTE_NATIONAL = { rpps: 2_000_000, finess: 100_000 };

export function socleSources(scale: number): SocleSource[] {
  return [
    {
      source: 'associations',
      generate: async (dir) => {
        const w = await generateRna('waldec', scaled(NATIONAL.waldec, scale), dir);
        const i = await generateRna('import', scaled(NATIONAL.import, scale), dir);
        return [
          {
            label: 'waldec',
            file: w.file,
            input: `rna_waldec_20261001.zip: ${fmt(w.rows)} associations in ${'one CSV per département'}, ${mb(w.csvBytes)} CSV, ${mb(w.zipBytes)} zip`,
          },
          {
            label: 'import',
            file: i.file,
            input: `rna_import_20261001.zip: ${fmt(i.rows)} associations, ${mb(i.csvBytes)} CSV, ${mb(i.zipBytes)} zip`,
          },
        ];
      },
    },
    {
      source: 'marches-publics',
      generate: async (dir) => {
        const d = await generateDecp(scaled(NATIONAL.decp, scale), path.join(dir, 'decp-global.json'));
        return [
          { label: 'decp-global', file: d.file, input: `decp-global.json: ${fmt(d.records)} records (2 % concessions), ${mb(d.bytes)}` },
        ];
      },
    },
    {
      source: 'permis-construire',
      generate: async (dir) => {
        const s = await generateSitadel(scaled(NATIONAL.sitadel, scale), dir);
        return [{ label: 'logements', file: s.file, input: `${path.basename(s.file)}: ${fmt(s.rows)} authorisations, ${mb(s.bytes)}` }];
      },
    },
    {
      source: 'sante',
      generate: async (dir) => {
        const finess = path.join(dir, 'etalab-cs1100507-stock-20260512-0339.csv');
        const rpps = path.join(dir, 'PS_LibreAcces_Personne_activite_202606101208.txt');
        const f = await generateFiness(scaled(SANTE_NATIONAL.finess, scale), finess);
        const r = await generateRpps(scaled(SANTE_NATIONAL.rpps, scale), rpps);
        return [
          { label: 'FINESS', file: finess, input: `FINESS extract: ${fmt(f.establishments)} establishments, ${mb(f.bytes)}` },
          { label: 'Annuaire Santé', file: rpps, input: `personne-activité: ${fmt(r.lines)} lines, ${mb(r.bytes)}` },
        ];
      },
    },
    {
      source: 'education',
      generate: async (dir) => {
        const e = await generateEducation(scaled(NATIONAL.annuaire, scale), dir);
        return e.files.map((file) => ({
          label: path.basename(file, '.csv'),
          file,
          input: `${path.basename(file)}: ${fmt(lines(file))} lines, ${mb(size(file))}`,
        }));
      },
    },
    {
      source: 'elus',
      generate: async (dir) => {
        const e = await generateElus(dir, scale);
        return e.files.map((file) => ({
          label: path.basename(file, '.csv'),
          file,
          millesime: '2026-05-06',
          input: `${path.basename(file)}: ${fmt(lines(file))} élus${scale < 1 ? ` (${(scale * 100).toFixed(1)} % of the communes)` : ''}, ${mb(size(file))}`,
        }));
      },
    },
    {
      source: 'urbanisme',
      generate: async (dir) => {
        const u = await generateUrbanisme(scaled(NATIONAL.zones, scale), dir, scale);
        return u.files.map((file) => ({
          label: path.basename(file, '.json').replace('wfs_du-', ''),
          file,
          input: `${path.basename(file)}: ${fmt(lines(file))} features, ${mb(size(file))}`,
        }));
      },
    },
  ];
}

/** Data lines of a generated file (one feature or row a line; headers not counted). */
function lines(file: string): number {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1 << 20);
  let count = 0;
  let read: number;
  while ((read = fs.readSync(fd, buf, 0, buf.length, null)) > 0) for (let i = 0; i < read; i++) if (buf[i] === 10) count++;
  fs.closeSync(fd);
  // CSV: the header line; GeoJSON answers: the opening line and the closing members' line.
  return Math.max(0, count - (file.endsWith('.json') ? 2 : 1));
}
