import type { PackField, PackSection } from '../../src/packs/section';
import { sliceVersionSql } from '../../src/packs/slices';
import { PRODUCER_SIRET } from '../../src/packs/producers';

const PERSON: PackField[] = [
  { name: 'nom', type: 'string', title: 'Nom', description: "Nom de l'élu", required: true },
  { name: 'prenom', type: 'string', title: 'Prénom', description: "Prénom de l'élu", required: true },
  { name: 'sexe', type: 'string', title: 'Sexe', description: 'M ou F, tel que publié' },
  { name: 'date_naissance', type: 'date', title: 'Date de naissance', description: 'Date de naissance publiée par le répertoire' },
  {
    name: 'code_csp',
    type: 'string',
    title: 'Code de la catégorie socio-professionnelle',
    description: "Code de la profession déclarée par l'élu (nomenclature de l'INSEE)",
  },
  {
    name: 'categorie_socio_professionnelle',
    type: 'string',
    title: 'Catégorie socio-professionnelle',
    description: 'Libellé de la profession déclarée',
  },
  { name: 'date_debut_mandat', type: 'date', title: 'Début du mandat', description: 'Date de début du mandat de conseiller municipal' },
];

const SELECT_PERSON = `nom, prenom, sexe, to_char(date_naissance, 'YYYY-MM-DD') as date_naissance, code_csp, libelle_csp as categorie_socio_professionnelle,
       to_char(date_debut_mandat, 'YYYY-MM-DD') as date_debut_mandat`;

interface Extract {
  edition: string;
  from: string;
  fichier: string;
}

function extractLine(e: Extract | undefined, what: string): string {
  if (!e) return `- ${what} : pas encore chargé`;
  const content = /^content/.test(e.from);
  return `- ${what} (${e.fichier}) : ${content ? `à jour au moins au ${e.edition} (date de l'extrait inconnue : dernière prise de fonction du fichier)` : `extrait du ${e.edition}`}`;
}

export const pack: PackSection = {
  tables: [
    {
      name: 'elus_maire',
      title: 'Maire (Répertoire national des élus)',
      description: 'Le maire de la commune tel que le publie le Répertoire national des élus du ministère de l’Intérieur.',
      primaryKey: ['nom', 'prenom', 'date_naissance'],
      rowNoun: { one: 'maire', many: 'maires' },
      fields: [
        ...PERSON,
        {
          name: 'date_debut_fonction',
          type: 'date',
          title: 'Début de la fonction de maire',
          description: 'Date à laquelle il ou elle est devenu(e) maire',
        },
      ],
      query: `select code_commune, ${SELECT_PERSON}, to_char(date_debut_fonction, 'YYYY-MM-DD') as date_debut_fonction
                from elu_municipal where mandat = 'maire' and code_commune = any($1::text[])
               order by code_commune, nom, prenom, date_naissance`,
    },
    {
      name: 'elus_conseillers_municipaux',
      title: 'Conseillers municipaux (Répertoire national des élus)',
      description:
        'Les membres du conseil municipal tels que les publie le Répertoire national des élus ; un élu qui a plusieurs fonctions (adjoint et maire délégué) figure une fois par fonction.',
      primaryKey: ['nom', 'prenom', 'date_naissance', 'fonction'],
      rowNoun: { one: 'conseiller municipal', many: 'conseillers municipaux' },
      fields: [
        ...PERSON,
        {
          name: 'fonction',
          type: 'string',
          title: 'Fonction',
          description: 'Fonction au conseil (maire, adjoint au maire…), vide pour un conseiller',
        },
        { name: 'date_debut_fonction', type: 'date', title: 'Début de la fonction', description: 'Date de début de cette fonction' },
        {
          name: 'code_nationalite',
          type: 'string',
          title: 'Nationalité',
          description: 'Code de nationalité publié (les ressortissants de l’Union européenne peuvent être conseillers municipaux)',
        },
      ],
      query: `select code_commune, ${SELECT_PERSON}, fonction, to_char(date_debut_fonction, 'YYYY-MM-DD') as date_debut_fonction, code_nationalite
                from elu_municipal where mandat = 'conseiller' and code_commune = any($1::text[])
               order by code_commune, nom, prenom, date_naissance, fonction nulls first`,
    },
  ],
  sliceVersion: sliceVersionSql('elus'),
  theme: 'Élus et vie démocratique',
  keywords: ['elus', 'maire', 'conseil municipal', 'repertoire national des elus'],
  // The préfectures keep the répertoire up to date and the ministère republishes extracts when it chooses.
  frequency: 'Irrégulière',
  producerSiret: PRODUCER_SIRET.INTERIEUR,
  emptyReason: () =>
    "aucun élu de la commune n'est inscrit au répertoire à la date de l'extrait (après des élections, le répertoire se remplit en quelques semaines)",
  readme: ({ details }) => {
    const extraits = (details.extraits ?? {}) as Record<string, Extract>;
    return `## Élus de la commune (elus_maire.csv, elus_conseillers_municipaux.csv)

Le maire et les conseillers municipaux de la commune, tels que les publie le Répertoire national des élus (RNE) du ministère de l'Intérieur. Le répertoire est tenu par les préfectures à partir des déclarations des candidats ; la profession est celle que l'élu a déclarée. Un élu qui a plusieurs fonctions figure une fois par fonction. Quand le répertoire n'a aucun élu de la commune pour une fonction, le fichier correspondant n'est pas dans le dossier : l'élu n'est pas (encore) inscrit au répertoire à la date de l'extrait ; après des élections, le répertoire se remplit en quelques semaines.

Date de l'extrait :
${extractLine(extraits.maires, 'maires')}
${extractLine(extraits.conseillers, 'conseillers municipaux')}

**Données personnelles.** Ces fichiers nomment des personnes (nom, prénom, sexe, date de naissance, profession) : ce sont des données à caractère personnel. Elles sont publiées au titre de la transparence de la vie publique, pour que chacun sache qui exerce les mandats électoraux : le Répertoire national des élus est un traitement prévu par le décret n° 2014-1479 du 9 décembre 2014, dont la finalité est le suivi des titulaires d'un mandat électoral, et le ministère de l'Intérieur en publie cet extrait. **Un réutilisateur ne doit pas les utiliser au-delà de cette finalité** : informer sur les mandats et les élus, oui ; démarcher, profiler ou croiser ces personnes avec d'autres fichiers, non. Leur réutilisation reste soumise au règlement général sur la protection des données et à la loi Informatique et libertés (article L. 322-2 du code des relations entre le public et l'administration). Une demande de rectification s'adresse au ministère de l'Intérieur, comme l'indique la page du jeu de données.

- Producteur : ministère de l'Intérieur (Répertoire national des élus)
- Citer : « Source : ministère de l'Intérieur, Répertoire national des élus, extrait du ${extraits.maires?.edition ?? extraits.conseillers?.edition ?? ''} »
`;
  },
};
