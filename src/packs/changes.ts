import { Readable } from 'node:stream';
import { parse as parseSync } from 'csv-parse/sync';
import type { PackFile } from './zip';
import type { PackPlan, SourceTable } from './content';
import type { RowNoun } from './section';

/**
 * changes.json: what a pack version changed since the previous one.
 *   - files: added or removed relative to the previous version's file list (its manifest entry),
 *     modified when their bytes differ;
 *   - rows: each table compared by its declared primary key; a row whose key stays and whose
 *     values change is *modified*, with the changed columns named.
 * The previous CSV is streamed from the previous ZIP, one table of one commune at a time; the
 * new one is the pack's own buffer. Nothing national is ever held.
 */

/** How many examples changes.json gives per kind of change and table. */
const EXAMPLES = 5;
/** Files that describe the pack rather than hold data: never reported as added or modified. */
const META_FILES = new Set(['datapackage.json', 'changes.json']);

type Key = Record<string, string>;

interface TableChange {
  fichier: string;
  /** The columns that identify a row (null: the table declares none, rows are compared whole). */
  clePrimaire: string[] | null;
  lignesAjoutees: number;
  lignesRetirees: number;
  lignesModifiees: number;
  /** Per column, how many modified rows changed it. */
  colonnesModifiees: Record<string, number>;
  /** Columns that appeared or disappeared from the file's header. */
  colonnes?: { ajoutees: string[]; retirees: string[] };
  exemples: {
    ajoutees: Key[];
    retirees: Key[];
    modifiees: { cle: Key; colonnes: Record<string, { avant: string; apres: string }> }[];
  };
}

export interface Changes {
  versionPrecedente: string | null;
  premiereVersion: boolean;
  /** The change in one French sentence (also the change feeds' summary). */
  resume: string;
  jeuxDeDonnees: { ajoutes: string[]; retires: string[]; millesimesChanges: { source: string; avant: string; apres: string }[] };
  fichiers: { ajoutes: string[]; retires: string[]; modifies: string[] };
  tables: TableChange[];
}

/** The previous version as its manifest entry lists it, and a reader of its files. */
export interface PreviousVersion {
  version: string;
  files: { name: string; sha256: string }[];
  /** Streams one file of the previous ZIP (null when it is not there). */
  open: (name: string) => Promise<Readable | null>;
}

const SEP = '\u001f';
/** Joins a repeated key to its occurrence number. */
const DUP = '\u001e';

/** The n-th occurrence of a key that is already taken (a table without a true key, or bad data). */
function distinct(key: string, taken: (k: string) => boolean): string {
  if (!taken(key)) return key;
  let n = 2;
  while (taken(`${key}${DUP}${n}`)) n++;
  return `${key}${DUP}${n}`;
}

/**
 * One CSV file of the pack, read for comparison. A file without any double quote (most communes'
 * files, and every national BAN file) stays the bytes it is: rows are byte ranges, a row's cells
 * are decoded only when it is compared cell by cell (a key, or a row that changed), and two rows
 * are compared as bytes. A file with quotes goes through csv-parse.
 */
class CsvFile {
  readonly header: string[];
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly parsed: string[][] | null = null;

  constructor(private readonly buf: Buffer) {
    if (buf.indexOf(0x22) >= 0) {
      const rows = parseSync(buf, { delimiter: ';', relax_column_count: true, bom: true }) as string[][];
      this.header = rows.shift() ?? [];
      this.parsed = rows;
      return;
    }
    let at = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
    while (at < buf.length) {
      let end = buf.indexOf(0x0a, at);
      if (end < 0) end = buf.length;
      const stop = end > at && buf[end - 1] === 0x0d ? end - 1 : end;
      if (stop > at) {
        this.starts.push(at);
        this.ends.push(stop);
      }
      at = end + 1;
    }
    this.header = this.starts.length ? this.cellsAt(0) : [];
  }

  private cellsAt(line: number): string[] {
    return this.buf.toString('utf8', this.starts[line], this.ends[line]).split(';');
  }

  /** Data rows (the header excluded). */
  get rows(): number {
    return this.parsed ? this.parsed.length : Math.max(0, this.starts.length - 1);
  }

  cells(i: number): string[] {
    return this.parsed ? this.parsed[i] : this.cellsAt(i + 1);
  }

  /** The cells at `idx` of row i, joined: its key. */
  key(i: number, idx: number[]): string {
    if (this.parsed) return idx.map((k) => this.parsed![i][k] ?? '').join(SEP);
    const s = this.starts[i + 1];
    const e = this.ends[i + 1];
    const max = Math.max(...idx);
    const bounds: [number, number][] = [];
    let from = s;
    for (let c = 0; c <= max; c++) {
      let to = this.buf.indexOf(0x3b, from);
      if (to < 0 || to > e) to = e;
      bounds.push([from, to]);
      from = Math.min(to + 1, e);
    }
    return idx.map((k) => this.buf.toString('utf8', bounds[k][0], bounds[k][1])).join(SEP);
  }

  /** Whether row i holds exactly the same text as row j of `other` (when both are byte-ranged). */
  same(i: number, other: CsvFile, j: number): boolean {
    if (this.parsed || other.parsed) return false;
    return this.buf.compare(other.buf, other.starts[j + 1], other.ends[j + 1], this.starts[i + 1], this.ends[i + 1]) === 0;
  }
}

async function readAllBuffer(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const keyObject = (cols: string[], key: string): Key => {
  const vals = key.split(DUP)[0].split(SEP);
  return Object.fromEntries(cols.map((c, i) => [c, vals[i] ?? '']));
};

/** Compares one table of the previous version with the new file. */
async function diffTable(t: SourceTable, oldStream: Readable, now: Buffer): Promise<TableChange | null> {
  const declared = t.table.primaryKey?.length ? t.table.primaryKey : null;
  const a = new CsvFile(await readAllBuffer(oldStream));
  const b = new CsvFile(now);
  // A key column that is not in both headers: rows are compared whole.
  const pk = declared && declared.every((k) => a.header.includes(k) && b.header.includes(k)) ? declared : null;
  const change: TableChange = {
    fichier: t.file,
    clePrimaire: pk,
    lignesAjoutees: 0,
    lignesRetirees: 0,
    lignesModifiees: 0,
    colonnesModifiees: {},
    exemples: { ajoutees: [], retirees: [], modifiees: [] },
  };
  const ajoutees = b.header.filter((c) => !a.header.includes(c));
  const retirees = a.header.filter((c) => !b.header.includes(c));
  if (ajoutees.length || retirees.length) change.colonnes = { ajoutees, retirees };
  // Cells are compared on the columns both headers hold, by name.
  const pairs = b.header.map((c, i) => [i, a.header.indexOf(c)] as [number, number]).filter(([, j]) => j >= 0);
  const keyOf = (f: CsvFile, i: number) =>
    pk
      ? f.key(
          i,
          pk.map((k) => f.header.indexOf(k)),
        )
      : pairs.map(([x, y]) => (f === b ? f.cells(i)[x] : f.cells(i)[y]) ?? '').join(SEP);
  const before = new Map<string, number>();
  for (let i = 0; i < a.rows; i++)
    before.set(
      distinct(keyOf(a, i), (k) => before.has(k)),
      i,
    );
  const seen = new Set<string>();
  for (let j = 0; j < b.rows; j++) {
    const key = distinct(keyOf(b, j), (k) => seen.has(k));
    seen.add(key);
    const i = before.get(key);
    if (i === undefined) {
      change.lignesAjoutees++;
      if (change.exemples.ajoutees.length < EXAMPLES) change.exemples.ajoutees.push(keyObject(pk ?? pairs.map(([x]) => b.header[x]), key));
      continue;
    }
    before.delete(key);
    if (a.same(i, b, j)) continue;
    const prev = a.cells(i);
    const r = b.cells(j);
    const cols: Record<string, { avant: string; apres: string }> = {};
    for (const [x, y] of pairs) if ((r[x] ?? '') !== (prev[y] ?? '')) cols[b.header[x]] = { avant: prev[y] ?? '', apres: r[x] ?? '' };
    if (!Object.keys(cols).length) continue; // only a column that appeared or disappeared differs
    change.lignesModifiees++;
    for (const c of Object.keys(cols)) change.colonnesModifiees[c] = (change.colonnesModifiees[c] ?? 0) + 1;
    if (change.exemples.modifiees.length < EXAMPLES)
      change.exemples.modifiees.push({ cle: keyObject(pk ?? b.header, key), colonnes: cols });
  }
  for (const key of before.keys()) {
    change.lignesRetirees++;
    if (change.exemples.retirees.length < EXAMPLES) change.exemples.retirees.push(keyObject(pk ?? pairs.map(([x]) => b.header[x]), key));
  }
  const touched = change.lignesAjoutees + change.lignesRetirees + change.lignesModifiees;
  return touched || change.colonnes ? change : null;
}

async function readAll(s: Readable | null): Promise<Buffer | null> {
  if (!s) return null;
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function sourcesOf(dp: Buffer | null): Map<string, string> {
  if (!dp) return new Map();
  try {
    const j = JSON.parse(dp.toString('utf8')) as { sources?: { title: string; version?: string }[] };
    return new Map((j.sources ?? []).map((s) => [s.title, s.version ?? '']));
  } catch {
    return new Map();
  }
}

/** What changed between the previous version and the new data files. Deterministic. */
export async function computeChanges(
  prev: PreviousVersion | null,
  files: PackFile[],
  plan: PackPlan,
  currentDatapackageSources: Map<string, string>,
): Promise<Changes> {
  if (!prev) {
    const c: Changes = {
      versionPrecedente: null,
      premiereVersion: true,
      resume: '',
      jeuxDeDonnees: { ajoutes: [...currentDatapackageSources.keys()], retires: [], millesimesChanges: [] },
      fichiers: { ajoutes: files.map((f) => f.name).filter((n) => !META_FILES.has(n)), retires: [], modifies: [] },
      tables: [],
    };
    c.resume = summarize(c, plan);
    return c;
  }
  const before = sourcesOf(await readAll(await prev.open('datapackage.json')));
  const ajoutes = [...currentDatapackageSources.keys()].filter((k) => !before.has(k));
  const retires = [...before.keys()].filter((k) => !currentDatapackageSources.has(k));
  const millesimesChanges = [...currentDatapackageSources.entries()]
    .filter(([k, v]) => before.has(k) && before.get(k) !== v)
    .map(([k, v]) => ({ source: k, avant: before.get(k)!, apres: v }));
  const prevSha = new Map(prev.files.filter((f) => !META_FILES.has(f.name)).map((f) => [f.name, f.sha256]));
  const now = files.filter((f) => !META_FILES.has(f.name));
  const tables: TableChange[] = [];
  for (const t of plan.tables) {
    const f = now.find((x) => x.name === t.file);
    const old = prevSha.get(t.file);
    if (!f || old === undefined || old === f.sha256) continue;
    const stream = await prev.open(t.file);
    if (!stream) continue;
    const d = await diffTable(t, stream, f.data);
    if (d) tables.push(d);
  }
  const c: Changes = {
    versionPrecedente: prev.version,
    premiereVersion: false,
    resume: '',
    jeuxDeDonnees: { ajoutes, retires, millesimesChanges },
    fichiers: {
      ajoutes: now.filter((f) => !prevSha.has(f.name)).map((f) => f.name),
      retires: [...prevSha.keys()].filter((n) => !now.some((f) => f.name === n)),
      modifies: now.filter((f) => prevSha.has(f.name) && prevSha.get(f.name) !== f.sha256).map((f) => f.name),
    },
    tables,
  };
  c.resume = summarize(c, plan);
  return c;
}

function participle(verb: 'ajouté' | 'retiré' | 'modifié', feminine: boolean, plural: boolean): string {
  return `${verb}${feminine ? 'e' : ''}${plural ? 's' : ''}`;
}

/** « 12 adresses modifiées », « population légale 2022 ajoutée », « 1 ligne de budget.csv retirée ». */
function rowsPhrase(noun: RowNoun, n: number, verb: 'ajouté' | 'retiré' | 'modifié', keys: Key[]): string {
  const fem = noun.feminine ?? false;
  if (n === 1 && noun.byKey && keys[0]) return `${noun.one} ${Object.values(keys[0]).join(' ')} ${participle(verb, fem, false)}`;
  return `${n} ${n > 1 ? noun.many : noun.one} ${participle(verb, fem, n > 1)}`;
}

/** The change in one French sentence, from the most telling to the least. */
function summarize(c: Changes, plan: PackPlan): string {
  if (c.premiereVersion) return 'Première version du dossier de données.';
  const parts: string[] = [];
  for (const s of c.jeuxDeDonnees.ajoutes) parts.push(`nouvelle source : ${s}`);
  for (const s of c.jeuxDeDonnees.retires) parts.push(`source retirée : ${s}`);
  for (const m of c.jeuxDeDonnees.millesimesChanges) parts.push(`${m.source} : millésime ${m.apres} (au lieu de ${m.avant})`);
  const tableFiles = new Set(plan.tables.map((t) => t.file));
  for (const t of c.tables) {
    const decl = plan.tables.find((x) => x.file === t.fichier)?.table.rowNoun;
    const noun: RowNoun = decl ?? { one: `ligne de ${t.fichier}`, many: `lignes de ${t.fichier}`, feminine: true };
    // A named row reads « population légale 2022 modifiée (population_municipale) ».
    if (t.lignesModifiees) {
      const cols = Object.keys(t.colonnesModifiees);
      const what = rowsPhrase(
        noun,
        t.lignesModifiees,
        'modifié',
        t.exemples.modifiees.map((m) => m.cle),
      );
      parts.push(cols.length && cols.length <= 3 ? `${what} (${cols.join(', ')})` : what);
    }
    if (t.lignesAjoutees) parts.push(rowsPhrase(noun, t.lignesAjoutees, 'ajouté', t.exemples.ajoutees));
    if (t.lignesRetirees) parts.push(rowsPhrase(noun, t.lignesRetirees, 'retiré', t.exemples.retirees));
    if (t.colonnes?.ajoutees.length) parts.push(`colonnes ajoutées à ${t.fichier} : ${t.colonnes.ajoutees.join(', ')}`);
    if (t.colonnes?.retirees.length) parts.push(`colonnes retirées de ${t.fichier} : ${t.colonnes.retirees.join(', ')}`);
  }
  for (const f of c.fichiers.ajoutes) parts.push(`fichier ${f} ajouté`);
  for (const f of c.fichiers.retires) parts.push(`fichier ${f} retiré`);
  // Data files other than tables (GeoJSON layers, commune.json) say only that they changed, and only
  // when no table of the pack did: a layer moves with its table (adresses.geojson with adresses.csv).
  if (!c.tables.length) {
    const data = c.fichiers.modifies.filter((f) => !tableFiles.has(f) && f !== 'LISEZMOI.md' && f !== 'catalogue.csv');
    for (const f of data) parts.push(`fichier ${f} modifié`);
  }
  if (!parts.length) return 'Documentation du dossier mise à jour (aucune donnée modifiée).';
  const text = parts.join(', ');
  return `${text[0].toUpperCase()}${text.slice(1)}.`;
}

/**
 * Per dataset of the pack (a source id, and 'pack' for the whole), the date its data last changed:
 * kept from the previous version when its files are byte-identical, else `now`. This is the
 * `dct:modified` of the DCAT catalog: a rebuild that does not touch a source's files keeps its date.
 */
export function lastChanged(
  plan: PackPlan,
  files: { name: string; sha256: string }[],
  prev: { createdAt: string; modified?: Record<string, string>; files: { name: string; sha256: string }[] }[],
  now: string,
): Record<string, string> {
  const out: Record<string, string> = { pack: now };
  const groups = new Map<string, string[]>();
  if (plan.cog) groups.set(plan.cog.id, ['commune.json']);
  for (const s of plan.sources)
    groups.set(s.id, [
      ...plan.tables.filter((t) => t.source === s).map((t) => t.file),
      ...plan.layers.filter((l) => l.source === s).map((l) => l.file),
    ]);
  const digest = (list: { name: string; sha256: string }[], names: string[]) =>
    names.map((n) => `${n}:${list.find((f) => f.name === n)?.sha256 ?? '-'}`).join(',');
  for (const [id, names] of groups) {
    const mine = digest(files, names);
    let date = now;
    // Walk back the kept versions while this source's files stay the same.
    for (const v of prev) {
      if (digest(v.files, names) !== mine) break;
      date = v.modified?.[id] ?? v.createdAt;
      if (v.modified?.[id]) break;
    }
    out[id] = date;
  }
  return out;
}
