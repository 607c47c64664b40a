import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { pipeline } from '../pipelines/associations';

/**
 * Associations (RNA) on GENUINE lines (test/fixtures/associations/real, PROVENANCE.md): the
 * Finistère file of the « import » extract of 1 September 2020, cut to its header and 85 records.
 * What it has that the synthetic fixtures had not: ISO-8859-1 with every field quoted, `;` inside
 * quoted fields, `maj_time` written `2006-03-16  03:42:57` (two spaces), mistyped years, position
 * `R`, old codes of merged communes, codes that are no commune. Expected values come from the raw
 * bytes, decoded and split here with csv-parse/sync, apart from the pipeline's streaming reader.
 */
const FILE = path.join(__dirname, 'fixtures', 'associations', 'real', 'rna_import_20200901_dpt_29.csv');
const raw = parse(new TextDecoder('latin1').decode(fs.readFileSync(FILE)), { delimiter: ';', columns: true }) as Record<string, string>[];
const table = (name: string) => pipeline.pack!.tables.find((t) => t.name === name)!;
const listOf = async (code: string) => (await pool().query(table('associations').query.replaceAll('$code', `'${code}'`))).rows;

let db: Awaited<ReturnType<typeof freshDatabase>>;
let report: Awaited<ReturnType<typeof runSource>>;
beforeAll(async () => {
  db = await freshDatabase();
  report = await runSource('associations', { trigger: 'test', log: () => undefined, file: FILE });
});
afterAll(async () => db.cleanup());

/** What the pack must say of a raw line, derived from the line alone. */
const date = (d: string) => (/^(19|20)\d\d-\d\d-\d\d$/.test(d) ? d : null); // 0001-01-01 = none; 0199-… is no date
const statut = (p: string) => ({ A: 'active', D: 'dissoute', S: 'supprimée' })[p] ?? p;
const blank = (s: string) => (/^[_.-]*$/.test(s.trim()) ? '' : s.trim());
const expected = (r: Record<string, string>) => ({
  numero_rna: r.id,
  numero_ancien: r.id_ex || null,
  nom: r.titre,
  objet: r.objet || null,
  code_theme: r.objet_social1,
  date_creation: date(r.date_creat),
  date_publication: date(r.date_publi),
  statut: statut(r.position),
  adresse: [r.adr1, r.adr2, r.adr3].map(blank).filter(Boolean).join(', '),
  code_postal: r.adrs_codepostal || null,
  commune_siege: r.libcom || null,
  code_insee_siege: r.adrs_codeinsee,
  registre: 'import',
});

describe('RNA import file of September 2020, genuine lines (Finistère)', () => {
  test('the edition is the date in the name; read = loaded + rejected; the two codes that are no commune are quarantined with their reason', async () => {
    expect(raw).toHaveLength(85);
    expect(report).toMatchObject({ status: 'succeeded', millesime: '2020-09-01', read: 85, loaded: 83, rejected: 2 });
    const { rows } = await pool().query(`select line, reason from quarantine where run_id = $1 order by line`, [report.runId]);
    const line = (id: string) => raw.findIndex((r) => r.id === id) + 2;
    expect(rows).toEqual([
      { line: line('291S0291006772'), reason: 'column adrs_codeinsee: code 29830 is neither a commune of COG 1943 nor in its history' },
      { line: line('294P0294006736'), reason: "column adrs_codeinsee: '165' is not a commune code" },
    ]);
  });

  test('three communes as the raw lines say, old codes of merged communes included: Audierne, Plounéour-Brignogan-Plages, Plogoff', async () => {
    for (const [code, from] of [
      ['29003', ['29003', '29052']], // Esquibien merged into Audierne in 2016
      ['29021', ['29021', '29203']], // Plounéour-Trez merged into Brignogan-Plages in 2017
      ['29168', ['29168']],
    ] as const) {
      const mine = raw.filter((r) => (from as readonly string[]).includes(r.adrs_codeinsee)).sort((a, b) => a.id.localeCompare(b.id));
      expect(mine.length).toBeGreaterThan(10);
      const got = await listOf(code);
      expect(got.map((g) => Object.fromEntries(Object.keys(expected(mine[0])).map((k) => [k, g[k]])))).toEqual(mine.map(expected));
      const {
        rows: [n],
      } = await pool().query(table('associations_nombre').query, [[code]]);
      const count = (p: string[]) => mine.filter((r) => p.includes(r.position)).length;
      expect(n).toMatchObject({ actives: count(['A']), dissoutes: count(['D']), autres: count(['R', 'S']), total: mine.length });
    }
  });

  test('accented names read as ISO-8859-1; `;` inside a quoted field stays in its field', async () => {
    const [plogoff] = (await listOf('29168')).filter((r) => r.numero_rna === '294P0294900249');
    expect(plogoff.nom).toBe('COMITE DEPARTEMENTAL DE BILLARD DU FINISTèRE');
    const withSemicolon = raw.filter((r) => Object.values(r).some((v) => v.includes(';')));
    expect(withSemicolon.length).toBe(3);
    for (const r of withSemicolon) {
      const { rows } = await pool().query(
        `select titre, objet, adresse, code_postal, libelle_commune, code_source from association where id = $1`,
        [r.id],
      );
      const e = expected(r);
      expect(rows).toEqual([
        {
          titre: e.nom,
          objet: e.objet,
          adresse: e.adresse,
          code_postal: e.code_postal,
          libelle_commune: e.commune_siege,
          code_source: e.code_insee_siege,
        },
      ]);
    }
  });

  test('every update time is read (two spaces before the time); a mistyped year is kept as unknown, the association kept', async () => {
    const {
      rows: [m],
    } = await pool().query(`select count(*)::int as n, count(maj)::int as maj from association`);
    expect(m).toEqual({ n: 84, maj: 84 }); // 83 loaded, Paris 17e also under the city
    const milizac = raw.find((r) => r.date_creat === '0199-09-26')!;
    const {
      rows: [a],
    } = await pool().query(
      `select code_commune, date_creation, to_char(maj, 'YYYY-MM-DD HH24:MI:SS') as maj from association where id = $1`,
      [milizac.id],
    );
    expect(a).toEqual({ code_commune: '29076', date_creation: null, maj: milizac.maj_time.replace(/ +/, ' ') });
  });

  test('Paris 17e is listed under its arrondissement and the city; Ajaccio keeps its 2A code', async () => {
    const paris = raw.find((r) => r.adrs_codeinsee === '75117')!;
    expect((await listOf('75117')).map((r) => r.numero_rna)).toEqual([paris.id]);
    expect((await listOf('75056')).map((r) => r.numero_rna)).toEqual([paris.id]);
    const ajaccio = raw.find((r) => r.adrs_codeinsee === '2A004')!;
    expect((await listOf('2A004'))[0]).toMatchObject(expected(ajaccio));
  });
});
