import fs from 'node:fs';
import { describeRealData, SHARED_DATA, sharedFile } from '../helpers/shared-data';
import { freshDatabase } from '../helpers/db';
import { pool } from '../../src/db/pool';
import { resetSettings } from '../../config/settings';
import { runSource } from '../../src/engine/runner';
import { explainMissingPopulations, MissingPopulation } from '../../pipelines/populations/transform';

/**
 * The genuine INSEE files of ../shared/data: COG 2024 communes + movements, then the
 * populations légales 2021 (geography COG 2023) and the Mayotte file, re-coded to the
 * package's COG. Expected figures are read from the files themselves.
 */
interface Row {
  pmun: number;
  pcap: number;
  ptot: number;
}
function readPopulations(file: string, code: (v: Record<string, string>) => string): Map<string, Row> {
  const lines = fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.length);
  const header = lines[0].split(';');
  const out = new Map<string, Row>();
  for (const l of lines.slice(1)) {
    const v = Object.fromEntries(l.split(';').map((x, i) => [header[i], x]));
    out.set(code(v), { pmun: Number(v.PMUN), pcap: Number(v.PCAP), ptot: Number(v.PTOT) });
  }
  return out;
}

describeRealData('populations légales 2021 on the real INSEE files', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let main: Map<string, Row>;
  let mayotte: Map<string, Row>;
  let missing: MissingPopulation[];
  const sum = (codes: string[], k: keyof Row = 'pmun') =>
    codes.reduce((s, c) => {
      const r = main.get(c);
      if (!r) throw new Error(`${c} is not in donnees_communes.csv`);
      return s + r[k];
    }, 0);
  const pop = async (code: string) =>
    (
      await pool().query(
        `select type, pmun, pcap, ptot, codes_sources from population_legale where millesime = '2021' and code_commune = $1`,
        [code],
      )
    ).rows[0];

  beforeAll(async () => {
    db = await freshDatabase();
    process.env.MIRROR_DIR = SHARED_DATA;
    resetSettings();
    main = readPopulations(sharedFile('population', 'donnees_communes.csv'), (v) => v.COM);
    mayotte = readPopulations(sharedFile('population', 'donnees_communes_mayotte.csv'), (v) => v.DEP.slice(0, 2) + v.CODCOM);
    const cog = await runSource('cog', { trigger: 'test', log: () => undefined, force: true });
    expect(cog.status).toBe('succeeded');
    const pops = await runSource('populations', { trigger: 'test', log: () => undefined, force: true });
    expect(pops.status).toBe('succeeded');
    missing = await explainMissingPopulations(pool(), '2021');
  }, 600_000);
  afterAll(async () => {
    process.env.MIRROR_DIR = '';
    resetSettings();
    await db.cleanup();
  });

  test('the INSEE COG 2024 tables are loaded from the mirror', async () => {
    const {
      rows: [{ n }],
    } = await pool().query(`select count(*)::int as n from cog_communes_insee where cog = 2024 and typecom = 'COM'`);
    expect(n).toBeGreaterThan(34000);
    const {
      rows: [{ m }],
    } = await pool().query(`select count(*)::int as m from cog_mouvements`);
    expect(m).toBeGreaterThan(10000);
  });

  test('every row read is loaded or quarantined', async () => {
    const {
      rows: [r],
    } = await pool().query(
      `select rows_read, rows_loaded, rows_rejected from runs where source = 'populations' and status = 'succeeded' order by id desc limit 1`,
    );
    expect(Number(r.rows_read)).toBe(main.size + mayotte.size);
    expect(Number(r.rows_read)).toBe(Number(r.rows_loaded) + Number(r.rows_rejected));
  });

  // INSEE warns that the population comptée à part (and so the totale) must not be added across
  // communes: a row made of several codes keeps the sum of the population municipale only.
  test('35062 La Chapelle-Fleurigné = 35062 + 35112 of the file (population municipale; no summed comptée à part)', async () => {
    expect(await pop('35062')).toMatchObject({
      pmun: sum(['35062', '35112']),
      pcap: null,
      ptot: null,
      codes_sources: ['35062', '35112'],
    });
    expect(await pop('35112')).toBeUndefined();
  });

  test('69149 Oullins-Pierre-Bénite = 69149 + 69152 of the file', async () => {
    expect(await pop('69149')).toMatchObject({
      pmun: sum(['69149', '69152']),
      ptot: null,
      codes_sources: ['69149', '69152'],
    });
  });

  test('Paris 75056 = sum of 75101…75120 (population municipale), each arrondissement kept whole', async () => {
    const arm = Array.from({ length: 20 }, (_, i) => String(75101 + i));
    expect(arm.every((c) => main.has(c))).toBe(true);
    expect(main.has('75056')).toBe(false);
    expect(await pop('75056')).toMatchObject({
      type: 'commune-actuelle',
      pmun: sum(arm),
      pcap: null,
      ptot: null,
      codes_sources: arm,
    });
    for (const c of arm)
      expect(await pop(c)).toMatchObject({
        type: 'arrondissement-municipal',
        pmun: main.get(c)!.pmun,
        pcap: main.get(c)!.pcap,
        ptot: main.get(c)!.ptot,
      });
  });

  test('Mayotte rows carry the values of donnees_communes_mayotte.csv', async () => {
    expect(mayotte.size).toBeGreaterThan(10);
    for (const [code, r] of mayotte) {
      expect(code).toMatch(/^976\d\d$/);
      expect(await pop(code)).toMatchObject({ pmun: r.pmun, pcap: r.pcap, ptot: r.ptot });
    }
  });

  test('every commune actuelle without a population is explained, none with the generic reason', async () => {
    const { rows } = await pool().query(
      `select c.code from communes c where c.type = 'commune-actuelle'
          and not exists (select 1 from population_legale p where p.millesime = '2021' and p.code_commune = c.code) order by c.code`,
    );
    expect(missing.map((m) => m.code)).toEqual(rows.map((r) => r.code));
    for (const m of missing) {
      expect(m.raison.trim().length).toBeGreaterThan(0);
      expect(m.raison).not.toMatch(/à vérifier/);
    }
    const why = new Map(missing.map((m) => [m.code, m.raison]));
    // Communes of COG 2024 the file (geography COG 2023) gives no population: explained by their 2024 movement.
    const { rows: in2024 } = await pool().query(
      `select c.code from communes c join cog_communes_insee i on i.cog = 2024 and i.typecom = 'COM' and i.com = c.code
        where c.type = 'commune-actuelle' and c.zone <> 'com' and c.departement <> '976'
          and not exists (select 1 from population_legale p where p.millesime = '2021' and p.code_commune = c.code)`,
    );
    const movedIn2024 = in2024.map((r) => r.code as string).filter((c) => !main.has(c));
    expect(movedIn2024.length).toBeGreaterThan(0);
    for (const c of movedIn2024) expect(why.get(c)).toMatch(/le 2024-\d\d-\d\d .*COG 2023/);
    // Communes of the package's COG that INSEE COG 2024 does not know (restored or created later).
    const { rows: later } = await pool().query(
      `select c.code from communes c where c.type = 'commune-actuelle' and c.zone <> 'com'
          and not exists (select 1 from cog_communes_insee i where i.cog = 2024 and i.typecom = 'COM' and i.com = c.code)
          and not exists (select 1 from population_legale p where p.millesime = '2021' and p.code_commune = c.code)`,
    );
    expect(later.length).toBeGreaterThan(0);
    for (const r of later) expect(why.get(r.code)).toMatch(/après le COG 2024/);
    // Collectivités d'outre-mer are out of scope, and said so.
    const { rows: com } = await pool().query(`select code from communes where type = 'commune-actuelle' and zone = 'com'`);
    expect(com.length).toBeGreaterThan(0);
    for (const r of com) expect(why.get(r.code)).toMatch(/outre-mer/);
  });
});
