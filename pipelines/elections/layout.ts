import fs from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { parse } from 'csv-parse/sync';
import { looksUtf8 } from '../../src/engine/decode';
import { FormatError } from '../../src/engine/errors';

/** What the first line of a results file says: its column names and its separator. */
export interface FileDialect {
  /** Column names, trailing empty cells dropped (municipales 2020 pad the header with empty cells). */
  header: string[];
  /** `;` for most files, a tab for the municipales 2020 `.txt`. */
  delimiter: string;
}

/**
 * Reads the header row of a Ministry results file (UTF-8 with or without BOM, or
 * Windows-1252 for the présidentielle and municipales .txt) without reading the file, and
 * tells its separator (`;` or tab, whichever the header holds more of): the layout is
 * chosen, and a missing column fails the run, before anything is staged.
 */
export async function readDialect(file: string): Promise<FileDialect> {
  const fd = await fs.promises.open(file, 'r');
  let buf: Buffer;
  try {
    buf = Buffer.alloc(256 * 1024);
    const { bytesRead } = await fd.read(buf, 0, buf.length, 0);
    buf = buf.subarray(0, bytesRead);
  } finally {
    await fd.close();
  }
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
  const nl = buf.indexOf(0x0a);
  const line = nl >= 0 ? buf.subarray(0, nl) : buf;
  const text = looksUtf8(Buffer.concat([line, Buffer.alloc(4)])) ? line.toString('utf8') : iconv.decode(line, 'win1252');
  if (!text.trim()) throw new FormatError(path.basename(file), 'empty file: no header row');
  const count = (c: string) => text.split(c).length - 1;
  const delimiter = count('\t') > count(';') ? '\t' : ';';
  const [record] = parse(text.replace(/\r$/, ''), { delimiter, relax_quotes: true }) as string[][];
  const header = record.map((h) => h.trim());
  while (header.length && header[header.length - 1] === '') header.pop();
  return { header, delimiter };
}

/** The column names of a results file (see readDialect). */
export async function readHeader(file: string): Promise<string[]> {
  return (await readDialect(file)).header;
}

/** Lower-case, accents removed, spaces collapsed: `Exprimés` → `exprimes`. */
function norm(s: string): string {
  return s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

type GeneralRole = 'dep' | 'com' | 'inscrits' | 'votants' | 'abstentions' | 'blancs' | 'nuls' | 'exprimes';
type BlockRole =
  'panneau' | 'sexe' | 'nom' | 'prenom' | 'nuance' | 'nuanceListe' | 'libelle' | 'libelleAbrege' | 'voix' | 'pctIns' | 'pctExp';

const GENERAL: [GeneralRole, RegExp, string][] = [
  ['dep', /^code (du )?departement$/, 'Code du département'],
  ['com', /^code (de la )?commune$/, 'Code de la commune'],
  ['inscrits', /^inscrits$/, 'Inscrits'],
  ['votants', /^votants$/, 'Votants'],
  ['abstentions', /^abstentions$/, 'Abstentions'],
  ['blancs', /^blancs$/, 'Blancs'],
  ['nuls', /^nuls$/, 'Nuls'],
  ['exprimes', /^exprimes$/, 'Exprimés'],
];

const BLOCK: [BlockRole, RegExp][] = [
  ['panneau', /^(n°panneau|n° panneau|numero de panneau|n°liste|n\.pan\.)$/],
  ['sexe', /^sexe( candidat)?$/],
  ['nom', /^nom( candidat)?$/],
  ['prenom', /^prenom( candidat)?$/],
  ['nuance', /^(code )?nuance( candidat)?$/],
  ['nuanceListe', /^nuance liste$/],
  ['libelle', /^(libelle de liste|liste)$/],
  ['libelleAbrege', /^libelle abrege de liste$/],
  ['voix', /^voix$/],
  ['pctIns', /^% voix\/ins(crits)?$/],
  ['pctExp', /^% voix\/exp(rimes)?$/],
];

const blockRole = (n: string): BlockRole | undefined => BLOCK.find(([, re]) => re.test(n))?.[0];

export type BlockCols = Partial<Record<BlockRole, number>>;

export interface Layout {
  /**
   * `numbered`: every block named in the header (`Voix 1`, `Voix 2` … or `Voix_1`, `Voix_2`).
   * `repeated`: the header names only the first block (présidentielle .txt); rows carry every
   * block, each `width` fields wide from `start`.
   */
  kind: 'numbered' | 'repeated';
  general: Record<GeneralRole, number>;
  blocks: BlockCols[];
  start: number;
  width: number;
}

/** Finds the layout of a header, or fails naming every missing column. */
export function detectLayout(label: string, header: string[]): Layout {
  const general: Partial<Record<GeneralRole, number>> = {};
  const numbered = new Map<number, BlockCols>();
  const first: BlockCols = {};
  header.forEach((h, i) => {
    const n = norm(h);
    const g = GENERAL.find(([, re]) => re.test(n));
    if (g) {
      if (general[g[0]] === undefined) general[g[0]] = i;
      return;
    }
    const m = /^(.*?)(?: |_)(\d+)$/.exec(n);
    const r = m ? blockRole(m[1]) : undefined;
    if (m && r) {
      const k = Number(m[2]);
      const b = numbered.get(k) ?? {};
      if (b[r] === undefined) b[r] = i;
      numbered.set(k, b);
      return;
    }
    const u = blockRole(n);
    if (u && first[u] === undefined) first[u] = i;
  });
  const missing = GENERAL.filter(([r]) => general[r] === undefined).map(([, , name]) => name);
  const blocks = [...numbered.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b);
  const proto = blocks[0] ?? first;
  if (proto.voix === undefined) missing.push(blocks.length ? 'Voix 1' : 'Voix');
  if (proto.nom === undefined && proto.libelle === undefined && proto.libelleAbrege === undefined)
    missing.push(blocks.length ? 'Nom candidat 1 or Libellé de liste 1' : 'Nom');
  if (missing.length) {
    throw new FormatError(
      label,
      `missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (header: ${header.join(';')})`,
      1,
      missing.join(', '),
    );
  }
  if (blocks.length) return { kind: 'numbered', general: general as Layout['general'], blocks, start: -1, width: 0 };
  const start = Math.min(...Object.values(first));
  const width = header.length - start;
  const rel: BlockCols = Object.fromEntries(Object.entries(first).map(([k, v]) => [k, v - start]));
  return { kind: 'repeated', general: general as Layout['general'], blocks: [rel], start, width };
}

/** The blocks of one row: fixed for `numbered`, counted from the row's width for `repeated`. */
export function rowBlocks(layout: Layout, values: string[]): BlockCols[] | string {
  if (layout.kind === 'numbered') return layout.blocks;
  let n = values.length;
  while ((n - layout.start) % layout.width !== 0 && n > layout.start && values[n - 1] === '') n--; // trailing ';'
  if (n < layout.start + layout.width || (n - layout.start) % layout.width !== 0) {
    return `expected ${layout.start} general fields then blocks of ${layout.width}, got ${values.length} fields`;
  }
  const out: BlockCols[] = [];
  for (let b = 0; b < (n - layout.start) / layout.width; b++) {
    const base = layout.start + b * layout.width;
    out.push(Object.fromEntries(Object.entries(layout.blocks[0]).map(([k, v]) => [k, base + v])));
  }
  return out;
}
