import { COMMUNE_CODE } from '../communes/codes';
import type { CommuneRec, Referential } from '../communes/referential';
import { normalizeName } from '../communes/referential';
import { nameScore } from '../server/geo/render';

/**
 * What a five-character code typed by a person may mean: the INSEE code of a current commune
 * (or arrondissement municipal), the old code of a commune that has since changed (75012 was
 * Boulogne-Billancourt's before 1968), a postcode (75012 is Paris 12e's). Pages show every
 * meaning instead of silently picking one; the API keeps its 301 on old codes.
 */
export interface CodeMeanings {
  code: string;
  commune: CommuneRec | null;
  ancien: { nom: string | null; fin: string | null; successeurs: CommuneRec[] } | null;
  postal: CommuneRec[];
}

const byCode = (a: CommuneRec, b: CommuneRec) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);

const postalIndex: WeakMap<Referential, Map<string, CommuneRec[]>> = new WeakMap();
function communesOfPostcode(ref: Referential, cp: string): CommuneRec[] {
  let ix = postalIndex.get(ref);
  if (!ix) {
    ix = new Map();
    for (const c of ref.current.values()) for (const p of c.codesPostaux) (ix.get(p) ?? ix.set(p, []).get(p)!).push(c);
    for (const a of ref.arrondissementsMunicipaux)
      for (const p of a.codesPostaux) if (!ix.get(p)?.includes(a)) (ix.get(p) ?? ix.set(p, []).get(p)!).push(a);
    postalIndex.set(ref, ix);
  }
  const found = [...(ix.get(cp) ?? [])];
  // Paris, Lyon, Marseille: the arrondissement that has the postcode, not the whole city.
  const parents = new Set(found.filter((c) => c.type === 'arrondissement-municipal').map((c) => c.parent));
  return found.filter((c) => !parents.has(c.code)).sort(byCode);
}

export function codeMeanings(ref: Referential, raw: string): CodeMeanings | null {
  const code = raw.trim().toUpperCase();
  if (!COMMUNE_CODE.test(code)) return null;
  const commune = ref.current.get(code) ?? ref.arrondissementsMunicipaux.find((a) => a.code === code) ?? null;
  let ancien: CodeMeanings['ancien'] = null;
  if (!commune) {
    const succ = (ref.successors.get(code) ?? [])
      .map((s) => ref.current.get(s.codeActuel))
      .filter((c): c is CommuneRec => Boolean(c))
      .sort(byCode);
    if (succ.length) {
      const sub = ref.subordinate.get(code);
      ancien = { nom: ref.oldNames.get(code) ?? sub?.nom ?? null, fin: ref.endDates.get(code) ?? null, successeurs: succ };
    }
  }
  const postal = /^\d{5}$/.test(code) ? communesOfPostcode(ref, code).filter((c) => c.code !== commune?.code) : [];
  return { code, commune, ancien, postal };
}

/** "avant 1968" (a change on 1 January), else "jusqu'au 15 mars 1977". */
export function untilLabel(fin: string | null): string {
  if (!fin) return 'autrefois';
  const [y, m, d] = fin.split('-').map(Number);
  if (m === 1 && d === 1) return `avant ${y}`;
  const date = new Date(Date.UTC(y, m - 1, d)).toLocaleDateString('fr-FR', {
    timeZone: 'UTC',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
  });
  return `jusqu’au ${date.replace(/^1 /, '1er ')}`;
}

export interface SearchHit {
  rec: CommuneRec;
  /** Why it matched, in French, when not by name ("code postal 35000"). */
  raison?: string;
}

/**
 * The results page's search: a five-character code in all its meanings, else names ranked as
 * geo.api ranks them with boost=population (name score × (1 + population / 100 000)), current
 * communes and arrondissements municipaux.
 */
export function searchCommunes(
  ref: Referential,
  q: string,
  limit = 20,
): { hits: SearchHit[]; meanings: CodeMeanings | null; total: number } {
  const meanings = codeMeanings(ref, q);
  if (meanings) {
    const hits: SearchHit[] = [];
    if (meanings.commune) hits.push({ rec: meanings.commune, raison: `code INSEE ${meanings.code}` });
    for (const c of meanings.postal) hits.push({ rec: c, raison: `code postal ${meanings.code}` });
    for (const c of meanings.ancien?.successeurs ?? [])
      if (!hits.some((h) => h.rec === c)) hits.push({ rec: c, raison: `ancien code ${meanings.code}` });
    return { hits, meanings, total: hits.length };
  }
  const nq = normalizeName(q);
  if (!nq) return { hits: [], meanings: null, total: 0 };
  const scored: { rec: CommuneRec; score: number }[] = [];
  for (const list of [ref.actuelles, ref.arrondissementsMunicipaux])
    for (const c of list) {
      const s = nameScore(c.norm, nq);
      if (s > 0) scored.push({ rec: c, score: s * (1 + (c.population ?? 0) / 100000) });
    }
  scored.sort((a, b) => b.score - a.score || byCode(a.rec, b.rec));
  return { hits: scored.slice(0, limit).map((s) => ({ rec: s.rec })), meanings: null, total: scored.length };
}
