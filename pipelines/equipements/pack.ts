import type { PackSection } from '../../src/packs/section';
import { PRODUCER_SIRET } from '../../src/packs/producers';

const LAST = `latest_edition('equipements')`;

export const pack: PackSection = {
  tables: [
    {
      name: 'equipements',
      title: 'Équipements et services',
      description:
        "Nombre d'équipements et de services de la commune par type (commerces, santé, enseignement, services), d'après la Base permanente des équipements de l'INSEE.",
      primaryKey: ['millesime', 'type_equipement'],
      fields: [
        { name: 'millesime', type: 'year', title: 'Millésime', description: 'Année de la Base permanente des équipements', required: true },
        {
          name: 'type_equipement',
          type: 'string',
          title: "Type d'équipement",
          description: "Code du type d'équipement de l'INSEE (D265 = médecin généraliste, D307 = pharmacie…)",
          required: true,
        },
        {
          name: 'libelle',
          type: 'string',
          title: 'Libellé',
          description: "Intitulé du type d'équipement dans la nomenclature de ce millésime (vide pour un code hors de la liste fournie)",
        },
        {
          name: 'domaine',
          type: 'string',
          title: 'Domaine',
          description: 'Grand domaine : santé, enseignement, commerces, services aux particuliers',
        },
        {
          name: 'nombre',
          type: 'integer',
          title: 'Nombre',
          description: "Nombre d'équipements de ce type recensés dans la commune (des lieux, pas des équivalents temps plein)",
          required: true,
        },
        {
          name: 'codes_sources',
          type: 'string',
          title: 'Codes INSEE additionnés',
          description: 'Codes des communes du fichier additionnés (communes fusionnées depuis, arrondissements)',
          required: true,
        },
      ],
      query: `select c.code_commune, c.millesime, c.typequ as type_equipement, t.libelle, t.domaine, c.nombre,
                   array_to_string(c.codes_sources, ' ') as codes_sources
              from equipement_compte c
              left join equipement_type t on t.typequ = c.typequ and c.millesime::int between t.annee_debut and coalesce(t.annee_fin, 9999)
             where c.code_commune = any($1::text[]) and c.millesime = ${LAST}
             order by c.code_commune, c.typequ`,
    },
  ],
  layers: [
    {
      name: 'equipements',
      title: 'Équipements géolocalisés',
      description: 'Position de chaque équipement de la commune (points), avec son type et la qualité de sa géolocalisation.',
      query: `select e.code_commune,
                   jsonb_build_object('type_equipement', e.typequ, 'libelle', t.libelle, 'iris', e.dciris,
                                      'qualite_geolocalisation', e.qualite_xy, 'millesime', e.millesime) as properties,
                   st_asgeojson(e.geom, 6) as geometry
              from equipement e
              left join equipement_type t on t.typequ = e.typequ and e.millesime::int between t.annee_debut and coalesce(t.annee_fin, 9999)
             where e.code_commune = any($1::text[]) and e.geom is not null and e.millesime = ${LAST}
             order by e.code_commune, e.typequ, e.fichier, e.ligne`,
    },
  ],
  frequency: 'Annuelle',
  producerSiret: PRODUCER_SIRET.INSEE,
  readme: ({ millesime }) => `## Équipements et services (equipements.csv, equipements.geojson)

Le fichier equipements.csv donne le nombre d'équipements et de services présents dans la commune, par type : commerces, professionnels et établissements de santé (médecins généralistes, pharmacies, infirmiers, dentistes…), écoles, collèges et lycées, bureaux de poste, banques, etc. Il provient de la Base permanente des équipements (BPE) publiée par l'INSEE (Institut national de la statistique et des études économiques), millésime ${millesime}. La couche equipements.geojson place chaque équipement sur la carte quand l'INSEE l'a géolocalisé.

La BPE dénombre des équipements (lieux ou professionnels recensés), pas des équivalents temps plein : pour mesurer l'accès aux soins, d'autres indicateurs existent, comme l'accessibilité potentielle localisée publiée par la DREES. Depuis 2021, la nomenclature et la source ont changé (SIRUS au lieu de SIRENE) : comparez les millésimes avec prudence.

- Producteur : INSEE
- Citer : « Source : INSEE, Base permanente des équipements ${millesime} »
`,
};
