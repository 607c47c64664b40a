import type { SourceDeclaration } from '../../config/sources';

/**
 * INSEE état civil, births and deaths per commune since 2008 (Melodi files, long format):
 * `EC_MEASURE;FREQ;GEO;GEO_OBJECT;OBS_STATUS;TIME_PERIOD;OBS_VALUE`, LVB = live births,
 * DTH = deaths, counted at the place of residence (mother / deceased). COM and ARM rows
 * both exist for Paris, Lyon and Marseille; GEO is a code, read as text (01001, 2A004).
 * Geography: the COG of the year after the last year covered (verify at each edition).
 */
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
      url: 'https://www.insee.fr/fr/statistiques/fichier/1893255/DS_ETAT_CIVIL_NAIS_COMMUNES_CSV_FR.zip',
      mirrorNames: ['DS_ETAT_CIVIL_NAIS_COMMUNES_CSV_FR.zip', 'DS_ETAT_CIVIL_NAIS_COMMUNES_data.csv'],
    },
    {
      name: 'deces',
      url: 'https://www.insee.fr/fr/statistiques/fichier/1893253/DS_ETAT_CIVIL_DECES_COMMUNES_CSV_FR.zip',
      mirrorNames: ['DS_ETAT_CIVIL_DECES_COMMUNES_CSV_FR.zip', 'DS_ETAT_CIVIL_DECES_COMMUNES_data.csv'],
    },
  ],
};
