/**
 * The commune key, written once. A code INSEE is a 5-character string, never a number:
 * 01001, 2A004, 97411. Every source that splits it (Ministère de l'Intérieur, DGFiP, INSEE
 * populations) rebuilds it here.
 */
export const COMMUNE_CODE = /^(\d{5}|2[AB]\d{3})$/;

export class CommuneCodeError extends Error {}

/** Ministry of the Interior overseas département codes (ZA = Guadeloupe …) → INSEE. */
const MINISTRY_DOM: Record<string, string> = {
  ZA: '971',
  ZB: '972',
  ZC: '973',
  ZD: '974',
  ZM: '976',
  ZS: '975',
  ZX: '977',
  ZW: '986',
  ZP: '987',
  ZN: '988',
};

/**
 * Normalises a département code as written by any producer: `1` → `01`, `069` → `69`
 * (DGFiP pads to 3), `2a` → `2A`, `974` stays `974`, Ministry `ZD` → `974`.
 */
export function normalizeDepartement(raw: string): string {
  let d = raw.trim().toUpperCase();
  if (MINISTRY_DOM[d]) return MINISTRY_DOM[d];
  if (/^0?2[AB]$/.test(d)) return d.slice(-2);
  if (!/^\d{1,3}$/.test(d)) throw new CommuneCodeError(`invalid département code '${raw}'`);
  if (d.length === 3 && d.startsWith('0')) d = d.slice(1); // DGFiP "069"
  if (d.length === 3 && !/^9[78]/.test(d)) throw new CommuneCodeError(`invalid département code '${raw}'`);
  return d.padStart(2, '0');
}

/**
 * Builds a code INSEE from a département and a commune part, left-padding both.
 * Overseas (97x, 98x): the commune part carries the département's third digit
 * (974 + 411 → 97411; 976 + 601 → 97601); a two-digit part is completed (974 + 11 → 97411).
 */
export function communeCode(dep: string, com: string): string {
  const d = normalizeDepartement(dep);
  const c = com.trim().toUpperCase();
  if (!/^\d{1,3}$/.test(c)) throw new CommuneCodeError(`invalid commune part '${com}' (département ${dep})`);
  let code: string;
  if (d.length === 3) {
    const part = c.padStart(2, '0');
    if (part.length === 3 && part[0] !== d[2]) throw new CommuneCodeError(`commune part '${com}' does not belong to département ${d}`);
    code = d.slice(0, 2) + (part.length === 3 ? part : d[2] + part);
  } else {
    code = d + c.padStart(3, '0');
  }
  return validateCommuneCode(code);
}

/** Validates (and upper-cases, and left-pads a 4-digit numeric code) a full code INSEE. */
export function normalizeCommuneCode(raw: string): string {
  let s = raw.trim().toUpperCase();
  if (/^\d{4}$/.test(s)) s = '0' + s; // spreadsheets drop the leading zero
  return validateCommuneCode(s);
}

function validateCommuneCode(code: string): string {
  if (!COMMUNE_CODE.test(code)) throw new CommuneCodeError(`invalid commune code '${code}'`);
  return code;
}

export function isCommuneCode(code: string): boolean {
  return COMMUNE_CODE.test(code);
}

/** Département of a commune: 3 characters overseas (97x, 98x), else 2 (2A, 2B kept). */
export function departementOf(code: string): string {
  return /^9[78]/.test(code) ? code.slice(0, 3) : code.slice(0, 2);
}

/** Paris, Lyon, Marseille: the commune of an arrondissement municipal, or undefined. */
export function plmCommune(code: string): string | undefined {
  const n = /^\d{5}$/.test(code) ? Number(code) : NaN;
  if (n >= 75101 && n <= 75120) return '75056';
  if (n >= 69381 && n <= 69389) return '69123';
  if (n >= 13201 && n <= 13216) return '13055';
  return undefined;
}
