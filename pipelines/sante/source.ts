import type { SourceDeclaration } from '../../config/sources';

const FINESS = 'finess-extraction-du-fichier-des-etablissements';
const RPPS = 'annuaire-sante-extractions-des-donnees-en-libre-acces-des-professionnels-intervenant-dans-le-systeme-de-sante-rpps';
const page = (slug: string) => `https://www.data.gouv.fr/fr/datasets/${slug}/`;

/**
 * Health: the FINESS geolocated establishments (ministère chargé de la santé, DREES) and the
 * health professionals of the Annuaire Santé (RPPS, Agence du numérique en santé), counted per
 * commune, profession and savoir-faire (specialty); names are never copied.
 *
 * FINESS `etalab-cs1100507-stock-YYYYMMDD-HHMM.csv`: line 1 `finess;etalab;<n>;<date of the
 * extract>`, then no header: `structureet` records (32 fields) and `geolocalisation` records
 * (6 fields: nofinesset, coordxet, coordyet, sourcecoordet, datemaj) joined on nofinesset;
 * `;`, Windows-1252, quotes only around fields holding one; commune = département (2 characters,
 * `9A`…`9J` overseas) + 3 digits; coordinates in each territory's projection, named in
 * sourcecoordet (`2,ATLASANTE,53,BAN,EPSG:2154 RGF93 / Lambert-93 (Métropole)`).
 * RPPS `ps-libreacces-personne-activite.txt`: `|`-separated with a trailing `|`, UTF-8, a header
 * of 56 names, one line per activity (place of practice) of a professional; the extract's date
 * is the timestamp folder of its URL (`…/20260610-120843/ps-libreacces-personne-activite.txt`),
 * or of the ANS archive's entry name (`PS_LibreAcces_Personne_activite_202606101208.txt`).
 */
export const source: SourceDeclaration = {
  id: 'sante',
  title: 'Santé : établissements (FINESS) et professionnels de santé (RPPS)',
  producer: 'Ministère chargé de la santé (FINESS) et Agence du numérique en santé (Annuaire Santé)',
  licence: {
    id: 'lov2',
    title: 'Licence Ouverte / Open Licence version 2.0',
    url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  },
  landingPage: page(FINESS),
  format: 'csv',
  schedule: '0 4 * * 3', // FINESS is extracted every few weeks, the RPPS daily: weekly is enough for a pack
  // One snapshot: a publication (FINESS and RPPS together) is compared with the published one.
  coverage: { kind: 'national', table: 'sante_lignes' },
  resources: [
    {
      name: 'finess',
      datagouv: { dataset: FINESS, url: 'etalab-cs1100507-stock-\\d{8}-\\d{4}\\.csv$' },
      edition: { from: 'name', pattern: 'cs1100507-stock-(\\d{4})(\\d{2})(\\d{2})', template: '$1-$2-$3' },
      page: page(FINESS),
      evidence:
        'file names …/20260312-094547/etalab-cs1100507-stock-20260311-0343.csv and …/20260512-091152/etalab-cs1100507-stock-20260512-0339.csv, ' +
        'line 1 finess;etalab;109;2026-03-11, 32 + 6 positional fields and sourcecoordet "2,ATLASANTE,53,BAN,EPSG:2154 RGF93 / Lambert-93 (Métropole)" ' +
        'in code-id 70222188966, 53368403387; field names in GuillaumePressiat/finess_etalab@8f00082 data_results/formats/format_etalabcs1100507.csv',
      mirrorNames: ['etalab-cs1100507-stock-*.csv'],
      optional: true,
    },
    {
      name: 'rpps',
      datagouv: { dataset: RPPS, url: 'ps-libreacces-personne-activite\\.txt$' },
      // `/20260610-120843/` of the static URL, or `_202606101208.txt` of the ANS archive's entry.
      edition: { from: 'url', pattern: '[/_](\\d{4})(\\d{2})(\\d{2})(?:-\\d{6}/|\\d{4}\\.txt$)', template: '$1-$2-$3' },
      page: page(RPPS),
      evidence:
        'static URLs …/20260610-120843/ps-libreacces-personne-activite.txt in code-id 61472827729, 61784650363; header read by name ' +
        '(Identifiant PP, Code profession, Code savoir-faire, Code commune (coord. structure)…) in code-id 55970001304, 68768299370, 1268787313',
      mirrorNames: ['ps-libreacces-personne-activite.txt', 'PS_LibreAcces_Personne_activite_*.txt'],
      optional: true,
    },
  ],
};
