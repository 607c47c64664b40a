import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { pipeline } from '../pipelines/urbanisme';

/**
 * Urbanisme on the SYNTHETIC fixtures of test/fixtures/urbanisme (README.md: WFS GetFeature answers
 * of the Géoplateforme layers wfs_du:municipality, wfs_du:document, wfs_du:zone_urba, in the
 * documented layout). Expected values come from the raw features, read here with JSON.parse.
 */
const DIR = path.join(__dirname, 'fixtures', 'urbanisme');
const file = (layer: string) => path.join(DIR, `wfs_du-${layer}.json`);
type F = { properties: Record<string, string | boolean>; geometry: unknown };
const raw = (layer: string) => JSON.parse(fs.readFileSync(file(layer), 'utf8')) as { features: F[]; timeStamp: string };
const quiet = { trigger: 'test', log: () => undefined } as const;
const table = (name: string) => pipeline.pack!.tables.find((t) => t.name === name)!;

let db: Awaited<ReturnType<typeof freshDatabase>>;
const reports: Record<string, Awaited<ReturnType<typeof runSource>>> = {};
beforeAll(async () => {
  db = await freshDatabase();
  for (const l of ['municipality', 'document', 'zone_urba']) reports[l] = await runSource('urbanisme', { ...quiet, file: file(l) });
});
afterAll(async () => db.cleanup());

describe('Géoportail de l’Urbanisme (WFS layers)', () => {
  test('each layer loads alone; features add up; the edition is the answer’s timeStamp, each file keeping its own', async () => {
    for (const [l, r] of Object.entries(reports)) {
      expect(r.status).toBe('succeeded');
      expect(r.read).toBe(raw(l).features.length);
      expect(r.read).toBe(r.loaded + r.rejected);
    }
    expect(reports.document.millesime).toBe(raw('document').timeStamp.slice(0, 10));
    const { rows } = await pool().query(`select details from published_datasets where source = 'urbanisme'`);
    expect(rows).toHaveLength(1);
    expect(rows[0].details.editions.zonage).toEqual({
      edition: raw('zone_urba').timeStamp.slice(0, 10),
      from: 'content (timeStamp of the WFS answer)',
      fichier: 'wfs_du-zone_urba.json',
    });
    const { rows: q } = await pool().query(`select reason from quarantine order by run_id, line`);
    expect(q.map((r) => r.reason)).toEqual([
      "feature 11: insee '3X001' is not a code INSEE",
      "feature 8: grid_name 'ABCDEF' is neither a code INSEE nor a SIREN",
      'feature 9: grid_name 123456789 is the SIREN of no current EPCI or commune',
      'same gpu_doc_id as feature 4',
      'feature 5: no valid polygon geometry',
    ]);
  });

  test('three communes (Ajaccio’s PLU, Baulon’s carte communale, Amanlis under the RNU) equal their raw features', async () => {
    const docs = raw('document').features.map((f) => f.properties);
    const muni = raw('municipality').features.map((f) => f.properties);
    for (const code of ['2A004', '35016', '35003']) {
      // A document listed twice counts once (the repeat is quarantined).
      const own = docs.filter((d, i) => d.grid_name === code && docs.findIndex((x) => x.gpu_doc_id === d.gpu_doc_id) === i);
      const m = muni.find((x) => x.insee === code)!;
      const { rows } = await pool().query(table('urbanisme').query, [[code]]);
      const want = own.length
        ? {
            regime: own[0].du_type,
            document: own[0].name,
            date_approbation: String(own[0].name).replace(/^.*_(\d{4})(\d{2})(\d{2})$/, '$1-$2-$3'),
            lien: `https://www.geoportail-urbanisme.gouv.fr/document/by-id/${own[0].gpu_doc_id}`,
          }
        : { regime: m.is_rnu ? 'RNU' : 'inconnu', document: null, date_approbation: null, lien: null };
      expect(rows).toEqual([
        expect.objectContaining({
          code_commune: code,
          code_insee: code,
          ...want,
          au_rnu_selon_le_geoportail: m.is_rnu,
          documents_publies: own.length,
        }),
      ]);
    }
  });

  test('a PLUi goes to every member of the EPCI that carries it; Rennes lists its PSMV beside, the PLUi in force', async () => {
    const plui = raw('document').features.find((f) => f.properties.grid_name === '243500139')!.properties;
    const { rows: members } = await pool().query(`select commune from epci_membres where epci = '243500139' order by 1`);
    const { rows } = await pool().query(
      `select code_commune from urbanisme_document where gpu_doc_id = $1 and type = 'commune-actuelle' order by 1`,
      [plui.gpu_doc_id],
    );
    expect(rows.map((r) => r.code_commune)).toEqual(members.map((r) => r.commune));
    const { rows: rennes } = await pool().query(table('urbanisme_documents').query, [['35238']]);
    expect(rennes.map((r) => [r.type_document, r.rattachement])).toEqual([
      ['PLUi', "membre de l'EPCI 243500139"],
      ['PSMV', 'code INSEE'],
    ]);
    expect((await pool().query(table('urbanisme').query, [['35238']])).rows[0].regime).toBe('PLUi');
  });

  test('Fleurigné’s PLU (35112) goes to La Chapelle-Fleurigné (35062); Paris’s PLU to each arrondissement', async () => {
    expect((await pool().query(table('urbanisme').query, [['35062']])).rows[0]).toMatchObject({
      regime: 'PLU',
      document: '35112_PLU_20070625',
    });
    const { rows } = await pool().query(table('urbanisme').query, [['75112', '75120']]);
    expect(rows.map((r) => [r.code_commune, r.document])).toEqual([
      ['75112', '75056_PLU_20240220'],
      ['75120', '75056_PLU_20240220'],
    ]);
  });

  test('the zoning layer: Baulon’s zones with their raw labels and squares', async () => {
    const layer = pipeline.pack!.layers![0];
    const { rows } = await pool().query(layer.query, [['35016']]);
    const want = raw('zone_urba').features.filter((f) => f.properties.insee === '35016' && f.geometry);
    expect(rows.map((r) => r.properties.libelle)).toEqual(want.map((f) => f.properties.libelle));
    expect(rows.map((r) => JSON.parse(r.geometry).coordinates)).toEqual(
      want.map((f) => (f.geometry as { coordinates: unknown }).coordinates),
    );
  });

  test('a file holding one page of a larger WFS answer is refused, naming both counts', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-'));
    const page = path.join(dir, 'wfs_du-document.json');
    fs.writeFileSync(page, fs.readFileSync(file('document'), 'utf8').replace('"numberMatched":10', '"numberMatched":28411'));
    await expect(runSource('urbanisme', { ...quiet, file: page })).rejects.toThrow(/one page of a WFS answer: 10 of 28411 features/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
