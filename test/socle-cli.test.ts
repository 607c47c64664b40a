import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';

/**
 * Issue 14's acceptance line, as a user types it: each of the seven sources of the socle commun
 * loads through `npx dotation run <source> --inline --file …` in a child process (the real
 * launcher, as test/cli-launcher.test.ts runs it), on a fresh test database; the command exits 0,
 * prints the edition it published and read = loaded + rejected, and the runs ledger says the same.
 *
 * The file is the genuine real/ extract of each (see each PROVENANCE.md); santé's is of the Annuaire
 * Santé (no genuine FINESS extract was found: test/fixtures/sante/README.md), so its synthetic FINESS
 * fixture is not run here.
 */
const root = path.resolve(__dirname, '..');
const FIX = (...p: string[]) => path.join(__dirname, 'fixtures', ...p);

interface Case {
  source: string;
  file: string;
  genuine: boolean;
  /** The edition the run must print: from the file name, the data, or the operator's --millesime. */
  edition: string;
  extra?: string[];
}
const CASES: Case[] = [
  // The RNA's edition is the date in the upstream name (rna_import_YYYYMMDD_dpt_XX.csv).
  {
    source: 'associations',
    file: FIX('associations', 'real', 'rna_import_20200901_dpt_29.csv'),
    genuine: true,
    edition: '',
  },
  // The DECP file names no date: the edition is the latest publication date of its records.
  { source: 'marches-publics', file: FIX('marches-publics', 'real', 'data.gouv.fr_pes.json'), genuine: true, edition: '' },
  // The WFS answer's timeStamp (API Carto's /gpu/document answer of 2025-09-02: see real/PROVENANCE.md).
  { source: 'urbanisme', file: FIX('urbanisme', 'real', 'wfs_du-document.json'), genuine: true, edition: '' },
  {
    source: 'permis-construire',
    file: FIX('permis-construire', 'real', 'Liste-des-autorisations-durbanisme-creant-des-logements.2026-01.csv'),
    genuine: true,
    edition: '2026-01',
  },
  // Genuine Annuaire Santé lines whose file name carries no date (a third party's `_small` cut of the
  // 2021-12-02 extract: real/PROVENANCE.md): the operator states the edition. FINESS has no genuine extract.
  {
    source: 'sante',
    file: FIX('sante', 'real', 'PS_LibreAcces_Personne_activite_small.txt'),
    genuine: true,
    edition: '2021-12-02',
    extra: ['--millesime', '2021-12-02'],
  },
  // The annuaire's edition is its latest date_maj_ligne.
  { source: 'education', file: FIX('education', 'real', 'fr-en-annuaire-education.csv'), genuine: true, edition: '' },
  // The RNE files carry no date: the operator states the day of the extract (PROVENANCE.md: 2026-04-24).
  {
    source: 'elus',
    file: FIX('elus', 'real', 'elus-maires-mai.csv'),
    genuine: true,
    edition: '2026-04-24',
    extra: ['--millesime', '2026-04-24'],
  },
];

/** Editions the data itself states, read here from the raw bytes, independently of the pipelines. */
function editionFromData(c: Case): string {
  const text = fs.readFileSync(c.file, 'utf8');
  switch (c.source) {
    case 'marches-publics': {
      const dates = [...text.matchAll(/"datePublicationDonnees"\s*:\s*"(\d{4}-\d{2}-\d{2})/g)].map((m) => m[1]);
      return dates.sort().at(-1)!;
    }
    case 'urbanisme':
      return (JSON.parse(text) as { timeStamp: string }).timeStamp.slice(0, 10);
    case 'associations': {
      const [, y, m, d] = /rna_(?:waldec|import)_(\d{4})(\d{2})(\d{2})/.exec(path.basename(c.file))!;
      return `${y}-${m}-${d}`;
    }
    case 'education': {
      const [header, ...lines] = text
        .replace(/^\uFEFF/, '')
        .split(/\r?\n/)
        .filter(Boolean);
      const at = header.split(';').indexOf('date_maj_ligne');
      return lines
        .map((l) => l.split(';')[at])
        .sort()
        .at(-1)!;
    }
    default:
      return c.edition;
  }
}

/** The one-row table `dotation run --inline` prints: columns cut by the dashes under the header. */
function summary(stdout: string): Record<string, string> {
  const lines = stdout.split('\n');
  const h = lines.findIndex((l) => /^run\s+source\s+status\s+edition\s+read\s+loaded\s+rejected/.test(l));
  if (h < 0) throw new Error(`no summary table in:\n${stdout}`);
  const spans: [number, number][] = [];
  for (const m of lines[h + 1].matchAll(/-+/g)) spans.push([m.index!, m.index! + m[0].length]);
  const cut = (l: string) => spans.map(([a, b], i) => (i === spans.length - 1 ? l.slice(a) : l.slice(a, b)).trim());
  const names = cut(lines[h]);
  const values = cut(lines[h + 2]);
  return Object.fromEntries(names.map((n, i) => [n, values[i]]));
}

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

describe('npx dotation run <source> --inline --file …: the seven sources of issue 14', () => {
  test.each(CASES)('$source (genuine extract: $genuine)', async (c) => {
    expect(fs.existsSync(c.file)).toBe(true);
    if (c.genuine) expect(fs.existsSync(path.join(path.dirname(c.file), 'PROVENANCE.md'))).toBe(true);
    const r = spawnSync('npx', ['dotation', 'run', c.source, '--inline', '--file', c.file, ...(c.extra ?? [])], {
      cwd: root,
      env: { ...process.env, ...db.env },
      encoding: 'utf8',
      timeout: 180_000,
    });
    if (r.status !== 0) throw new Error(`exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    const s = summary(r.stdout);
    const edition = editionFromData(c);
    expect(edition).toMatch(/^\d{4}-\d{2}/);
    expect(s).toMatchObject({ source: c.source, status: 'succeeded', edition });
    expect(Number(s.read)).toBeGreaterThan(0);
    expect(Number(s.read)).toBe(Number(s.loaded) + Number(s.rejected));
    const {
      rows: [run],
    } = await pool().query(`select source, status, millesime, rows_read, rows_loaded, rows_rejected from runs where id = $1`, [
      Number(s.run),
    ]);
    expect(run).toMatchObject({ source: c.source, status: 'succeeded', millesime: edition });
    expect([Number(run.rows_read), Number(run.rows_loaded), Number(run.rows_rejected)]).toEqual([
      Number(s.read),
      Number(s.loaded),
      Number(s.rejected),
    ]);
    expect(Number(run.rows_read)).toBe(Number(run.rows_loaded) + Number(run.rows_rejected));
  });
});
