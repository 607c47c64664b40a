import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { pipeline } from '../pipelines/marches-publics';

/**
 * DECP on a GENUINE file (test/fixtures/marches-publics/real, PROVENANCE.md): the records of the
 * « PES marché » channel (DGFiP) as the 2019 consolidation wrote them — envelope `{"marches": [...]}`,
 * the 2019 format (`acheteur {id, nom}`, `titulaires[] {typeIdentifiant, id, denominationSociale}`),
 * dates with a time-zone offset (`2018-10-01+02:00`), the consolidation's `source`, `uid`, `_type`.
 * Expected values come from the raw records, read here independently of the pipeline.
 */
const FILE = path.join(__dirname, 'fixtures', 'marches-publics', 'real', 'data.gouv.fr_pes.json');
type Rec = {
  uid: string;
  acheteur: { id: string };
  objet: string;
  codeCPV: string;
  procedure: string;
  montant: number;
  dateNotification: string;
  datePublicationDonnees: string;
  titulaires: { id: string; denominationSociale: string }[];
};
const records = (JSON.parse(fs.readFileSync(FILE, 'utf8')) as { marches: Rec[] }).marches;
const table = (name: string) => pipeline.pack!.tables.find((t) => t.name === name)!;
const perCommune = async (name: string, code: string) => (await pool().query(table(name).query.replaceAll('$code', `'${code}'`))).rows;

let db: Awaited<ReturnType<typeof freshDatabase>>;
let report: Awaited<ReturnType<typeof runSource>>;
let sirenOf: Map<string, string>;
beforeAll(async () => {
  db = await freshDatabase();
  report = await runSource('marches-publics', { file: FILE, trigger: 'test', log: () => undefined });
  const { rows } = await pool().query(
    `select code, siren from communes where type = 'commune-actuelle' and code in ('69123', '97415', '35051')`,
  );
  sirenOf = new Map(rows.map((r) => [r.code, r.siren]));
});
afterAll(async () => db.cleanup());

describe('DECP, genuine records (PES marché channel, consolidation of 3 February 2019)', () => {
  test('every record loads; the edition is the latest datePublicationDonnees; read = loaded + rejected', () => {
    const latest = records
      .map((r) => r.datePublicationDonnees.slice(0, 10))
      .sort()
      .at(-1);
    expect(report).toMatchObject({ status: 'succeeded', millesime: latest, read: records.length, loaded: records.length, rejected: 0 });
    expect(report.read).toBe(report.loaded + report.rejected);
  });

  test.each([
    ['69123', 'Lyon'],
    ['97415', 'Saint-Paul'],
    ['35051', 'Cesson-Sévigné'],
  ])('%s (%s): the contracts it bought, by the SIREN of its SIRET, are its raw records', async (code) => {
    const siren = sirenOf.get(code)!;
    expect(siren).toMatch(/^\d{9}$/);
    const mine = records.filter((r) => r.acheteur.id.slice(0, 9) === siren);
    expect(mine.length).toBeGreaterThan(0);
    const got = (await perCommune('commande_publique', code)).filter((r) => r.lien === 'achat de la commune');
    // The pipeline trims text cells (one genuine objet ends with a space).
    const row = (r: Rec) => [r.uid, r.objet.trim(), r.codeCPV, r.procedure, r.montant, r.dateNotification.slice(0, 10)];
    expect(
      got
        .map((g) => [g.identifiant, g.objet, g.code_cpv, g.procedure, Number(g.montant), g.date_notification])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    ).toEqual(mine.map(row).sort((a, b) => String(a[0]).localeCompare(String(b[0]))));
    // The SCDL file: one line per titulaire, with its SIRET and name as the record gives them.
    const scdl = await perCommune('marches_publics', code);
    expect(scdl.map((r) => [r.TITULAIRES_ID, r.TITULAIRES_DENOMINATION]).sort()).toEqual(
      mine.flatMap((r) => r.titulaires.map((t) => [t.id, t.denominationSociale.trim()])).sort(),
    );
    // Per year: count and total of its own contracts.
    const { rows } = await pool().query(table('commande_publique_annees').query, [[code]]);
    const years = [...new Set(mine.map((r) => Number(r.dateNotification.slice(0, 4))))].sort();
    expect(rows.filter((r) => r.lien === 'achat de la commune').map((r) => [r.annee, r.type, r.nombre, Number(r.montant_total)])).toEqual(
      years.map((y) => {
        const of = mine.filter((r) => r.dateNotification.startsWith(String(y)));
        return [y, 'marché', of.length, Math.round(of.reduce((s, r) => s + r.montant, 0) * 100) / 100];
      }),
    );
  });
});
