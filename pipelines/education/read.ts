import { columnFinder } from '../../src/engine/columns';
import { INVALID, parseDecimal } from '../../src/engine/csv';
import { FormatError } from '../../src/engine/errors';

/**
 * Readers of the education files' cells, shared by the annuaire and the IPS: column names as
 * the exports spell them (by field name or by label), ISO dates, `.` decimals, `NS` for an
 * index the ministry does not publish.
 */

/** Establishment types of the annuaire kept in the pack: schools, not services (`Type_etablissement`, folded). */
export const SCHOOL_TYPES: Record<string, string> = { ecole: 'Ecole', college: 'Collège', lycee: 'Lycée', erea: 'EREA' };

/** A cell that refuses its value: the mapper turns it into a quarantine reason naming the column. */
export class CellError extends Error {
  constructor(
    readonly column: string,
    message: string,
  ) {
    super(message);
  }
}

/** ISO date (`2026-05-27`) or empty; anything else is refused. */
export function isoDate(column: string, raw: string): string | null {
  const s = raw.trim();
  if (!s) return null;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s) || Number.isNaN(Date.parse(s))) throw new CellError(column, `not a date YYYY-MM-DD: '${raw}'`);
  return s;
}

/** A decimal (`95.1`, `53,0`), empty → null; `NS` (not published) → null when `secret` allows it. */
export function decimal(column: string, raw: string, secret = false): number | null {
  const s = raw.trim();
  if (secret && /^(ns|nd|s)$/i.test(s)) return null;
  const v = parseDecimal(s);
  if (v === INVALID) throw new CellError(column, `not a number: '${raw}'`);
  return v;
}

/** A head count written as a decimal (`574.0`): a whole number or empty. */
export function count(column: string, raw: string): number | null {
  const v = decimal(column, raw);
  if (v !== null && !Number.isInteger(v)) throw new CellError(column, `not a whole number: '${raw}'`);
  return v;
}

/** Index of each named column of an IPS file, by every spelling seen (field names, labels). */
export function ipsColumns(label: string, header: string[]) {
  const find = columnFinder(header);
  const cols = {
    rentree: find('rentree_scolaire', 'Rentrée scolaire', 'annee_scolaire', 'Année scolaire'),
    uai: find('uai', 'UAI', 'code_uai'),
    commune: find('code_insee_de_la_commune', 'Code INSEE de la commune', 'code_commune_insee', 'Code commune Insee', 'code_insee_commune'),
    nom: find('nom_de_l_etablissment', 'nom_de_l_etablissement', "Nom de l'établissement", 'nom_etablissement', 'etablissement'),
    secteur: find('secteur', 'Secteur'),
    typeLycee: find('type_de_lycee', 'Type de lycée'),
    effectifs: find('effectifs', 'Effectifs', 'effectifs_ensemble_gt_pro', 'Effectifs ensemble GT-PRO'),
    ips: find('ips', 'IPS', 'ips_etab', 'ips_ensemble_gt_pro', 'IPS ensemble GT-PRO'),
    ecartType: find('ecart_type_de_l_ips', "Ecart-type de l'IPS", 'ecart_type_ips', 'ecart_type_de_l_ips_etab'),
    ipsGt: find('ips_voie_gt', 'IPS voie GT'),
    ipsPro: find('ips_voie_pro', 'IPS voie PRO'),
  };
  const missing = (['rentree', 'uai', 'commune', 'ips'] as const).filter((k) => cols[k] < 0);
  if (missing.length)
    throw new FormatError(
      label,
      `no column for ${missing.join(', ')} (looked for rentree_scolaire, uai, code_insee_de_la_commune, ips / ips_ensemble_gt_pro; header: ${header.join(';')})`,
      1,
    );
  return cols;
}
