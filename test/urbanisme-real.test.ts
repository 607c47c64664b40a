import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { pipeline } from '../pipelines/urbanisme';

/**
 * Urbanisme on GENUINE answers of API Carto's /gpu module (the Géoplateforme WFS layers
 * wfs_du:municipality and wfs_du:document), recorded on 2025-09-02 and kept byte for byte
 * (test/fixtures/urbanisme/real/PROVENANCE.md). Expected values are read here from the raw
 * features with JSON.parse, independently of the pipeline.
 */
const DIR = path.join(__dirname, 'fixtures', 'urbanisme', 'real');
type F = { properties: Record<string, string | boolean | number> };
type Answer = { features: F[]; timeStamp: string; numberMatched: number; numberReturned: number };
const raw = (name: string) => JSON.parse(fs.readFileSync(path.join(DIR, name), 'utf8')) as Answer;
const quiet = { trigger: 'test', log: () => undefined } as const;
const table = (name: string) => pipeline.pack!.tables.find((t) => t.name === name)!;

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

describe('Géoportail de l’Urbanisme on genuine API Carto answers (2025-09-02)', () => {
  test('Le Guilvinec (29072): its municipality and its PLU load whole, edition = the timeStamp, nothing rejected', async () => {
    const muni = raw('wfs_du-municipality.json');
    const doc = raw('wfs_du-document.json');
    for (const [name, a] of [
      ['wfs_du-municipality.json', muni],
      ['wfs_du-document.json', doc],
    ] as const) {
      const r = await runSource('urbanisme', { ...quiet, file: path.join(DIR, name) });
      expect(r).toMatchObject({ status: 'succeeded', read: a.features.length, loaded: a.features.length, rejected: 0 });
      expect(r.millesime).toBe(a.timeStamp.slice(0, 10));
    }
    const m = muni.features[0].properties;
    const d = doc.features[0].properties;
    expect([m.insee, d.grid_name]).toEqual(['29072', '29072']);
    const { rows } = await pool().query(table('urbanisme').query, [['29072']]);
    expect(rows).toEqual([
      expect.objectContaining({
        code_commune: '29072',
        regime: d.du_type,
        document: d.name,
        date_approbation: String(d.name).replace(/^.*_(\d{4})(\d{2})(\d{2})$/, '$1-$2-$3'),
        lien: `https://www.geoportail-urbanisme.gouv.fr/document/by-id/${d.gpu_doc_id}`,
        au_rnu_selon_le_geoportail: m.is_rnu,
        documents_publies: 1,
      }),
    ]);
  });

  test.each([
    ['apicarto-gpu-document-26321.json', 'document'],
    ['apicarto-gpu-document-29158.json', 'document'],
    ['apicarto-gpu-municipality-29158.json', 'municipality'],
  ])('%s (named with --resource %s) loads whole', async (name, resource) => {
    const a = raw(name);
    expect(a.numberReturned).toBe(a.numberMatched);
    // Each answer holds one commune: replacing a layer by another answer may shrink what is published.
    const r = await runSource('urbanisme', { ...quiet, file: path.join(DIR, name), resource, allowShrink: true });
    expect(r).toMatchObject({ status: 'succeeded', read: a.features.length, loaded: a.features.length, rejected: 0 });
    expect(r.millesime).toBe(a.timeStamp.slice(0, 10));
    const p = a.features[0].properties;
    const code = String(resource === 'document' ? p.grid_name : p.insee);
    const { rows } = await pool().query(
      resource === 'document'
        ? `select nom, du_type from urbanisme_document where code_commune = $1`
        : `select nom, est_rnu from urbanisme_municipalite where code_commune = $1`,
      [code],
    );
    expect(rows).toEqual([resource === 'document' ? { nom: p.name, du_type: p.du_type } : { nom: p.name, est_rnu: p.is_rnu }]);
  });
});
