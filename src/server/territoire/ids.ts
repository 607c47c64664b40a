/**
 * Zone identifiers of every era of the API Territoire (docs api-territoire.md §1.2, §5.2):
 * `fr:commune:35238`, `fr:commune:35238@1942-01-01`, `…@latest`, the 2016 slash form
 * `fr/town/35238`, the widget's dashed form `fr-town-35238`, `country:fr`, and `2a`/`2A`.
 */
export type ZoneLevel = 'country' | 'fr:region' | 'fr:departement' | 'fr:epci' | 'fr:arrondissement' | 'fr:commune';

export interface ParsedZoneId {
  level: ZoneLevel;
  code: string;
  /** ISO date, 'latest', or undefined (undated id). */
  at?: string;
}

const LEVEL_ALIASES: Record<string, ZoneLevel> = {
  town: 'fr:commune',
  commune: 'fr:commune',
  com: 'fr:commune',
  county: 'fr:departement',
  departement: 'fr:departement',
  department: 'fr:departement',
  dep: 'fr:departement',
  region: 'fr:region',
  reg: 'fr:region',
  district: 'fr:arrondissement',
  arrondissement: 'fr:arrondissement',
  epci: 'fr:epci',
};

export function levelAlias(s: string): ZoneLevel | undefined {
  const l = s.toLowerCase();
  if (l === 'country') return 'country';
  return LEVEL_ALIASES[l.startsWith('fr:') ? l.slice(3) : l];
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function parseZoneId(raw: string): ParsedZoneId | undefined {
  let s = raw.trim().replace(/\/+$/, '');
  try {
    s = decodeURIComponent(s);
  } catch {
    return undefined;
  }
  let at: string | undefined;
  const atIdx = s.indexOf('@');
  if (atIdx >= 0) {
    at = s.slice(atIdx + 1).toLowerCase();
    s = s.slice(0, atIdx);
    if (at !== 'latest' && !DATE.test(at)) return undefined;
    if (at !== 'latest' && Number.isNaN(Date.parse(at))) return undefined;
  }
  const lower = s.toLowerCase();
  if (lower === 'country:fr' || lower === 'fr') return { level: 'country', code: 'fr', at };
  const parts = s.split(/[:/]/);
  if (parts.length === 3 && parts[0].toLowerCase() === 'fr') {
    const level = levelAlias(parts[1]);
    if (!level || level === 'country') return undefined;
    const code = parts[2].toUpperCase();
    if (!/^[0-9A-Z]{1,9}$/.test(code)) return undefined;
    return { level, code, at };
  }
  return undefined;
}

/**
 * `fr:commune:35238`; the undated id that every response carries in `id` (a dated request gets the
 * dated form, see zones.ts). Lower case like data.gouv.fr's: udata parses every GeoID lower-cased
 * (opendatateam/udata@25b5a2ddd, udata/core/spatial/geoids.py `parse`), so Corsica is `fr:commune:2b033`.
 */
export function zoneId(level: ZoneLevel, code: string): string {
  return level === 'country' ? 'country:fr' : `${level}:${code.toLowerCase()}`;
}

/** The key of the INSEE URI table (codes as the COG writes them: 2B033). */
export const inseeUriKey = (level: ZoneLevel, code: string) => `${level}:${code}`;

export const ADMIN_LEVEL: Record<ZoneLevel, number> = {
  country: 20,
  'fr:region': 40,
  'fr:departement': 60,
  'fr:epci': 68,
  'fr:arrondissement': 70,
  'fr:commune': 80,
};
