import type { SourceDeclaration } from '../../config/sources';
import { parseEdition, type Edition } from '../../src/engine/edition';

/**
 * Ministère de l'Intérieur results per commune, one resource per scrutin and tour, each the
 * *définitifs* results dataset on data.gouv.fr. The harvester asks the data.gouv.fr API for the
 * dataset and takes the resource whose URL ends with the declared file name: a file re-issued
 * under a new timestamped path is found without a code change; the `url` (the path seen in
 * public code) is the fallback when the API cannot be reached. Each scrutin is published in the
 * geography (COG) of 1 January of its year; the licence is the Licence Ouverte 2.0 except
 * présidentielle 2022 T2, declared "non spécifiée" on data.gouv.fr.
 *
 * Evidence (public code index, 2024–2026 scripts that download these files): présidentielle 2022,
 * européennes and législatives 2024 T1/T2 in code-id 70097707702 and 60111867954; municipales 2020
 * and 2026 in code-id 71118357643 (« NB : la faute « scond » figure dans l'URL officielle »),
 * 54670351046, 52628824939; législatives 2024 T2 slug also in code-id of CharlesRngrd/data-metabase.
 */
const LO = {
  id: 'lov2',
  title: 'Licence Ouverte / Open Licence version 2.0',
  url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
};
const STATIC = 'https://static.data.gouv.fr/resources';
const page = (slug: string) => `https://www.data.gouv.fr/fr/datasets/${slug}/`;
const ESC = (name: string) => `${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;

const PRES_T1 = 'election-presidentielle-des-10-et-24-avril-2022-resultats-definitifs-du-1er-tour';
const PRES_T2 = 'election-presidentielle-des-10-et-24-avril-2022-resultats-definitifs-du-2nd-tour';
const EURO = 'resultats-des-elections-europeennes-du-9-juin-2024';
const LEGI_T1 = 'elections-legislatives-des-30-juin-et-7-juillet-2024-resultats-definitifs-du-1er-tour';
const LEGI_T2 = 'elections-legislatives-des-30-juin-et-7-juillet-2024-resultats-definitifs-du-2nd-tour';
const MUNI20_T1 = 'elections-municipales-2020-resultats-1er-tour';
const MUNI20_T2 = 'municipales-2020-resultats-2nd-tour';
const MUNI26_T1 = 'elections-municipales-2026-resultats-du-premier-tour';
// The files of the second round sit under the slug `…-du-scond-tour` (sic); the page may have been
// renamed `…-du-second-tour`: udata answers an old slug with a redirect to the new one, so the
// spelling of the files is the one that works in both cases.
const MUNI26_T2 = 'elections-municipales-2026-resultats-du-scond-tour';

/**
 * Municipales 2020 come as two files per round (communes under and over 1,000 inhabitants), read
 * together (one scrutin). The file of the communes under 1,000 inhabitants (candidates, not lists)
 * was never seen, nor its header described: it is declared, not read.
 */
const MUNI2020_SMALL_PENDING =
  'municipales 2020, communes under 1,000 inhabitants: the layout of this file (individual candidates) was seen in no public source, so no reader is written for it';

export const source: SourceDeclaration = {
  id: 'elections',
  title: 'Résultats des élections par commune',
  producer: "Ministère de l'Intérieur",
  licence: LO,
  landingPage: 'https://www.data.gouv.fr/fr/organizations/ministere-de-linterieur/',
  format: 'csv',
  schedule: '0 6 * * 1', // weekly: a resource can be re-issued under a new timestamped path
  resources: [
    {
      name: 'presidentielle-2022-t1',
      datagouv: { dataset: PRES_T1, url: ESC('resultats-par-niveau-subcom-t1-france-entiere.txt') },
      url: `${STATIC}/${PRES_T1}/20220414-152459/resultats-par-niveau-subcom-t1-france-entiere.txt`,
      edition: { value: 'presidentielle-2022-t1' },
      page: page(PRES_T1),
      evidence: 'slug and file path in code-id 70097707702, 60111867954, 71118357643 (définitifs)',
      mirrorNames: ['resultats-par-niveau-subcom-t1-france-entiere.txt'],
      optional: true,
    },
    {
      name: 'presidentielle-2022-t2',
      datagouv: { dataset: PRES_T2, url: ESC('resultats-par-niveau-subcom-t2-france-entiere.txt') },
      url: `${STATIC}/${PRES_T2}/20220428-142333/resultats-par-niveau-subcom-t2-france-entiere.txt`,
      edition: { value: 'presidentielle-2022-t2' },
      page: page(PRES_T2),
      evidence: 'slug and file path in code-id 70097707702, 60111867954, 71118357643 (définitifs)',
      mirrorNames: ['resultats-par-niveau-subcom-t2-france-entiere.txt', '2022-pres-t2-commune-rhone-69.csv'],
      optional: true,
    },
    {
      name: 'europeennes-2024',
      datagouv: { dataset: EURO, url: ESC('resultats-definitifs-par-commune.csv') },
      url: `${STATIC}/${EURO}/20240613-154634/resultats-definitifs-par-commune.csv`,
      edition: { value: 'europeennes-2024-t1' },
      page: page(EURO),
      evidence: 'slug and file path in code-id 70097707702, 66639135875',
      mirrorNames: ['resultats-definitifs-par-commune.csv'],
      optional: true,
    },
    {
      name: 'legislatives-2024-t1',
      datagouv: { dataset: LEGI_T1, url: ESC('resultats-definitifs-par-communes.csv') },
      url: `${STATIC}/${LEGI_T1}/20240711-075056/resultats-definitifs-par-communes.csv`,
      edition: { value: 'legislatives-2024-t1' },
      page: page(LEGI_T1),
      evidence: 'slug and file path in code-id 70097707702, 68685431633',
      mirrorNames: ['resultats-definitifs-par-communes.csv'],
      optional: true,
    },
    {
      // Upstream, the same file name as the européennes: a mirror copy carries its scrutin in its name.
      name: 'legislatives-2024-t2',
      datagouv: { dataset: LEGI_T2, url: ESC('resultats-definitifs-par-commune.csv') },
      url: `${STATIC}/${LEGI_T2}/20240710-170606/resultats-definitifs-par-commune.csv`,
      edition: { value: 'legislatives-2024-t2' },
      page: page(LEGI_T2),
      evidence: 'slug and file path in code-id 70097707702; slug in CharlesRngrd/data-metabase src/data.py',
      mirrorNames: ['legislatives-2024-t2-resultats-definitifs-par-commune.csv'],
      optional: true,
    },
    {
      name: 'municipales-2020-t1-1000-et-plus',
      datagouv: { dataset: MUNI20_T1, url: ESC('2020-05-18-resultats-communes-de-1000-et-plus.txt') },
      url: `${STATIC}/elections-municipales-2020-resultats/20200525-133704/2020-05-18-resultats-communes-de-1000-et-plus.txt`,
      edition: { value: 'municipales-2020-t1' },
      page: page(MUNI20_T1),
      evidence:
        'page slug in code-id 56838728628 and a data.gouv.fr discussion (code-id 67172124430); files under the older slug elections-municipales-2020-resultats in code-id 71118357643, 52466723966',
      mirrorNames: ['2020-05-18-resultats-communes-de-1000-et-plus.txt'],
      optional: true,
    },
    {
      name: 'municipales-2020-t1-moins-1000',
      datagouv: { dataset: MUNI20_T1, url: ESC('2020-05-18-resultats-communes-de-moins-de-1000.txt') },
      url: `${STATIC}/elections-municipales-2020-resultats/20200525-133805/2020-05-18-resultats-communes-de-moins-de-1000.txt`,
      edition: { value: 'municipales-2020-t1' },
      page: page(MUNI20_T1),
      evidence: 'file path in code-id 71118357643',
      mirrorNames: ['2020-05-18-resultats-communes-de-moins-de-1000.txt'],
      optional: true,
      pending: MUNI2020_SMALL_PENDING,
    },
    {
      name: 'municipales-2020-t2-1000-et-plus',
      datagouv: { dataset: MUNI20_T2, url: ESC('2020-06-29-resultats-t2-communes-de-1000-hab-et-plus.txt') },
      url: `${STATIC}/${MUNI20_T2}/20200629-192435/2020-06-29-resultats-t2-communes-de-1000-hab-et-plus.txt`,
      edition: { value: 'municipales-2020-t2' },
      page: page(MUNI20_T2),
      evidence: 'slug and file path in code-id 71118357643, 52628824939, 68684842598',
      mirrorNames: ['2020-06-29-resultats-t2-communes-de-1000-hab-et-plus.txt'],
      optional: true,
    },
    {
      name: 'municipales-2020-t2-moins-1000',
      datagouv: { dataset: MUNI20_T2, url: ESC('2020-06-29-resultats-t2-communes-de-moins-de-1000-hab.txt') },
      url: `${STATIC}/${MUNI20_T2}/20200629-192436/2020-06-29-resultats-t2-communes-de-moins-de-1000-hab.txt`,
      edition: { value: 'municipales-2020-t2' },
      page: page(MUNI20_T2),
      evidence: 'file path in code-id 71118357643, 54670351046',
      mirrorNames: ['2020-06-29-resultats-t2-communes-de-moins-de-1000-hab.txt'],
      optional: true,
      pending: MUNI2020_SMALL_PENDING,
    },
    {
      name: 'municipales-2026-t1',
      datagouv: { dataset: MUNI26_T1, url: 'municipales-2026-resultats-communes-[0-9a-z-]+\\.csv$' },
      url: `${STATIC}/${MUNI26_T1}/20260320-164339/municipales-2026-resultats-communes-2026-03-20.csv`,
      edition: { value: 'municipales-2026-t1' },
      page: page(MUNI26_T1),
      evidence: 'slug and file path in code-id 71118357643 (a 2026 download script)',
      mirrorNames: ['municipales-2026-resultats-communes-2026-03-20.csv'],
      optional: true,
    },
    {
      name: 'municipales-2026-t2',
      datagouv: { dataset: MUNI26_T2, url: 'municipales-2026-resultats-communes-[0-9a-z-]+\\.csv$' },
      url: `${STATIC}/${MUNI26_T2}/20260323-180124/municipales-2026-resultats-communes-2026-03-23-16h14.csv`,
      edition: { value: 'municipales-2026-t2' },
      page: page('elections-municipales-2026-resultats-du-second-tour'),
      evidence:
        'file path under the slug …-du-scond-tour in code-id 71118357643; page slug …-du-second-tour per a third-party survey of data.gouv.fr links, written in docs/ARCHITECTURE.md (not verified)',
      mirrorNames: ['municipales-2026-resultats-communes-2026-03-23-16h14.csv'],
      optional: true,
    },
  ],
  // Each scrutin is its own edition: compared only when the same scrutin is loaded again.
  /** What one publication covers: the publication guard refuses one that loses more than 5 % of it (src/engine/guard.ts). */
  coverage: { kind: 'national', table: 'election_resultat', edition: `election || '-t' || tour`, reference: 'same' },
};

export interface Scrutin {
  election: string;
  tour: number;
  /** COG year of the vote's geography (1 January of the vote's year). */
  cog: number;
  /** Day of the vote (orders two elections of the same year: the edition's key). */
  date: string;
  titre: string;
  licence: string;
  /**
   * Each commune elects its own lists (municipales): a commune merged since the vote keeps one
   * set of lists per former commune, never summed by panel number.
   */
  local?: boolean;
}

/** Municipales 2020: the two files of a round (over and under 1,000 inhabitants) are one scrutin. */
const MUNI2020_LICENCE = "non spécifiée sur data.gouv.fr (données publiques du ministère de l'Intérieur)";
const MUNICIPALES_2020_T1: Scrutin = {
  election: 'municipales-2020',
  tour: 1,
  cog: 2020,
  date: '2020-03-15',
  titre: 'Élections municipales 2020, 1er tour',
  licence: MUNI2020_LICENCE,
  local: true,
};
const MUNICIPALES_2020_T2: Scrutin = { ...MUNICIPALES_2020_T1, tour: 2, date: '2020-06-28', titre: 'Élections municipales 2020, 2nd tour' };

export const SCRUTINS: Record<string, Scrutin> = {
  'presidentielle-2022-t1': {
    election: 'presidentielle-2022',
    tour: 1,
    cog: 2022,
    date: '2022-04-10',
    titre: 'Élection présidentielle 2022, 1er tour',
    licence: 'Licence Ouverte / Open Licence version 2.0',
  },
  'presidentielle-2022-t2': {
    election: 'presidentielle-2022',
    tour: 2,
    cog: 2022,
    date: '2022-04-24',
    titre: 'Élection présidentielle 2022, 2nd tour',
    licence: "non spécifiée sur data.gouv.fr (données publiques du ministère de l'Intérieur)",
  },
  'europeennes-2024': {
    election: 'europeennes-2024',
    tour: 1,
    cog: 2024,
    date: '2024-06-09',
    titre: 'Élections européennes 2024',
    licence: 'Licence Ouverte / Open Licence version 2.0',
  },
  'legislatives-2024-t1': {
    election: 'legislatives-2024',
    tour: 1,
    cog: 2024,
    date: '2024-06-30',
    titre: 'Élections législatives 2024, 1er tour',
    licence: 'Licence Ouverte / Open Licence version 2.0',
  },
  'legislatives-2024-t2': {
    election: 'legislatives-2024',
    tour: 2,
    cog: 2024,
    date: '2024-07-07',
    titre: 'Élections législatives 2024, 2nd tour',
    licence: 'Licence Ouverte / Open Licence version 2.0',
  },
  'municipales-2020-t1-1000-et-plus': MUNICIPALES_2020_T1,
  'municipales-2020-t1-moins-1000': MUNICIPALES_2020_T1,
  'municipales-2020-t2-1000-et-plus': MUNICIPALES_2020_T2,
  'municipales-2020-t2-moins-1000': MUNICIPALES_2020_T2,
  'municipales-2026-t1': {
    election: 'municipales-2026',
    tour: 1,
    cog: 2026,
    // The second round's results file is of 23 March 2026 (vote of the 22nd): first round on the 15th.
    date: '2026-03-15',
    titre: 'Élections municipales 2026, 1er tour',
    local: true,
    licence: 'Licence Ouverte / Open Licence version 2.0',
  },
  'municipales-2026-t2': {
    election: 'municipales-2026',
    tour: 2,
    cog: 2026,
    date: '2026-03-22',
    titre: 'Élections municipales 2026, 2nd tour',
    local: true,
    licence: 'Licence Ouverte / Open Licence version 2.0',
  },
};

/** The edition of a scrutin: its label (`presidentielle-2022-t2`) with the day of the vote. */
export function scrutinEdition(s: Scrutin): Edition {
  const e = parseEdition(`${s.election}-t${s.tour}`);
  return e.kind === 'election' ? { ...e, date: s.date } : e;
}
