import { z } from 'zod';

/**
 * Query strings of the geo.api-style routes (api-territoire.md §3.1), validated with zod; the
 * same schemas feed /openapi.json. A bad value is a 400 {message}.
 */
const csv = <T extends string>(values: readonly [T, ...T[]], what: string) =>
  z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(values, { message: `${what} doit valoir ${values.join(', ')}` })).min(1, `${what} est vide`));

const limit = z.string().regex(/^\d+$/, 'limit doit être un entier ≥ 0').transform(Number);
const fields = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);
/**
 * `format`: an unknown value falls back to json, as geo.api does (datagouv/api-geo@4aa0828,
 * lib/helpers.js initFormat; test/helpers.js "should not accept geojson format" → json).
 */
const format = z.enum(['json', 'geojson']).default('json').catch('json');
const code = (re: RegExp, what: string) =>
  z
    .string()
    .trim()
    .transform((s) => s.toUpperCase())
    .pipe(z.string().regex(re, `${what} invalide`));

const COMMUNE_TYPES = ['commune-actuelle', 'arrondissement-municipal'] as const;
const ZONES = ['metro', 'drom', 'com'] as const;

const communeFilters = {
  codePostal: z
    .string()
    .regex(/^\d{5}$/, 'codePostal doit compter 5 chiffres')
    .optional(),
  code: code(/^([0-9]{5}|2[AB][0-9]{3})$/, 'code de commune').optional(),
  siren: z
    .string()
    .regex(/^\d{9}$/, 'siren doit compter 9 chiffres')
    .optional(),
  nom: z.string().trim().min(1).optional(),
  boost: z.enum(['population']).optional(),
  codeDepartement: code(/^([0-9]{2,3}|2[AB])$/, 'codeDepartement').optional(),
  codeRegion: z
    .string()
    .regex(/^\d{2,3}$/, 'codeRegion invalide')
    .optional(),
  codeEpci: z
    .string()
    .regex(/^\d{9}$/, 'codeEpci doit compter 9 chiffres')
    .optional(),
  type: csv(COMMUNE_TYPES, 'type').optional(),
  zone: csv(ZONES, 'zone').optional(),
  ancienCode: code(/^([0-9]{5}|2[AB][0-9]{3})$/, 'ancienCode').optional(),
  codeParent: code(/^([0-9]{5}|2[AB][0-9]{3})$/, 'codeParent').optional(),
  /** Point-in-contour search (geo.api `lat` + `lon`, WGS84); a value out of range or not a number is ignored, as there. */
  lat: z.string().optional(),
  lon: z.string().optional(),
};
/**
 * `geometry` of a commune. geo.api gives the town hall's position for `mairie`; we have no source
 * of town-hall positions, so `mairie` is accepted and answered null (never the centre presented as
 * the town hall): see docs/ARCHITECTURE.md, "API".
 */
const communeGeometry = z
  .enum(['centre', 'contour', 'bbox', 'mairie'])
  .describe(
    'Geometry of format=geojson Features: centre (default, centroid of the contour), contour, bbox, or mairie. ' +
      'mairie is always null here (no source of town-hall positions is loaded; use centre), unlike geo.api.gouv.fr.',
  );
/** Départements, régions and EPCI: no mairie (geo.api has none for EPCI either). */
const zoneGeometry = z
  .enum(['centre', 'contour', 'bbox'])
  .describe(
    'Geometry of format=geojson Features: centre (default), contour or bbox, from the union of the commune contours ' +
      '(or the official département outline), only when every commune of the zone has a contour; else null.',
  );
// An unknown geometry falls back to the default (centre), as geo.api does (api-geo@4aa0828 test/helpers.js
// "should set default geometry in req when geometry in query is unknown").
const output = <T extends z.ZodType>(geometry: T) => ({
  fields: fields.optional(),
  format,
  geometry: geometry.optional().catch(undefined),
  limit: limit.optional(),
});

export const CommunesQuery = z.object({ ...communeFilters, ...output(communeGeometry) });
/** /departements/{code}/communes and /epcis/{code}/communes: the commune filters minus the container. */
export const SubCommunesQuery = z.object({ ...communeFilters, ...output(communeGeometry) }).omit({ codeDepartement: true, codeEpci: true });
export const DepartementsQuery = z.object({
  code: code(/^([0-9]{2,3}|2[AB])$/, 'code de département').optional(),
  nom: z.string().trim().min(1).optional(),
  codeRegion: z
    .string()
    .regex(/^\d{2,3}$/, 'codeRegion invalide')
    .optional(),
  zone: csv(ZONES, 'zone').optional(),
  ...output(zoneGeometry),
});
export const RegionsQuery = z.object({
  code: z
    .string()
    .regex(/^\d{2,3}$/, 'code de région invalide')
    .optional(),
  nom: z.string().trim().min(1).optional(),
  zone: csv(ZONES, 'zone').optional(),
  ...output(zoneGeometry),
});
export const EpcisQuery = z.object({
  code: z
    .string()
    .regex(/^\d{9}$/, 'le code EPCI doit compter 9 chiffres')
    .optional(),
  nom: z.string().trim().min(1).optional(),
  codeDepartement: code(/^([0-9]{2,3}|2[AB])$/, 'codeDepartement').optional(),
  codeRegion: z
    .string()
    .regex(/^\d{2,3}$/, 'codeRegion invalide')
    .optional(),
  zone: csv(ZONES, 'zone').optional(),
  ...output(zoneGeometry),
});
/** /communes/{code}. */
export const OneCommuneQuery = z.object({ fields: fields.optional(), format, geometry: communeGeometry.optional().catch(undefined) });
/** /departements/{code}, /regions/{code}, /epcis/{code}. */
export const OneQuery = z.object({ fields: fields.optional(), format, geometry: zoneGeometry.optional().catch(undefined) });

export type CommunesQuery = z.infer<typeof CommunesQuery>;
