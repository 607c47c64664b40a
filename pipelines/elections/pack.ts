import type { PackSection } from '../../src/packs/section';
import { PRODUCER_SIRET } from '../../src/packs/producers';
import { source } from './source';

const LO = source.licence;

export const pack: PackSection = {
  tables: [
    {
      name: 'elections_resultats',
      title: 'Résultats des élections : participation',
      description: "Participation de la commune à chaque scrutin publié par le ministère de l'Intérieur (un tour par ligne).",
      primaryKey: ['election', 'tour'],
      fields: [
        { name: 'election', type: 'string', title: 'Élection', description: 'Scrutin, par exemple presidentielle-2022', required: true },
        { name: 'tour', type: 'integer', title: 'Tour', description: 'Numéro du tour (1 ou 2)', required: true },
        { name: 'inscrits', type: 'integer', title: 'Inscrits', description: 'Électeurs inscrits sur les listes électorales' },
        { name: 'votants', type: 'integer', title: 'Votants', description: 'Électeurs ayant voté' },
        { name: 'abstentions', type: 'integer', title: 'Abstentions', description: "Inscrits n'ayant pas voté" },
        { name: 'blancs', type: 'integer', title: 'Votes blancs', description: 'Bulletins blancs' },
        { name: 'nuls', type: 'integer', title: 'Votes nuls', description: 'Bulletins nuls' },
        { name: 'exprimes', type: 'integer', title: 'Suffrages exprimés', description: 'Votants moins blancs et nuls' },
        {
          name: 'participation_pct',
          type: 'number',
          title: 'Participation (%)',
          description: 'Votants / inscrits × 100, recalculé à partir des nombres',
        },
        { name: 'abstention_pct', type: 'number', title: 'Abstention (%)', description: 'Abstentions / inscrits × 100, recalculé' },
        {
          name: 'codes_sources',
          type: 'string',
          title: 'Codes additionnés',
          description: 'Codes des communes du fichier additionnés (communes fusionnées depuis le scrutin)',
          required: true,
        },
      ],
      query: `select code_commune, election, tour, inscrits, votants, abstentions, blancs, nuls, exprimes,
                   pct_votants_inscrits as participation_pct, pct_abstentions_inscrits as abstention_pct,
                   array_to_string(codes_sources, ' ') as codes_sources
              from election_resultat where code_commune = any($1::text[]) order by code_commune, election, tour`,
    },
    {
      name: 'elections_voix',
      title: 'Résultats des élections : voix par candidat ou par liste',
      description: 'Voix obtenues dans la commune par chaque candidat ou liste, à chaque tour.',
      primaryKey: ['election', 'tour', 'commune_scrutin', 'panneau'],
      fields: [
        { name: 'election', type: 'string', title: 'Élection', description: 'Scrutin, par exemple presidentielle-2022', required: true },
        { name: 'tour', type: 'integer', title: 'Tour', description: 'Numéro du tour', required: true },
        {
          name: 'commune_scrutin',
          type: 'string',
          title: 'Commune du scrutin',
          description:
            "Code INSEE de la commune telle qu'elle a voté : aux municipales, une commune fusionnée depuis garde les listes de chaque ancienne commune ; pour les autres scrutins, les voix des anciennes communes sont additionnées sous le code actuel",
          required: true,
        },
        { name: 'panneau', type: 'integer', title: 'Numéro de panneau', description: "Numéro d'affichage du candidat ou de la liste" },
        { name: 'nom', type: 'string', title: 'Nom', description: 'Nom du candidat (vide pour une liste)' },
        { name: 'prenom', type: 'string', title: 'Prénom', description: 'Prénom du candidat' },
        { name: 'liste', type: 'string', title: 'Liste', description: 'Libellé de la liste (vide pour un candidat)' },
        { name: 'nuance', type: 'string', title: 'Nuance', description: "Nuance politique attribuée par le ministère de l'Intérieur" },
        { name: 'voix', type: 'integer', title: 'Voix', description: 'Nombre de voix' },
        { name: 'voix_inscrits_pct', type: 'number', title: 'Voix / inscrits (%)', description: 'Recalculé à partir des nombres' },
        { name: 'voix_exprimes_pct', type: 'number', title: 'Voix / exprimés (%)', description: 'Recalculé à partir des nombres' },
      ],
      query: `select code_commune, election, tour, commune_scrutin, panneau, nom, prenom, libelle as liste, nuance, voix,
                   pct_voix_inscrits as voix_inscrits_pct, pct_voix_exprimes as voix_exprimes_pct
              from election_voix where code_commune = any($1::text[]) order by code_commune, election, tour, commune_scrutin, panneau, nom, libelle`,
    },
  ],
  frequency: 'Irrégulière',
  producerSiret: PRODUCER_SIRET.INTERIEUR,
  // One licence for the dataset: the Licence Ouverte when every loaded scrutin is under it, else "not
  // specified" naming the scrutins the producer left without a licence on data.gouv.fr.
  licence: (editions) => {
    const other = editions.filter((e) => typeof e.details.licence === 'string' && !/licence ouverte/i.test(e.details.licence));
    if (!other.length) return { ...LO, url: LO.url.replace(/\/+$/, '') };
    const titres = other.map((e) => (typeof e.details.titre === 'string' ? e.details.titre : e.millesime)).join(', ');
    return {
      id: 'notspecified',
      title: `Non spécifiée par le producteur sur data.gouv.fr (${titres}) : données publiques du ministère de l'Intérieur, réutilisables en citant la source et la date de mise à jour, sans en altérer le sens (code des relations entre le public et l'administration, articles L321-1 et L322-1)`,
      url: source.landingPage,
    };
  },
  emptyReason: () => 'aucun des scrutins chargés sur ce serveur ne contient de résultat pour votre commune',
  readme: ({ millesime, details }) => `## Résultats des élections (elections_resultats.csv, elections_voix.csv)

Ces fichiers donnent, pour chaque scrutin, la participation de la commune (inscrits, votants, abstentions, blancs, nuls, suffrages exprimés) et les voix de chaque candidat ou liste. Ils sont produits par le ministère de l'Intérieur, qui publie les résultats sur data.gouv.fr. Dernier scrutin chargé : ${typeof details.titre === 'string' ? details.titre : millesime} (millésime ${millesime}).

Quand votre commune est issue d'une fusion intervenue après le scrutin, les résultats des anciennes communes sont additionnés et les pourcentages sont recalculés à partir des totaux : la colonne « codes_sources » liste les codes additionnés. Aux élections municipales, chaque ancienne commune avait ses propres listes : elles restent séparées (colonne « commune_scrutin »), avec leurs pourcentages. Paris, Lyon et Marseille ont une seule ligne pour toute la commune.

- Producteur : ministère de l'Intérieur
- Citer : « Source : ministère de l'Intérieur, résultats des élections (data.gouv.fr) »
`,
};
