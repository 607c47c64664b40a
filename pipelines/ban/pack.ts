import type { PackField, PackSection } from '../../src/packs/section';
import { PRODUCER_SIRET } from '../../src/packs/producers';
import { BAN_COLUMNS } from './source';

const TITLES: Record<string, [string, string]> = {
  id: ['Identifiant', "Clé d'interopérabilité de l'adresse (code INSEE, voie, numéro)"],
  id_fantoir: ['Identifiant FANTOIR', 'Code de la voie dans le fichier FANTOIR de la DGFiP'],
  numero: ['Numéro', 'Numéro dans la voie'],
  rep: ['Indice de répétition', 'bis, ter, a, b…'],
  nom_voie: ['Nom de la voie', 'Nom de la voie ou du lieu-dit'],
  code_postal: ['Code postal', 'Code postal'],
  code_insee: ['Code INSEE', "Code INSEE de la commune (de l'arrondissement pour Paris, Lyon et Marseille)"],
  nom_commune: ['Nom de la commune', "Nom de la commune (de l'arrondissement pour Paris, Lyon et Marseille)"],
  code_insee_ancienne_commune: ['Code de la commune déléguée', "Code INSEE de l'ancienne commune ou commune déléguée"],
  nom_ancienne_commune: ['Nom de la commune déléguée', "Nom de l'ancienne commune ou commune déléguée"],
  x: ['X', 'Coordonnée X dans la projection légale du territoire (Lambert-93 en métropole)'],
  y: ['Y', 'Coordonnée Y dans la projection légale du territoire'],
  lon: ['Longitude', 'Longitude en degrés (WGS84)'],
  lat: ['Latitude', 'Latitude en degrés (WGS84)'],
  type_position: ['Type de position', 'entrée, bâtiment, parcelle, segment…'],
  alias: ['Alias', 'Autre nom de la voie'],
  nom_ld: ['Nom du lieu-dit', 'Lieu-dit complémentaire'],
  libelle_acheminement: ["Libellé d'acheminement", 'Nom de la commune pour la distribution du courrier'],
  nom_afnor: ['Nom AFNOR', 'Nom de la voie normalisé (majuscules, 32 caractères)'],
  source_position: ['Source de la position', 'commune, cadastre, arcep, laposte, insee, sdis, inconnue'],
  source_nom_voie: ['Source du nom de voie', 'commune, cadastre, arcep, laposte, insee, sdis, inconnue'],
  certification_commune: ['Certifiée par la commune', "1 quand la commune a certifié l'adresse, 0 sinon"],
  cad_parcelles: ['Parcelles cadastrales', 'Parcelles cadastrales liées à l’adresse'],
};

const fields: PackField[] = BAN_COLUMNS.map((c) => ({
  name: c,
  type: c === 'lon' || c === 'lat' ? 'number' : 'string',
  title: TITLES[c][0],
  description: TITLES[c][1],
  required: c === 'code_insee' || c === 'lon' || c === 'lat',
}));

/**
 * The addresses of one commune (`$code`): of the commune, or of one arrondissement municipal of
 * Paris, Lyon or Marseille (its rows carry the commune in code_commune and the arrondissement in
 * code_insee). Both functions are immutable, so the département partition is chosen at plan time.
 */
const OF_COMMUNE = `departement = $departement and code_commune = $commune_plm
   and (code_commune = $code or code_insee = $code)`;

/** `,"key":value` of a Feature's property, nothing when the value is null (as json_strip_nulls would leave it). */
const prop = (key: string, column: string) => `coalesce(',"${key}":' || to_json(${column})::text, '')`;

export const pack: PackSection = {
  tables: [
    {
      name: 'adresses',
      title: 'Adresses de la commune (Base Adresse Nationale)',
      description:
        'Toutes les adresses de la commune dans la Base Adresse Nationale, colonnes du fichier national : de quoi démarrer ou vérifier la Base Adresse Locale.',
      fields,
      // The BAN's interoperability key: it stays when a street is renamed (issue 15).
      primaryKey: ['id'],
      rowNoun: { one: 'adresse', many: 'adresses', feminine: true },
      query: `select ${BAN_COLUMNS.join(', ')} from adresses where ${OF_COMMUNE} order by line`,
      perCommune: true,
    },
  ],
  layers: [
    {
      name: 'adresses',
      title: 'Adresses (points)',
      description: "Position de chaque adresse, avec son IRIS et son quartier prioritaire quand elle est dans l'un d'eux.",
      // One Feature a line, every line but the first led by a comma: the FeatureCollection is these lines between brackets.
      // Properties written by concatenation, null ones left out: the bytes json_strip_nulls(json_build_object(…))
      // gave (checked equal on département 35's 426,202 generated addresses) for 40 % less of PostgreSQL's time.
      query: `select case when row_number() over (order by line) > 1 then ',' else '' end
                   || '{"type":"Feature","properties":{'
                   || substr(${[
                     prop('id', 'id'),
                     prop('numero', 'numero'),
                     prop('rep', 'rep'),
                     prop('nom_voie', 'nom_voie'),
                     prop('code_postal', 'code_postal'),
                     prop('code_insee', 'code_insee'),
                     prop('commune_deleguee', 'code_insee_ancienne_commune'),
                     prop('code_iris', 'code_iris'),
                     prop('code_qp', 'code_qp'),
                   ].join(' || ')}, 2)
                   || '},"geometry":{"type":"Point","coordinates":[' || lon::text || ',' || lat::text || ']}}' as feature
              from adresses where ${OF_COMMUNE} order by line`,
      perCommune: true,
    },
  ],
  // A département reloaded alone (or enriched again) re-reads only its communes' addresses.
  sliceVersion: `select c as code, d.run_id::text || '@' || d.published_at::text || '@' || coalesce(d.enriched_at::text, '') as version
                   from unnest($1::text[]) c left join adresses_departements d on d.departement = geo_departement(c)`,
  frequency: 'Hebdomadaire ou plusieurs fois par semaine',
  producerSiret: PRODUCER_SIRET.DINUM,
  readme: ({ millesime }) => `## Adresses (adresses.csv, adresses.geojson)

Le fichier adresses.csv reprend toutes les adresses de la commune publiées dans la Base Adresse Nationale (BAN) au ${millesime}, avec les colonnes du fichier national. Il peut servir à démarrer ou à vérifier la Base Adresse Locale de la commune (outil « Mes Adresses » sur adresse.data.gouv.fr). Pour Paris, Lyon et Marseille, le dossier de la commune contient les adresses de tous ses arrondissements, celui d'un arrondissement les siennes. Les colonnes x et y sont dans la projection légale du territoire (Lambert-93 en métropole, une projection locale outre-mer) : pour une carte, utilisez lon et lat. Le fichier adresses.geojson place chaque adresse sur la carte, avec son IRIS et, le cas échéant, son quartier prioritaire.

- Producteur : Base Adresse Nationale (DINUM, IGN), à partir des Bases Adresses Locales des communes
- Citer : « Source : Base Adresse Nationale, ${millesime} »
`,
};
