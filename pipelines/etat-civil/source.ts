import type { SourceDeclaration } from '../../config/sources';

/**
 * INSEE état civil, births and deaths per commune since 2008 (Melodi files, long format):
 * `EC_MEASURE;FREQ;GEO;GEO_OBJECT;OBS_STATUS;TIME_PERIOD;OBS_VALUE`, LVB = live births,
 * DTH = deaths, counted at the place of residence (mother / deceased). COM and ARM rows
 * both exist for Paris, Lyon and Marseille; GEO is a code, read as text (01001, 2A004).
 * Geography: the COG of the year after the last year covered (verify at each edition).
 * Served by INSEE's Melodi file endpoint (`api.insee.fr/melodi/file/<DS>/<DS>_CSV_FR`, the
 * current edition; `<DS>_<year>_CSV_FR` names one edition): a zip of `<DS>_data.csv` and
 * `<DS>_metadata.csv`. The edition is read from the data (its last year).
 */
const MELODI = 'https://api.insee.fr/melodi/file';
export const source: SourceDeclaration = {
  id: 'etat-civil',
  title: 'Naissances et décès domiciliés par commune',
  producer: 'INSEE',
  licence: {
    id: 'lov2',
    title: 'Licence Ouverte / Open Licence version 2.0',
    url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  },
  landingPage: 'https://www.insee.fr/fr/statistiques/1893255',
  format: 'csv (zip)',
  schedule: '0 6 15 * *', // yearly edition; checked monthly (conditional GET)
  millesime: '2024',
  resources: [
    {
      name: 'naissances',
      url: `${MELODI}/DS_ETAT_CIVIL_NAIS_COMMUNES/DS_ETAT_CIVIL_NAIS_COMMUNES_CSV_FR`,
      page: 'https://www.insee.fr/fr/statistiques/1893255',
      evidence:
        '../shared/data/real/etat-civil/DS_ETAT_CIVIL_NAIS_COMMUNES.zip is byte-identical to what this URL served (JidenBenfadhel/Projet-data@f31382f, downloaded by its script); per-edition …_2025_CSV_FR in code-id 68456864786',
      mirrorNames: [
        'DS_ETAT_CIVIL_NAIS_COMMUNES_CSV_FR',
        'DS_ETAT_CIVIL_NAIS_COMMUNES_CSV_FR.zip',
        'DS_ETAT_CIVIL_NAIS_COMMUNES.zip',
        'DS_ETAT_CIVIL_NAIS_COMMUNES_data.csv',
      ],
      // Births and deaths are independent files: either loads alone (the pipeline fails when neither is found).
      optional: true,
    },
    {
      name: 'deces',
      url: `${MELODI}/DS_ETAT_CIVIL_DECES_COMMUNES/DS_ETAT_CIVIL_DECES_COMMUNES_CSV_FR`,
      page: 'https://www.insee.fr/fr/statistiques/1893253',
      evidence: 'dataset DS_ETAT_CIVIL_DECES_COMMUNES in code-id 68456864786 (…_2025_CSV_FR), 57959359737; no genuine deaths file seen',
      mirrorNames: [
        'DS_ETAT_CIVIL_DECES_COMMUNES_CSV_FR',
        'DS_ETAT_CIVIL_DECES_COMMUNES_CSV_FR.zip',
        'DS_ETAT_CIVIL_DECES_COMMUNES.zip',
        'DS_ETAT_CIVIL_DECES_COMMUNES_data.csv',
      ],
      optional: true,
    },
  ],
  /** What one publication covers: the publication guard refuses one that loses more than 5 % of it (src/engine/guard.ts). */
  coverage: { kind: 'national', table: 'etat_civil', edition: 'millesime' },
};
