import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { settings } from '../config/settings';
import { pipeline } from '../pipelines/marches-publics';
import { decpDate, decpNumber } from '../pipelines/marches-publics/record';

/**
 * Marchés publics (DECP) on the labelled SYNTHETIC files of test/fixtures/marches-publics, in the
 * two envelopes the consolidation publishes. Three communes are checked against the records read
 * here with JSON.parse, apart from the pipeline's streaming reader.
 */
const DIR = path.join(__dirname, 'fixtures', 'marches-publics');
type Rec = Record<string, unknown> & { id: string; uid?: string; datePublicationDonnees?: string };
const global = JSON.parse(fs.readFileSync(path.join(DIR, 'decp-global.json'), 'utf8')) as {
  marches: { marche: Rec[]; 'contrat-concession': Rec[] };
};
const records: Rec[] = [...global.marches.marche, ...global.marches['contrat-concession']];
const buyerOf = (r: Rec) => ((r.acheteur ?? r.autoriteConcedante) as { id: string }).id;
const uidOf = (r: Rec) => r.uid ?? `${buyerOf(r)}${r.id}`;

/** One record per uid (the latest publication), records with a 14-digit buyer SIRET only. */
function unique(rs: Rec[]): Rec[] {
  const by = new Map<string, Rec>();
  for (const r of rs.filter((x) => /^\d{14}$/.test(buyerOf(x)))) {
    const k = by.get(uidOf(r));
    if (!k || String(r.datePublicationDonnees) > String(k.datePublicationDonnees)) by.set(uidOf(r), r);
  }
  return [...by.values()];
}

let db: Awaited<ReturnType<typeof freshDatabase>>;
let report: Awaited<ReturnType<typeof runSource>>;
let sirenOf: Map<string, string>;
let epciOf: Map<string, string>;
beforeAll(async () => {
  db = await freshDatabase();
  report = await runSource('marches-publics', { settings: { ...settings(), MIRROR_DIR: DIR }, trigger: 'test', log: () => undefined });
  const { rows } = await pool().query(
    `select code, siren, epci from communes where type = 'commune-actuelle' and code in ('35238', '01053', '75056')`,
  );
  sirenOf = new Map(rows.map((r) => [r.code, r.siren]));
  epciOf = new Map(rows.map((r) => [r.code, r.epci]));
});
afterAll(async () => db.cleanup());

const table = (name: string) => pipeline.pack!.tables.find((t) => t.name === name)!;
const perCommune = async (name: string, code: string) => (await pool().query(table(name).query.replaceAll('$code', `'${code}'`))).rows;

describe('marchés publics from the DECP consolidation (synthetic files)', () => {
  test('the nested envelope is streamed; rows add up; a bad buyer and a republished contract are quarantined with their reason', async () => {
    expect(report.status).toBe('succeeded');
    expect(report.read).toBe(records.length);
    expect(report.read).toBe(report.loaded + report.rejected);
    const { rows } = await pool().query(`select line, reason from quarantine where run_id = $1 order by line`, [report.runId]);
    expect(rows).toEqual([
      { line: 7, reason: "record 7: acheteur.id '123' is not a SIRET (14 digits)" },
      { line: 8, reason: 'record 8: uid 213502388000132024RE001 again; the record kept is 1 (latest datePublicationDonnees)' },
    ]);
    // No resource date with a mirror copy: the latest publication of the records, said so.
    const latest = unique(records)
      .map((r) => String(r.datePublicationDonnees))
      .sort()
      .pop();
    expect(report.millesime).toBe(latest);
    const { rows: pub } = await pool().query(`select details from published_datasets where source = 'marches-publics'`);
    expect(pub[0].details.edition_lue).toBe('content (latest datePublicationDonnees)');
  });

  test('Rennes (35238): its own contracts by SIREN, its intercommunalité’s, and another buyer’s executed there, as the raw records say', async () => {
    const siren = sirenOf.get('35238')!;
    const recs = unique(records);
    const commune = recs.filter((r) => buyerOf(r).slice(0, 9) === siren);
    const epci = recs.filter((r) => buyerOf(r).slice(0, 9) === epciOf.get('35238'));
    const lieu = (r: Rec) => r.lieuExecution as { code: string; typeCode: string };
    const executed = recs.filter(
      (r) => !commune.includes(r) && !epci.includes(r) && lieu(r)?.typeCode === 'Code commune' && lieu(r).code === '35238',
    );
    const got = await perCommune('commande_publique', '35238');
    const want = [
      ...commune.map((r) => [uidOf(r), 'achat de la commune']),
      ...executed.map((r) => [uidOf(r), 'exécuté dans la commune']),
      ...epci.map((r) => [uidOf(r), 'achat de l’intercommunalité'.replace('’', "'")]),
    ];
    expect(got.map((r) => [r.identifiant, r.lien]).sort()).toEqual(want.sort());
    for (const r of commune) {
      const row = got.find((g) => g.identifiant === uidOf(r))!;
      expect([row.objet, row.code_cpv, row.procedure, row.montant === null ? null : Number(row.montant), row.date_notification]).toEqual([
        r.objet,
        r.codeCPV,
        r.procedure,
        decpNumber(r.montant),
        r.dateNotification,
      ]);
      // The titulaires, in the record's order: "type id [name]", separated by " | ".
      const tit = (r.titulaires as { titulaire: { typeIdentifiant?: string; id: string; denominationSociale?: string } }[]).map((t) =>
        [t.titulaire.typeIdentifiant, t.titulaire.id, t.titulaire.denominationSociale].filter(Boolean).join(' '),
      );
      expect(row.titulaires).toBe(tit.length ? tit.join(' | ') : null);
    }
    // The SCDL file: the commune's marchés, one line per titulaire.
    const scdl = await perCommune('marches_publics', '35238');
    const titulaires = commune.flatMap((r) => (r.titulaires as { titulaire: { id: string } }[]).map((t) => [r.id, t.titulaire.id]));
    expect(scdl.map((r) => [r.MARCHE_ID, r.TITULAIRES_ID]).sort()).toEqual(titulaires.sort());
    const m1 = scdl.find((r) => r.MARCHE_ID === '2024RE001')!;
    expect([m1.MODIF_DUREE_MOIS, m1.MODIF_MARCHE_MONTANT, m1.MODIF_PUBLICATION_DATE].map(String)).toEqual(['48', '500000', '2025-01-10']);
  });

  test('Bourg-en-Bresse (01053): a marché of the 2019 format (names given) and a concession (autorité concédante, valeur globale)', async () => {
    const siren = sirenOf.get('01053')!;
    const mine = unique(records).filter((r) => buyerOf(r).slice(0, 9) === siren);
    expect(mine).toHaveLength(2);
    const got = await perCommune('commande_publique', '01053');
    expect(got.map((r) => [r.identifiant, r.type, r.montant === null ? null : Number(r.montant), r.date_notification]).sort()).toEqual(
      mine
        .map((r) => [
          uidOf(r),
          'autoriteConcedante' in r ? 'concession' : 'marché',
          decpNumber(r.montant ?? r.valeurGlobale),
          decpDate(r.dateNotification ?? r.dateSignature),
        ])
        .sort(),
    );
    const scdl = await perCommune('marches_publics', '01053');
    expect(scdl.map((r) => [r.MARCHE_ID, r.ACHETEURS_NOM, r.TITULAIRES_DENOMINATION, r.LIEU_EXEC_NOM])).toEqual([
      ['2020BB01', 'COMMUNE DE BOURG EN BRESSE', "PROPRETÉ DE L'AIN", 'Bourg-en-Bresse'],
    ]);
  });

  test('Paris 14e (75114): a contract whose place is the arrondissement municipal; Paris itself bought it', async () => {
    expect((await perCommune('commande_publique', '75114')).map((r) => [r.identifiant, r.lien])).toEqual([
      ['217500016000192025PA0099', 'exécuté dans la commune'],
    ]);
    expect((await perCommune('commande_publique', '75056')).map((r) => [r.identifiant, r.lien])).toEqual([
      ['217500016000192025PA0099', 'achat de la commune'],
    ]);
  });

  test('counts and amounts per year; an amount « NC » is left out of the total and counted apart', async () => {
    const { rows } = await pool().query(table('commande_publique_annees').query, [['35238']]);
    expect(
      rows.map((r) => [r.annee, r.lien, r.type, r.nombre, r.montant_total === null ? null : Number(r.montant_total), r.sans_montant]),
    ).toEqual([
      [2025, 'achat de la commune', 'marché', 1, null, 1],
      [2025, "achat de l'intercommunalité", 'marché', 1, 12500000.5, 0],
      [2024, 'achat de la commune', 'marché', 1, 450000, 0],
      [2024, 'exécuté dans la commune', 'marché', 1, 3200000, 0],
    ]);
  });

  test('counts per year for many communes at once (commune by commune): the same rows as one grouping of them all', async () => {
    const { rows: codes } = await pool().query(`select distinct code_commune from marche_public_commune order by 1`);
    const all = codes.map((r) => r.code_commune as string);
    expect(all.length).toBeGreaterThan(3);
    const { rows: got } = await pool().query(table('commande_publique_annees').query, [all]);
    const { rows: want } = await pool().query(
      `select l.code_commune, extract(year from m.date_notification)::int as annee,
              case l.lien when 'commune' then 'achat de la commune' when 'intercommunalite' then 'achat de l''intercommunalité' else 'exécuté dans la commune' end as lien,
              m.type, count(*)::int as nombre, sum(m.montant) as montant_total, count(*) filter (where m.montant is null)::int as sans_montant
         from marche_public_commune l join marche_public m on m.uid = l.uid
        where l.code_commune = any($1::text[]) and m.date_notification is not null
        group by l.code_commune, 2, l.lien, m.type order by l.code_commune, 2 desc, l.lien, m.type`,
      [all],
    );
    expect(got).toEqual(want);
  });

  test('the SCDL file has the 26 columns of the SCDL « Marchés publics » 1.0 model, in its order', () => {
    expect(table('marches_publics').fields.map((f) => f.name)).toEqual(
      'MARCHE_ID,ACHETEURS_ID,ACHETEURS_NOM,NATURE_MARCHE,MARCHE_OBJET,CPV_CODE,PROCEDURE,LIEU_EXEC_CODE,LIEU_EXEC_TYPE,LIEU_EXEC_NOM,DUREE_MOIS,NOTIFICATION_DATE,PUBLICATION_DATE,MONTANT,PRIX_FORME,TITULAIRES_ID,TITULAIRES_ID_TYPE,TITULAIRES_DENOMINATION,MODIF_OBJET,MODIF_PUBLICATION_DATE,MODIF_DUREE_MOIS,MODIF_MARCHE_MONTANT,MODIF_TITULAIRES_ID,MODIF_TITULAIRES_ID_TYPE,MODIF_TITULAIRES_DENOMINATION,MODIF_SIGNATURE_DATE'.split(
        ',',
      ),
    );
  });

  test('the migration that added the stored titulaires computes, for contracts loaded before it, what the load writes', async () => {
    const sql = fs.readFileSync(path.join(__dirname, '..', 'sql', 'migrations', '173_marche_public_titulaires.sql'), 'utf8');
    const update = sql.slice(sql.indexOf('update marche_public'));
    const c = await pool().connect();
    try {
      await c.query('begin');
      const before = (await c.query(`select uid, titulaires from marche_public order by uid`)).rows;
      expect(before.filter((r) => r.titulaires !== null).length).toBeGreaterThan(3);
      await c.query(`update marche_public set titulaires = null`);
      await c.query(update);
      expect((await c.query(`select uid, titulaires from marche_public order by uid`)).rows).toEqual(before);
    } finally {
      await c.query('rollback');
      c.release();
    }
  });

  test('a yearly file in the flat envelope replaces the contracts of its year only', async () => {
    const next = await runSource('marches-publics', { file: path.join(DIR, 'decp-2025.json'), trigger: 'test', log: () => undefined });
    expect([next.status, next.read, next.loaded, next.rejected]).toEqual(['succeeded', 3, 3, 0]);
    const { rows } = await pool().query(`select uid, montant from marche_public order by uid`);
    const uids = rows.map((r) => r.uid);
    expect(uids).not.toContain('243500139001892025RM042'); // a 2025 contract absent from the 2025 file
    expect(uids).toContain('213502388000132024RE001'); // 2024 is left as it was
    expect(uids).toContain('213502388000132025RE020'); // new in the 2025 file
    expect(Number(rows.find((r) => r.uid === '213502388000132025RE007')!.montant)).toBe(80000); // « NC » then published
  });

  test('numbers and dates as the files write them', () => {
    expect([decpNumber(12), decpNumber('120000.00'), decpNumber('12 500,50'), decpNumber('NC'), decpNumber('')]).toEqual([
      12,
      120000,
      12500.5,
      null,
      null,
    ]);
    expect([decpDate('2024-01-15+01:00'), decpDate('2024-02-30'), decpDate('NC')]).toEqual(['2024-01-15', null, null]);
  });
});
