import type { SourceDeclaration } from '../../config/sources';

/** Code officiel géographique: the commune referential every other source is sliced by. */
export const source: SourceDeclaration = {
  id: 'cog',
  title: 'Code officiel géographique (communes, départements, régions, EPCI)',
  producer: 'INSEE',
  licence: {
    id: 'lov2',
    title: 'Licence Ouverte / Open Licence version 2.0',
    url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  },
  landingPage: 'https://www.insee.fr/fr/information/8740222',
  format: 'csv',
  schedule: '0 4 5 1,2,3 *', // early January to March: INSEE publishes the new COG then
  resources: [
    // Optional: the referential always comes from @etalab/decoupage-administratif; INSEE files add the history.
    {
      name: 'communes',
      url: 'https://www.insee.fr/fr/statistiques/fichier/8740222/v_commune_2026.csv',
      edition: { from: 'name', pattern: 'v_commune_(\\d{4})' },
      page: 'https://www.insee.fr/fr/information/8740222',
      evidence:
        'COG 2026 files at statistiques/fichier/8740222/ in code-id 71118357643 (a 2026 download script); the page id is inferred from the file path',
      mirrorNames: ['v_commune_2026.csv', 'v_commune_2025.csv', 'v_commune_2024.csv', 'communes.csv'],
      optional: true,
    },
    {
      name: 'mouvements',
      url: 'https://www.insee.fr/fr/statistiques/fichier/8740222/v_mvt_commune_2026.csv',
      edition: { from: 'name', pattern: 'v_mvt_commune_(\\d{4})' },
      page: 'https://www.insee.fr/fr/information/8740222',
      evidence: 'code-id 71118357643',
      mirrorNames: ['v_mvt_commune_2026.csv', 'v_mvt_commune_2025.csv', 'v_mvt_commune_2024.csv', 'mouvements-communes.csv'],
      optional: true,
    },
    // Optional, mirror only: saved answers of the INSEE Metadata API (JSON arrays with `code` and `uri`), which
    // give the INSEE RDF URIs cited by the API Territoire (`uri`) and the DCAT catalog (dct:spatial). The API
    // needs an account on api.insee.fr, so the answers are saved by hand (`?date=*` keeps ended versions too).
    {
      name: 'insee-geo-communes',
      url: 'https://api.insee.fr/metadonnees/geo/communes',
      page: 'https://api.insee.fr/metadonnees/geo/communes',
      evidence: 'INSEE Metadata API (account needed): saved by hand, never downloaded',
      mirrorNames: ['insee-geo-communes.json'],
      optional: true,
      mirrorOnly: true,
    },
    {
      name: 'insee-geo-departements',
      url: 'https://api.insee.fr/metadonnees/geo/departements',
      page: 'https://api.insee.fr/metadonnees/geo/departements',
      evidence: 'INSEE Metadata API (account needed): saved by hand, never downloaded',
      mirrorNames: ['insee-geo-departements.json'],
      optional: true,
      mirrorOnly: true,
    },
    {
      name: 'insee-geo-regions',
      url: 'https://api.insee.fr/metadonnees/geo/regions',
      page: 'https://api.insee.fr/metadonnees/geo/regions',
      evidence: 'INSEE Metadata API (account needed): saved by hand, never downloaded',
      mirrorNames: ['insee-geo-regions.json'],
      optional: true,
      mirrorOnly: true,
    },
  ],
  /** What one publication covers: the publication guard refuses one that loses more than 5 % of it (src/engine/guard.ts). */
  coverage: { kind: 'national', table: 'communes', commune: 'code', departement: 'departement' },
};
