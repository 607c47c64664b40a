import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { settings } from '../config/settings';
import { recode, type RecodeOptions } from '../src/communes/recode';
import { createStaging, dropStaging, StagingContractError, StagingRowError } from '../src/engine/staging';
import { Quarantine } from '../src/engine/quarantine';
import { silentProgress } from '../src/engine/progress';
import type { RunContext } from '../src/engine/pipeline';

/**
 * The one re-coding step (src/communes/recode.ts), policy by policy, on a staged file of COG 2024
 * holding: a current commune, a commune merged since (35112 → 35062), Paris and two of its
 * arrondissements, a commune split into two new codes (01999), a commune split keeping its code
 * (01004 → 01004 + 01005), and an unknown code.
 */
const ROWS: [string, number][] = [
  ['35238', 1],
  ['35062', 2],
  ['35112', 3],
  ['75101', 10],
  ['75102', 20],
  ['75056', 100],
  ['01999', 7],
  ['01004', 8],
  ['99999', 9],
];

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
  // History of this test database only: 01999 split into 01001 and 01002; 01004 split, keeping its code, and 01005.
  await pool().query(`insert into cog_mouvements (mod, date_eff, typecom_av, com_av, libelle_av, typecom_ap, com_ap, libelle_ap) values
    (21, '2024-06-01', 'COM', '01999', 'Scindée', 'COM', '01001', 'A'), (21, '2024-06-01', 'COM', '01999', 'Scindée', 'COM', '01002', 'B'),
    (21, '2024-06-01', 'COM', '01004', 'Ambérieu', 'COM', '01004', 'Ambérieu'), (21, '2024-06-01', 'COM', '01004', 'Ambérieu', 'COM', '01005', 'C')`);
});
afterAll(async () => db.cleanup());

/** A run context of its own (a runs row, its quarantine and counters) over a staged copy of ROWS. */
async function stagedRun(): Promise<{ ctx: RunContext; table: string; quarantined: () => Promise<{ line: number; reason: string }[]> }> {
  const db = pool();
  const {
    rows: [run],
  } = await db.query(`insert into runs (source, status, trigger) values ('recode-test', 'running', 'test') returning id`);
  const runId = Number(run.id);
  const quarantine = new Quarantine(db, runId, 'recode-test');
  const counters = { read: ROWS.length, loaded: ROWS.length, rejected: 0, published: 0 };
  const ctx = {
    runId,
    db,
    settings: settings(),
    counters,
    quarantine,
    progress: silentProgress,
    log: () => undefined,
    staging: (name: string, columns: Record<string, string>) => createStaging(db, 'recode-test', runId, name, columns, { contract: true }),
    scratch: (name: string, columns: Record<string, string>) => createStaging(db, 'recode-test', runId, name, columns, { contract: false }),
    rejectStaged: async (select: string, params?: unknown[]) => {
      const n = await quarantine.addFromSql(select, params);
      counters.loaded -= n;
      return n;
    },
  } as unknown as RunContext;
  const t = await ctx.staging('rows', { code: 'text', fichier: 'text', line: 'bigint', raw: 'text', v: 'int' });
  await t.copyRows(
    db,
    ROWS.map(([code, v], i) => ({ code, fichier: 'f.csv', line: i + 2, raw: `${code};${v}`, v })),
  );
  const quarantined = async () => {
    await quarantine.flush();
    const { rows } = await db.query(`select line::int, reason from quarantine where run_id = $1 order by line`, [runId]);
    return rows;
  };
  return { ctx, table: t.qualified, quarantined };
}

/** code_actuel/type → sum of v, codes summed. */
async function published(table: string, map: string): Promise<Record<string, string>> {
  const { rows } = await pool().query(
    `select m.code_actuel || '/' || m.type as k, sum(s.v)::int || ' ' || string_agg(s.code, '+' order by s.code) as v
       from ${table} s join ${map} m on m.code = s.code group by 1 order by 1`,
  );
  return Object.fromEntries(rows.map((r) => [r.k, r.v]));
}

const base: RecodeOptions = { cog: 2024, column: 'CODE', split: 'keep-on-code', plm: 'both', overlap: 'prefer-arrondissements' };

describe('recode()', () => {
  afterEach(async () => {
    for (const r of (await pool().query(`select id from runs where source = 'recode-test'`)).rows)
      await dropStaging(pool(), 'recode-test', Number(r.id));
  });

  test('aggregates: merged communes summed, arrondissements kept and summed into Paris, unknown and split codes quarantined, counters kept', async () => {
    const { ctx, table, quarantined } = await stagedRun();
    const { map, rejected } = await recode(ctx, table, { ...base, splitReason: 'the figure cannot be divided' });
    expect(await published(table, map)).toEqual({
      '01004/commune-actuelle': '8 01004',
      '35062/commune-actuelle': '5 35062+35112',
      '35238/commune-actuelle': '1 35238',
      '75056/commune-actuelle': '30 75101+75102', // Paris's own row is superseded by its arrondissements, never counted twice
      '75101/arrondissement-municipal': '10 75101',
      '75102/arrondissement-municipal': '20 75102',
    });
    expect(rejected).toBe(2);
    expect(ctx.counters.loaded).toBe(ROWS.length - 2);
    expect(await quarantined()).toEqual([
      {
        line: 8,
        reason:
          'column CODE: commune 01999 of COG 2024 was split since into 01001, 01002, none of which kept its code: the figure cannot be divided',
      },
      { line: 10, reason: 'column CODE: code 99999 is neither a commune of COG 2024 nor in its history' },
    ]);
    const { rows } = await pool().query(`select nb from ${map} where code_actuel = '35062'`);
    expect(rows.map((r) => r.nb)).toEqual([2, 2]);
  });

  test("split: 'quarantine' also refuses a split commune that kept its code", async () => {
    const { ctx, table, quarantined } = await stagedRun();
    const { map, rejected } = await recode(ctx, table, { ...base, split: 'quarantine' });
    expect(rejected).toBe(3);
    expect(Object.keys(await published(table, map))).not.toContain('01004/commune-actuelle');
    expect((await quarantined()).find((q) => q.line === 9)!.reason).toBe(
      'column CODE: commune 01004 of COG 2024 was split since into 01004, 01005',
    );
  });

  test("objects ('keep-all'): Paris's own row and its arrondissements are all kept", async () => {
    const { ctx, table } = await stagedRun();
    const { map } = await recode(ctx, table, { ...base, overlap: 'keep-all' });
    expect((await published(table, map))['75056/commune-actuelle']).toBe('130 75056+75101+75102');
  });

  test("shapes ('roll-up', 'prefer-commune'): arrondissements dropped where their commune is in the file, not quarantined", async () => {
    const { ctx, table, quarantined } = await stagedRun();
    const { map, rejected } = await recode(ctx, table, { ...base, plm: 'roll-up', overlap: 'prefer-commune' });
    const p = await published(table, map);
    expect(p['75056/commune-actuelle']).toBe('100 75056');
    expect(Object.keys(p).some((k) => k.endsWith('arrondissement-municipal'))).toBe(false);
    expect(rejected).toBe(2);
    expect((await quarantined()).map((q) => q.line)).toEqual([8, 10]);
  });

  test("'keep': an arrondissement keeps its own row only; 'reject': it is quarantined", async () => {
    const keep = await stagedRun();
    const k = await published(keep.table, (await recode(keep.ctx, keep.table, { ...base, plm: 'keep', overlap: 'keep-all' })).map);
    expect(k['75101/arrondissement-municipal']).toBe('10 75101');
    expect(k['75056/commune-actuelle']).toBe('100 75056');
    const rej = await stagedRun();
    const r = await recode(rej.ctx, rej.table, { ...base, plm: 'reject' });
    expect(r.rejected).toBe(4);
    expect((await rej.quarantined()).find((q) => q.line === 5)!.reason).toBe(
      'column CODE: code 75101 is an arrondissement municipal: the source has no figure at that level',
    );
    expect((await published(rej.table, r.map))['75056/commune-actuelle']).toBe('100 75056');
  });

  test('`where` leaves the other rows alone (neither mapped nor quarantined)', async () => {
    const { ctx, table, quarantined } = await stagedRun();
    const { rejected } = await recode(ctx, table, { ...base, where: `s.code <> '99999'` });
    expect(rejected).toBe(1);
    expect((await quarantined()).map((q) => q.line)).toEqual([8]);
  });
});

describe('the staging contract', () => {
  test('a staging table without code, fichier, line or raw fails at creation, naming what is missing', async () => {
    await expect(
      createStaging(pool(), 'recode-test', 1, 'bad', { code: 'text', valeur: 'int', line: 'bigint' }, { contract: true }),
    ).rejects.toThrow(StagingContractError);
    await expect(
      createStaging(pool(), 'recode-test', 1, 'bad', { code: 'text', valeur: 'int', line: 'bigint' }, { contract: true }),
    ).rejects.toThrow(/staging table 'bad' lacks columns fichier, raw of the staging contract/);
  });

  test('rows are keyed by column name: a left-out column is NULL, a key that is no column fails, naming it', async () => {
    const t = await createStaging(
      pool(),
      'recode-test',
      2,
      'named',
      { code: 'text', fichier: 'text', line: 'bigint', raw: 'text', v: 'int' },
      { contract: true },
    );
    try {
      await t.copyRows(pool(), [{ v: 3, code: '01001', line: 2 }]);
      const { rows } = await pool().query(`select code, fichier, line::int, raw, v from ${t.qualified}`);
      expect(rows).toEqual([{ code: '01001', fichier: null, line: 2, raw: null, v: 3 }]);
      const typo = [{ code: '01001', valeur: 3 }] as unknown as { code: string }[];
      await expect(t.copyRows(pool(), typo)).rejects.toThrow(StagingRowError);
      await expect(t.copyRows(pool(), typo)).rejects.toThrow(/row key 'valeur' is not a column \(columns: code, fichier, line, raw, v\)/);
    } finally {
      await dropStaging(pool(), 'recode-test', 2);
    }
  });
});
