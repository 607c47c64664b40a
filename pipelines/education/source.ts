import type { SourceDeclaration } from '../../config/sources';

/**
 * Ministère de l'Éducation nationale: the annuaire de l'éducation (one row per establishment,
 * UAI, type, public/private, address, WGS84 point, updated daily) and the DEPP's indices de
 * position sociale (IPS) of écoles, collèges and lycées, one row per establishment and rentrée.
 * Both are Opendatasoft datasets of data.education.gouv.fr, mirrored on data.gouv.fr.
 *
 * Genuine layouts (test/fixtures/education/real, PROVENANCE.md): annuaire UTF-8 with BOM, CRLF,
 * `;`, 71 columns in 2026 and 69 in 2023 (`Code_postal` / `Code postal`, `coordX_origine` /
 * `coordonnee_X`…); IPS UTF-8, CRLF, `;`, field-name headers, `.` decimals, Paris, Lyon and
 * Marseille by arrondissement. Editions: the annuaire states none, each row has `date_maj_ligne`
 * (the latest is the extract's date); the IPS state their rentrée in `rentree_scolaire`.
 */
const LO = {
  id: 'lov2',
  title: 'Licence Ouverte / Open Licence version 2.0',
  url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
};
const ODS = 'https://data.education.gouv.fr/api/explore/v2.1/catalog/datasets';
const page = (slug: string) => `https://www.data.gouv.fr/fr/datasets/${slug}/`;
const IPS_EVIDENCE =
  'dataset slugs and resource titles (fr-en-ips-lycees-ap2022.csv) in code-id 57711220785, 55616178177, 55605640316, 51843619009; ' +
  'ODS export URL in code-id 55605640316; genuine 2022-2023 files of dlakisic/IPS_dashboard@4745642 (test/fixtures/education/real)';

const ips = (niveau: 'ecoles' | 'colleges' | 'lycees', slug: string, ods: string) => ({
  name: `ips-${niveau}`,
  datagouv: { dataset: slug, title: `^fr-en-ips-${niveau}-ap20\\d\\d\\.csv$` },
  url: `${ODS}/${ods}/exports/csv?delimiter=%3B`,
  page: page(slug),
  evidence: IPS_EVIDENCE,
  mirrorNames: [`${ods}.csv`, `fr-en-ips-${niveau}-ap2022.csv`, `fr-en-ips-${niveau}-ap2023.csv`].filter((n, i, a) => a.indexOf(n) === i),
  optional: true,
});

export const source: SourceDeclaration = {
  id: 'education',
  title: 'Écoles, collèges et lycées (annuaire de l’éducation, indice de position sociale)',
  producer: 'Ministère de l’Éducation nationale (DEPP pour les IPS)',
  licence: LO,
  landingPage: page('annuaire-de-leducation'),
  format: 'csv',
  schedule: '0 5 * * 2', // the annuaire changes daily; weekly is enough for a pack
  // One snapshot: a publication (annuaire and IPS together) is compared with the published one.
  coverage: { kind: 'national', table: 'education_lignes' },
  resources: [
    {
      name: 'annuaire',
      datagouv: { dataset: 'annuaire-de-leducation', title: '^fr-en-annuaire-education\\.csv$' },
      url: `${ODS}/fr-en-annuaire-education/exports/csv?delimiter=%3B`,
      page: page('annuaire-de-leducation'),
      evidence:
        'slug annuaire-de-leducation and resource title fr-en-annuaire-education.csv in code-id 57711220785, 55616178177; ' +
        'genuine exports of Isabelle0368/Ecoles@48655cf (2026) and msimonin/coll-ges35@fb2249d (2023)',
      mirrorNames: ['fr-en-annuaire-education.csv'],
      optional: true,
    },
    ips('ecoles', 'indices-de-position-sociale-dans-les-ecoles-a-partir-de-2022', 'fr-en-ips-ecoles-ap2022'),
    ips('colleges', 'indices-de-position-sociale-dans-les-colleges-a-partir-de-2022', 'fr-en-ips-colleges-ap2023'),
    ips('lycees', 'indices-de-position-sociale-dans-les-lycees-a-partir-de-2022', 'fr-en-ips-lycees-ap2023'),
  ],
};
