import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { pipeline } from '../pipelines/sante';

/**
 * Santé (Annuaire Santé, RPPS) on GENUINE lines (test/fixtures/sante/real, PROVENANCE.md): the
 * header and 21 activity lines of the « personne-activité » extract of 2 December 2021 (52 columns,
 * the layout of 2020–2022), as a third party cut them, byte for byte. What they have that the
 * synthetic file has not: the older 52-column header (read by name), ADELI identifiers (type 0)
 * with their leading zeros, 14 of 21 lines with no commune code (no place of practice, or a place
 * given by its postcode only). FINESS has no genuine extract (README.md one folder up). Expected values come from the
 * raw bytes, split here on `|` apart from the pipeline's streaming reader.
 */
const FILE = path.join(__dirname, 'fixtures', 'sante', 'real', 'PS_LibreAcces_Personne_activite_small.txt');
const text = fs.readFileSync(FILE, 'utf8');
const [headerLine, ...dataLines] = text.split('\n').filter(Boolean);
/** The trailing `|` ends every line, the header's too: the last, empty field is no column. */
const fields = (l: string) => l.split('|').slice(0, -1);
const header = fields(headerLine);
const raw = dataLines.map((l) => Object.fromEntries(fields(l).map((v, i) => [header[i], v])) as Record<string, string>);
const table = (name: string) => pipeline.pack!.tables.find((t) => t.name === name)!;
const COMMUNE = 'Code commune (coord. structure)';

let db: Awaited<ReturnType<typeof freshDatabase>>;
let report: Awaited<ReturnType<typeof runSource>>;
beforeAll(async () => {
  db = await freshDatabase();
  // The name carries no date (a third party's `_small` cut): the edition is stated, as `--millesime` does.
  report = await runSource('sante', { trigger: 'test', log: () => undefined, file: FILE, millesime: '2021-12-02' });
});
afterAll(async () => db.cleanup());

describe('Annuaire Santé personne-activité of December 2021, genuine lines (Ain)', () => {
  test('the bytes are as kept: UTF-8 without BOM, LF, `|` with a trailing `|`, 52 columns on every line', () => {
    const bytes = fs.readFileSync(FILE);
    expect(bytes.subarray(0, 3).toString('latin1')).toBe('Typ');
    expect(bytes.includes(0x0d)).toBe(false);
    expect(header).toHaveLength(52);
    expect(dataLines).toHaveLength(21);
    for (const l of dataLines)
      expect({ l: l.slice(0, 30), n: fields(l).length, end: l.endsWith('|') }).toEqual({ l: l.slice(0, 30), n: 52, end: true });
  });

  test('the edition is the one stated; read = loaded + rejected; lines without a commune are counted, not placed', async () => {
    expect(report).toMatchObject({ status: 'succeeded', millesime: '2021-12-02', read: 21, loaded: 21, rejected: 0 });
    expect(report.read).toBe(report.loaded + report.rejected);
    const { rows } = await pool().query(`select details from published_datasets where source = 'sante'`);
    expect(rows[0].details.editions.rpps).toEqual({
      edition: '2021-12-02',
      from: 'operator (--millesime)',
      fichier: 'PS_LibreAcces_Personne_activite_small.txt',
    });
    expect(rows[0].details.rpps_sans_commune).toBe(raw.filter((r) => !r[COMMUNE]).length);
    expect(rows[0].details.rpps_sans_commune).toBe(14);
  });

  const distinct = (rs: Record<string, string>[]) => new Set(rs.map((r) => r['Identifiant PP'])).size;

  test('three communes as the raw lines say: Ambérieu-en-Bugey, Bourg-en-Bresse, Viriat', async () => {
    for (const code of ['01004', '01053', '01451']) {
      const lines = raw.filter((r) => r[COMMUNE] === code);
      expect(lines.length).toBeGreaterThan(0);
      const professions = [...new Set(lines.map((r) => r['Code profession']))].sort();
      const want = professions.map((p) => {
        const of = lines.filter((r) => r['Code profession'] === p);
        return [p, of[0]['Libellé profession'], distinct(of), distinct(of.filter((r) => r['Code mode exercice'] === 'L'))];
      });
      const { rows } = await pool().query(table('professionnels_sante').query, [[code]]);
      expect({ code, rows: rows.map((r) => [r.code_profession, r.profession, r.professionnels, r.dont_liberaux]) }).toEqual({
        code,
        rows: want,
      });
      // No line of these communes has a savoir-faire: no specialty row.
      expect(lines.filter((r) => r['Code savoir-faire'])).toEqual([]);
      expect((await pool().query(table('professionnels_sante_specialites').query, [[code]])).rows).toEqual([]);
    }
    // Every (commune, profession) pair of the raw lines, and nothing else, is a row.
    const { rows } = await pool().query(`select count(*)::int as n from sante_profession`);
    expect(rows[0].n).toBe(new Set(raw.filter((r) => r[COMMUNE]).map((r) => `${r[COMMUNE]}|${r['Code profession']}`)).size);
  });

  test('no name of a professional is stored, published or quarantined', async () => {
    const names = raw.map((r) => r["Nom d'exercice"]).filter(Boolean);
    expect(names).toHaveLength(21);
    for (const t of ['sante_profession', 'sante_savoir_faire', 'quarantine']) {
      const { rows } = await pool().query(`select t::text as x from ${t} t`);
      for (const r of rows) for (const n of names) expect(r.x).not.toContain(n);
    }
  });
});
