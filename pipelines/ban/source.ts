import type { SourceDeclaration } from '../../config/sources';

const pad = (n: number) => String(n).padStart(2, '0');

/** Départements of the BAN per-département files: metropole, DROM, and the COM published since 2022. */
const BAN_DEPARTEMENTS: string[] = [
  ...Array.from({ length: 19 }, (_, i) => pad(i + 1)),
  '2A',
  '2B',
  ...Array.from({ length: 95 - 20 }, (_, i) => pad(i + 21)),
  '971',
  '972',
  '973',
  '974',
  '975',
  '976',
  '977',
  '978',
  '984',
  '986',
  '987',
  '988',
  '989',
];

const BASE = 'https://adresse.data.gouv.fr/data/ban/adresses/latest/csv';
const PAGE = 'https://adresse.data.gouv.fr/donnees-nationales';
/** The day adresse.data.gouv.fr published the file (its Last-Modified): the file itself carries no date. */
const EDITION = { from: 'last_modified' } as const;
const EVIDENCE =
  'latest/csv/adresses-{dep}.csv.gz and adresses-france.csv.gz in code-id 55284679073, 17669639017, 61449849936, 66621966517';

/**
 * Base Adresse Nationale (DINUM / IGN), Licence Ouverte 2.0 (the ODbL flavour is the legacy
 * one). One gzip CSV per département (`adresses-35.csv.gz`) or the national file
 * (`adresses-france.csv.gz`, about 26 million addresses): a département file reloads that
 * département alone; the national file reloads every département it contains.
 */
export const source: SourceDeclaration = {
  id: 'ban',
  title: 'Base Adresse Nationale',
  producer: 'DINUM / IGN (Base Adresse Nationale)',
  licence: {
    id: 'lov2',
    title: 'Licence Ouverte / Open Licence version 2.0',
    url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  },
  landingPage: 'https://adresse.data.gouv.fr/donnees-nationales',
  format: 'csv',
  schedule: '0 3 * * 1', // the BAN is republished continuously: weekly
  resources: [
    {
      name: 'france',
      url: `${BASE}/adresses-france.csv.gz`,
      edition: EDITION,
      page: PAGE,
      evidence: EVIDENCE,
      mirrorNames: ['adresses-france.csv.gz', 'adresses-france.csv'],
      optional: true,
    },
    ...BAN_DEPARTEMENTS.map((d) => ({
      name: `dep-${d}`,
      url: `${BASE}/adresses-${d}.csv.gz`,
      edition: EDITION,
      page: PAGE,
      evidence: EVIDENCE,
      mirrorNames: [`adresses-${d}.csv.gz`, `adresses-${d}.csv`],
      optional: true,
    })),
  ],
  // A département file replaces only its département; the national file, all of them.
  /** What one publication covers: the publication guard refuses one that loses more than 5 % of it (src/engine/guard.ts). */
  coverage: { kind: 'departement', table: 'adresses', departement: 'departement' },
};

/** The 23 columns of the current BAN CSV, in order. */
export const BAN_COLUMNS = [
  'id',
  'id_fantoir',
  'numero',
  'rep',
  'nom_voie',
  'code_postal',
  'code_insee',
  'nom_commune',
  'code_insee_ancienne_commune',
  'nom_ancienne_commune',
  'x',
  'y',
  'lon',
  'lat',
  'type_position',
  'alias',
  'nom_ld',
  'libelle_acheminement',
  'nom_afnor',
  'source_position',
  'source_nom_voie',
  'certification_commune',
  'cad_parcelles',
] as const;

/** Columns a file must have (older files lack cad_parcelles, for instance: those stay empty). */
export const BAN_REQUIRED = ['id', 'numero', 'nom_voie', 'code_insee', 'lon', 'lat'] as const;
