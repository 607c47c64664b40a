import type { PackSection } from '../../src/packs/section';
import { sliceVersionSql } from '../../src/packs/slices';
import { PRODUCER_SIRET } from '../../src/packs/producers';
import type { FileEdition } from '../../src/engine/snapshot';

const PAGE = `'https://www.geoportail-urbanisme.gouv.fr/document/by-id/'`;
const REGIME = `case regime when 'PLU' then 'Plan local d''urbanisme (PLU)' when 'PLUi' then 'Plan local d''urbanisme intercommunal (PLUi)'
                 when 'CC' then 'Carte communale' when 'RNU' then 'Règlement national d''urbanisme (RNU)'
                 else 'Non renseigné : aucun document en vigueur publié sur le Géoportail de l''urbanisme' end`;

export const pack: PackSection = {
  tables: [
    {
      name: 'urbanisme',
      title: 'Document d’urbanisme applicable',
      description:
        'Le document d’urbanisme qui s’applique à la commune (PLU, PLUi, carte communale ou, à défaut, le règlement national d’urbanisme), sa date d’approbation et son lien sur le Géoportail de l’urbanisme.',
      primaryKey: ['code_insee'],
      rowNoun: { one: 'document applicable', many: 'documents applicables' },
      fields: [
        {
          name: 'code_insee',
          type: 'string',
          title: 'Code INSEE',
          description: 'Code INSEE de la commune (ou de l’arrondissement)',
          required: true,
        },
        {
          name: 'regime',
          type: 'string',
          title: 'Régime',
          description: 'PLU, PLUi, CC (carte communale), RNU, ou inconnu',
          required: true,
        },
        { name: 'libelle_regime', type: 'string', title: 'Régime (en clair)', description: 'Le régime en toutes lettres', required: true },
        {
          name: 'document',
          type: 'string',
          title: 'Document',
          description: 'Nom du document sur le Géoportail (<porteur>_<type>_<date d’approbation>)',
        },
        {
          name: 'date_approbation',
          type: 'date',
          title: 'Date d’approbation',
          description: 'Date d’approbation du document, lue dans son nom',
        },
        { name: 'lien', type: 'string', title: 'Lien', description: 'Page du document sur le Géoportail de l’urbanisme' },
        {
          name: 'au_rnu_selon_le_geoportail',
          type: 'boolean',
          title: 'RNU selon le Géoportail',
          description: 'Ce que la couche des communes du Géoportail dit (is_rnu) ; vide si la commune n’y figure pas',
        },
        {
          name: 'documents_publies',
          type: 'integer',
          title: 'Documents publiés',
          description: 'Nombre de documents publiés pour la commune (voir urbanisme_documents.csv)',
          required: true,
        },
      ],
      query: `select code_commune, code_commune as code_insee, regime, ${REGIME} as libelle_regime, nom_document as document,
                     to_char(date_approbation, 'YYYY-MM-DD') as date_approbation, case when gpu_doc_id is not null then ${PAGE} || gpu_doc_id end as lien,
                     est_rnu as au_rnu_selon_le_geoportail, documents as documents_publies
                from urbanisme_commune where code_commune = any($1::text[]) order by code_commune`,
    },
    {
      name: 'urbanisme_documents',
      title: 'Documents d’urbanisme publiés',
      description:
        'Chaque document d’urbanisme publié sur le Géoportail de l’urbanisme qui concerne la commune (PLU, PLUi, carte communale, plan de sauvegarde et de mise en valeur…), avec sa date d’approbation et son lien.',
      primaryKey: ['identifiant_gpu'],
      rowNoun: { one: 'document d’urbanisme', many: 'documents d’urbanisme' },
      fields: [
        {
          name: 'identifiant_gpu',
          type: 'string',
          title: 'Identifiant',
          description: 'Identifiant du document sur le Géoportail (gpu_doc_id)',
          required: true,
        },
        { name: 'document', type: 'string', title: 'Document', description: 'Nom du document (<porteur>_<type>_<date d’approbation>)' },
        { name: 'type_document', type: 'string', title: 'Type', description: 'PLU, PLUi, CC, PSMV, POS…' },
        { name: 'date_approbation', type: 'date', title: 'Date d’approbation', description: 'Lue dans le nom du document' },
        { name: 'statut', type: 'string', title: 'Statut', description: 'Statut du document sur le Géoportail (gpu_status)' },
        {
          name: 'mise_en_ligne',
          type: 'string',
          title: 'Mise en ligne',
          description: 'Date de publication sur le Géoportail (gpu_timestamp), telle que donnée',
        },
        {
          name: 'porteur',
          type: 'string',
          title: 'Porteur',
          description: 'Code INSEE de la commune ou SIREN de l’intercommunalité qui porte le document',
          required: true,
        },
        { name: 'nom_porteur', type: 'string', title: 'Nom du porteur', description: 'Nom de la commune ou de l’intercommunalité' },
        {
          name: 'rattachement',
          type: 'string',
          title: 'Rattachement',
          description: 'Comment la commune a été reliée au document (code INSEE, membre de l’EPCI, ville de l’arrondissement)',
          required: true,
        },
        { name: 'lien', type: 'string', title: 'Lien', description: 'Page du document sur le Géoportail de l’urbanisme', required: true },
      ],
      query: `select code_commune, gpu_doc_id as identifiant_gpu, nom as document, du_type as type_document,
                     to_char(date_approbation, 'YYYY-MM-DD') as date_approbation, gpu_status as statut, gpu_timestamp as mise_en_ligne,
                     grid_name as porteur, grid_title as nom_porteur, rattachement, ${PAGE} || gpu_doc_id as lien
                from urbanisme_document where code_commune = any($1::text[]) order by code_commune, date_approbation desc nulls last, gpu_doc_id`,
    },
  ],
  layers: [
    {
      name: 'urbanisme_zonage',
      title: 'Zonage du document d’urbanisme (carte)',
      description:
        'Les zones du PLU ou du PLUi dans la commune (U urbaine, AU à urbaniser, A agricole, N naturelle), quand elles ont été chargées.',
      query: `select code_commune,
                     jsonb_build_object('libelle', libelle, 'libelle_long', libelong, 'type_zone', typezone, 'destination_dominante', destdomi,
                                        'reglement', urlfic, 'partition', partition) as properties,
                     st_asgeojson(geom, 6) as geometry
                from urbanisme_zonage where code_commune = any($1::text[]) order by code_commune, fichier, ligne`,
    },
  ],
  sliceVersion: sliceVersionSql('urbanisme'),
  theme: 'Urbanisme et logement',
  keywords: ['urbanisme', 'plu', 'plui', 'carte communale', 'geoportail'],
  // Documents are uploaded to the Géoportail every day; the WFS answers what is online now.
  frequency: 'Continuelle',
  // SIRET of the (first-named) producer's organisation on data.gouv.fr (src/packs/producers.ts).
  producerSiret: PRODUCER_SIRET.IGN,
  readme: ({ millesime, details }) => {
    const e = (details.editions ?? {}) as Record<string, FileEdition>;
    return `## Documents d'urbanisme (urbanisme.csv, urbanisme_documents.csv, urbanisme_zonage.geojson)

Le fichier urbanisme.csv dit quel document d'urbanisme s'applique à la commune : un plan local d'urbanisme (PLU), un plan local d'urbanisme intercommunal (PLUi), une carte communale, ou, à défaut, le règlement national d'urbanisme (RNU). Il donne sa date d'approbation et le lien vers sa page sur le Géoportail de l'urbanisme, où se trouvent le règlement et les plans. Le fichier urbanisme_documents.csv liste tous les documents publiés qui concernent la commune (y compris un plan de sauvegarde et de mise en valeur d'un secteur). Quand le zonage a été chargé, la couche urbanisme_zonage.geojson en donne les zones (U urbaines, AU à urbaniser, A agricoles, N naturelles).

Ces informations viennent du Géoportail de l'urbanisme (IGN et ministère chargé de l'urbanisme), extraction ${e.document ? `des documents du ${e.document.edition}` : `du ${millesime}`}${e.municipality ? `, des communes du ${e.municipality.edition}` : ''}. Le Géoportail ne connaît que les documents que les collectivités y ont publiés : un document approuvé mais pas encore publié n'y figure pas (le régime est alors « inconnu » ou « RNU »). Un PLUi est rattaché à toutes les communes membres de l'intercommunalité qui le porte aujourd'hui : si l'intercommunalité a changé depuis son approbation, vérifiez sur le Géoportail qu'il couvre bien la commune. À Paris, Lyon et Marseille, chaque arrondissement reprend les documents de la ville. Seul le document publié fait foi ; ce fichier n'en est qu'un repère.

- Producteur : IGN et ministère chargé de l'urbanisme (Géoportail de l'urbanisme)
- Citer : « Source : Géoportail de l'urbanisme, ${millesime} »
`;
  },
};
