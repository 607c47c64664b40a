import type { SourceDeclaration } from '../../config/sources';
import { parseEdition, type Edition } from '../../src/engine/edition';

/**
 * Ministère de l'Intérieur results per commune, one resource per scrutin and tour. Each scrutin
 * is published in the geography (COG) of 1 January of its year; the licence is the Licence
 * Ouverte 2.0 except présidentielle 2022 T2, declared "non spécifiée" on data.gouv.fr.
 * URL paths marked (verify) were rebuilt from the resource file name and timestamp.
 */
const LO = {
  id: 'lov2',
  title: 'Licence Ouverte / Open Licence version 2.0',
  url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
};
const STATIC = 'https://static.data.gouv.fr/resources';

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
      url: `${STATIC}/election-presidentielle-des-10-avril-et-24-avril-2022-resultats-du-1er-tour/20220411-110616/resultats-par-niveau-subcom-t1-france-entiere.txt`,
      mirrorNames: ['resultats-par-niveau-subcom-t1-france-entiere.txt'],
      optional: true,
    },
    // (verify) dataset slug of the T2 resource
    {
      name: 'presidentielle-2022-t2',
      url: `${STATIC}/election-presidentielle-des-10-avril-et-24-avril-2022-resultats-definitifs-du-2nd-tour/20220425-100403/resultats-par-niveau-subcom-t2-france-entiere.txt`,
      mirrorNames: ['resultats-par-niveau-subcom-t2-france-entiere.txt', '2022-pres-t2-commune-rhone-69.csv'],
      optional: true,
    },
    {
      name: 'europeennes-2024',
      url: `${STATIC}/resultats-des-elections-europeennes-du-9-juin-2024/20240613-154634/resultats-definitifs-par-commune.csv`,
      mirrorNames: ['resultats-definitifs-par-commune.csv'],
      optional: true,
    },
    // (verify) dataset slugs of législatives 2024 T1 and municipales 2026 T1
    {
      name: 'legislatives-2024-t1',
      url: `${STATIC}/elections-legislatives-des-30-juin-et-7-juillet-2024-resultats-definitifs-du-1er-tour/20240711-075056/resultats-definitifs-par-communes.csv`,
      mirrorNames: ['resultats-definitifs-par-communes.csv'],
      optional: true,
    },
    {
      name: 'municipales-2026-t1',
      url: `${STATIC}/elections-municipales-2026-resultats-du-1er-tour/20260320-164339/municipales-2026-resultats-communes-2026-03-20.csv`,
      mirrorNames: ['municipales-2026-resultats-communes-2026-03-20.csv'],
      optional: true,
    },
  ],
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
}

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
  'municipales-2026-t1': {
    election: 'municipales-2026',
    tour: 1,
    cog: 2026,
    // The second round's results file is of 23 March 2026 (vote of the 22nd): first round on the 15th.
    date: '2026-03-15',
    titre: 'Élections municipales 2026, 1er tour',
    licence: 'Licence Ouverte / Open Licence version 2.0',
  },
};

/** The edition of a scrutin: its label (`presidentielle-2022-t2`) with the day of the vote. */
export function scrutinEdition(s: Scrutin): Edition {
  const e = parseEdition(`${s.election}-t${s.tour}`);
  return e.kind === 'election' ? { ...e, date: s.date } : e;
}
