import fs from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { parse } from 'csv-parse/sync';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { electionCommuneCode } from '../pipelines/elections/index';
import { detectLayout, readDialect } from '../pipelines/elections/layout';

/**
 * The layouts of municipales 2020 (tab-separated `.txt`, unpadded codes, 12-column list blocks
 * from the 19th column, a header padded with empty cells), municipales 2026 (13-column list
 * blocks) and législatives 2024 T2 (numbered candidate blocks, a `Code commune` without its
 * leading zero). The fixtures are SYNTHETIC in those documented layouts (fixtures/elections/README.md);
 * expected values are read here from the raw lines with csv-parse, independently of the pipeline.
 */
const FIX = path.join(__dirname, 'fixtures', 'elections');
const M20_T1 = path.join(FIX, '2020-05-18-resultats-communes-de-1000-et-plus.txt');
const M20_T2 = path.join(FIX, '2020-06-29-resultats-t2-communes-de-1000-hab-et-plus.txt');
const M26 = path.join(FIX, 'municipales-2026-resultats-communes-2026-03-20.csv');
const LEG_T2 = path.join(FIX, 'legislatives-2024-t2-resultats-definitifs-par-commune.csv');
const run = (file: string, resource: string) => runSource('elections', { file, resource, trigger: 'test', force: true, log: () => {} });

/** The raw records of a fixture, decoded and split by csv-parse on its own separator. */
function rawRows(file: string, delimiter: string, encoding: 'win1252' | 'utf8'): string[][] {
  const text = encoding === 'utf8' ? fs.readFileSync(file, 'utf8') : iconv.decode(fs.readFileSync(file), 'win1252');
  return (parse(text, { delimiter, relax_quotes: true, relax_column_count: true }) as string[][]).slice(1);
}

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

const resultat = async (election: string, tour: number, code: string) =>
  (
    await pool().query(
      `select inscrits, votants, exprimes, blancs, nuls, codes_sources from election_resultat where election = $1 and tour = $2 and code_commune = $3`,
      [election, tour, code],
    )
  ).rows[0];
const voix = async (election: string, tour: number, code: string) =>
  (
    await pool().query(
      `select panneau, nom, prenom, libelle, nuance, voix from election_voix where election = $1 and tour = $2 and code_commune = $3 order by panneau`,
      [election, tour, code],
    )
  ).rows;

describe('codes as the 2024 files write them', () => {
  test('a 4-character Code commune is padded, not rejected', () => {
    expect(electionCommuneCode('01', '1004')).toBe('01004');
    expect(electionCommuneCode('1', '1004')).toBe('01004');
    expect(electionCommuneCode('1', '4')).toBe('01004');
  });
});

describe('municipales 2020 (.txt, tab or ;, 12-column list blocks from the 19th column)', () => {
  let t1: Awaited<ReturnType<typeof run>>;
  let rows: string[][];
  beforeAll(async () => {
    t1 = await run(M20_T1, 'municipales-2020-t1-1000-et-plus');
    rows = rawRows(M20_T1, '\t', 'win1252');
  });

  test('the separator is read from the header, trailing empty header cells dropped, the layout is "repeated" blocks of 12 from column 19', async () => {
    const d = await readDialect(M20_T1);
    expect(d.delimiter).toBe('\t');
    expect(d.header).toHaveLength(30);
    expect(detectLayout('m20', d.header)).toMatchObject({ kind: 'repeated', start: 18, width: 12 });
    expect((await readDialect(M20_T2)).delimiter).toBe(';');
  });

  test('every line loads: unpadded codes rebuilt (1/4 → 01004, 2A/4 → 2A004), every list of a padded line read', async () => {
    expect(t1).toMatchObject({ status: 'succeeded', read: rows.length, loaded: rows.length, rejected: 0 });
    expect(t1.millesime).toBe('municipales-2020-t1');
    const amb = rows.find((r) => r[0] === '1' && r[2] === '4')!;
    expect(await resultat('municipales-2020', 1, '01004')).toMatchObject({
      inscrits: Number(amb[4]),
      votants: Number(amb[7]),
      blancs: Number(amb[9]),
      nuls: Number(amb[12]),
      exprimes: Number(amb[15]),
    });
    const lists = await voix('municipales-2020', 1, '01004');
    const blocks = [0, 1].map((b) => amb.slice(18 + 12 * b, 30 + 12 * b));
    expect(lists).toEqual(
      blocks.map((x) => ({ panneau: Number(x[0]), nuance: x[1], nom: x[3], prenom: x[4], libelle: x[5], voix: Number(x[9]) })),
    );
    // A quote inside an unquoted field kept, an Excel-quoted field unquoted.
    expect(lists.map((l) => l.libelle)).toEqual(['Ensemble pour "Ambérieu"', `Liste d'Union "Tous unis"`]);
    expect(await resultat('municipales-2020', 1, '2A004')).toBeDefined();
  });

  test('Oullins and Pierre-Bénite (2020) are summed into Oullins-Pierre-Bénite 69149', async () => {
    const parts = rows.filter((r) => r[0] === '69' && ['149', '152'].includes(r[2]));
    expect(await resultat('municipales-2020', 1, '69149')).toMatchObject({
      inscrits: parts.reduce((s, r) => s + Number(r[4]), 0),
      exprimes: parts.reduce((s, r) => s + Number(r[15]), 0),
      codes_sources: ['69149', '69152'],
    });
  });

  test("a local scrutin: the lists of Oullins and of Pierre-Bénite stay apart under 69149, each with its own commune's percentages", async () => {
    const { rows: lists } = await pool().query(
      `select commune_scrutin, panneau, libelle, voix, pct_voix_exprimes::float as pe from election_voix
        where election = 'municipales-2020' and tour = 1 and code_commune = '69149' order by commune_scrutin, panneau`,
    );
    const want = rows
      .filter((r) => r[0] === '69' && ['149', '152'].includes(r[2]))
      .flatMap((r) =>
        [0, 1, 2]
          .map((b) => r.slice(18 + 12 * b, 30 + 12 * b))
          .filter((x) => x[0] !== '')
          .map((x) => ({
            commune_scrutin: `69${r[2]}`,
            panneau: Number(x[0]),
            libelle: x[5],
            voix: Number(x[9]),
            pe: Math.round((10000 * Number(x[9])) / Number(r[15])) / 100,
          })),
      );
    expect(lists).toEqual(want);
    expect(new Set(lists.map((l) => l.commune_scrutin))).toEqual(new Set(['69149', '69152']));
  });

  test('the second round (; separated) is its own scrutin and leaves the first round alone', async () => {
    const before = (await pool().query(`select count(*)::int as n from election_resultat where election = 'municipales-2020' and tour = 1`))
      .rows[0].n;
    const t2 = await run(M20_T2, 'municipales-2020-t2-1000-et-plus');
    const lyon = rawRows(M20_T2, ';', 'win1252')[0];
    expect(t2).toMatchObject({ status: 'succeeded', rejected: 0, millesime: 'municipales-2020-t2' });
    expect(await resultat('municipales-2020', 2, '69123')).toMatchObject({ inscrits: Number(lyon[4]), exprimes: Number(lyon[15]) });
    expect((await voix('municipales-2020', 2, '69123')).map((l) => l.voix)).toEqual([Number(lyon[27]), Number(lyon[39])]);
    expect(
      (await pool().query(`select count(*)::int as n from election_resultat where election = 'municipales-2020' and tour = 1`)).rows[0].n,
    ).toBe(before);
  });
});

describe('municipales 2026 (13-column list blocks, names left to the candidatures file)', () => {
  test('lists keep their label, nuance and votes; an empty second block is skipped', async () => {
    const r = await run(M26, 'municipales-2026-t1');
    const rows = rawRows(M26, ';', 'utf8');
    expect(r).toMatchObject({ status: 'succeeded', read: rows.length, rejected: 0 });
    const header = (parse(fs.readFileSync(M26, 'utf8'), { delimiter: ';', to_line: 1 }) as string[][])[0];
    const col = (name: string) => header.indexOf(name);
    for (const raw of rows) {
      const lists = await voix('municipales-2026', 1, raw[col('Code commune')]);
      const want = [1, 2]
        .filter((i) => raw[col(`Voix ${i}`)] !== '')
        .map((i) => ({
          panneau: Number(raw[col(`Numéro de panneau ${i}`)]),
          nom: null,
          prenom: null,
          libelle: raw[col(`Libellé de liste ${i}`)],
          nuance: raw[col(`Nuance liste ${i}`)],
          voix: Number(raw[col(`Voix ${i}`)]),
        }));
      expect(lists).toEqual(want);
    }
  });
});

describe('législatives 2024 T2 (the T1 layout; Code commune 1004 for 01004)', () => {
  test('a commune written without its leading zero is found, candidates read', async () => {
    const r = await run(LEG_T2, 'legislatives-2024-t2');
    const rows = rawRows(LEG_T2, ';', 'utf8');
    expect(r).toMatchObject({
      status: 'succeeded',
      read: rows.length,
      loaded: rows.length,
      rejected: 0,
      millesime: 'legislatives-2024-t2',
    });
    const amb = rows.find((x) => x[2] === '1004')!;
    expect(await resultat('legislatives-2024', 2, '01004')).toMatchObject({ inscrits: Number(amb[4]), exprimes: Number(amb[9]) });
    expect((await voix('legislatives-2024', 2, '01004')).map((l) => [l.nom, l.voix])).toEqual([
      [amb[20], Number(amb[23])],
      [amb[29], Number(amb[32])],
    ]);
  });
});
