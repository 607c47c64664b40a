import type { Pool } from 'pg';

/**
 * Facts about each commune of a batch that the pack states in commune.json and LISEZMOI.md: its
 * population with the millésime it comes from (the same row as population.csv, never the
 * referential package's figure of unknown vintage), and its history from the INSEE COG movements
 * table (a commune nouvelle created on a date from named communes, a change of name).
 */
interface PopulationFact {
  /** Population municipale (PMUN), the figure INSEE publishes for a commune and the one that may be added up. */
  municipale: number;
  /** Millésime of the populations légales (the census reference year, e.g. 2021). */
  millesime: string;
  /** Census the figure comes from when it differs from the millésime (Mayotte). */
  anneeRecensement: string | null;
  /** Codes of the INSEE file added up into this commune (several: merged since, or Paris/Lyon/Marseille). */
  codesSources: string[];
}

export interface HistoryEvent {
  /** Effective date (YYYY-MM-DD). */
  date: string;
  /** COG movement code (MOD): 20 création, 21 rétablissement, 31 fusion simple, 32 commune nouvelle, 33 fusion-association, 34 fusion-association → fusion simple, 10 changement de nom. */
  mod: number;
  /** Communes before the movement (code and name then), the commune itself included when it took part. */
  avant: { code: string; nom: string }[];
  /** Name before a change of name (MOD 10). */
  ancienNom?: string;
}

export interface CommuneFacts {
  population: PopulationFact | null;
  history: HistoryEvent[];
}

const CREATIONS = [20, 21, 31, 32, 33, 34];

/** One query per fact for the whole batch (`codes`: communes actuelles and arrondissements municipaux). */
export async function communeFacts(db: Pool, codes: string[]): Promise<Map<string, CommuneFacts>> {
  const out = new Map<string, CommuneFacts>(codes.map((c) => [c, { population: null, history: [] }]));
  // Latest millésime chronologically: populations légales millésimes are years.
  const pop = await db
    .query(
      `select distinct on (code_commune) code_commune, millesime, pmun, annee_recensement, codes_sources
         from population_legale where code_commune = any($1::text[]) and pmun is not null
        order by code_commune, millesime desc`,
      [codes],
    )
    .catch(() => ({ rows: [] as Record<string, unknown>[] }));
  for (const r of pop.rows) {
    const f = out.get(r.code_commune as string);
    if (f)
      f.population = {
        municipale: Number(r.pmun),
        millesime: String(r.millesime),
        anneeRecensement: r.annee_recensement && r.annee_recensement !== r.millesime ? String(r.annee_recensement) : null,
        codesSources: (r.codes_sources as string[]) ?? [],
      };
  }
  const mv = await db
    .query(
      `select com_ap, mod, date_eff::text as date_eff,
              json_agg(distinct jsonb_build_object('code', com_av, 'nom', libelle_av)) filter (where typecom_av = 'COM') as avant,
              min(libelle_av) filter (where mod = 10) as ancien_nom
         from cog_mouvements
        where com_ap = any($1::text[]) and typecom_ap = 'COM' and (mod = any($2::int[]) or (mod = 10 and com_av = com_ap))
        group by com_ap, mod, date_eff
        order by com_ap, date_eff desc, mod`,
      [codes, CREATIONS],
    )
    .catch(() => ({ rows: [] as Record<string, unknown>[] }));
  for (const r of mv.rows) {
    const f = out.get(r.com_ap as string);
    if (!f) continue;
    const avant = ((r.avant as { code: string; nom: string }[] | null) ?? []).sort((a, b) => a.code.localeCompare(b.code));
    // A merger always has two communes or more before it; one row alone is the commune carried over (MOD 32's COMD row).
    if (CREATIONS.includes(Number(r.mod)) && Number(r.mod) !== 20 && Number(r.mod) !== 21 && avant.length < 2) continue;
    f.history.push({
      date: String(r.date_eff),
      mod: Number(r.mod),
      avant,
      ...(r.ancien_nom ? { ancienNom: String(r.ancien_nom) } : {}),
    });
  }
  return out;
}

const MOIS = ['janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'septembre', 'octobre', 'novembre', 'décembre'];

/** '2024-01-01' → '1er janvier 2024'. */
function dateFr(iso: string): string {
  const [y, m, d] = iso.split('-').map(Number);
  return `${d === 1 ? '1er' : d} ${MOIS[m - 1]} ${y}`;
}

const list = (xs: string[]) => (xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} et ${xs.at(-1)}`);

/** The commune's history in plain French, most recent first (one sentence per movement). */
export function historySentences(nom: string, history: HistoryEvent[]): string[] {
  return history.map((h) => {
    const quand = `le ${dateFr(h.date)}`;
    const noms = list(h.avant.map((a) => `${a.nom} (${a.code})`));
    // A fusion simple keeps one commune's code: that commune absorbed the others.
    const autres = list(h.avant.filter((a) => a.nom !== nom).map((a) => `${a.nom} (${a.code})`));
    if ((h.mod === 31 || h.mod === 33) && h.avant.some((a) => a.nom === nom) && autres)
      return `${nom} a absorbé ${autres} ${quand} (${h.mod === 31 ? 'fusion simple' : 'fusion-association'}).`;
    switch (h.mod) {
      case 32:
        return `${nom} est une commune nouvelle créée ${quand} par le regroupement de ${noms}.`;
      case 31:
      case 34:
        return `${nom} est issue de la fusion, ${quand}, de ${noms}.`;
      case 33:
        return `${nom} est issue de la fusion-association, ${quand}, de ${noms}.`;
      case 21:
        return `${nom} a été rétablie ${quand}${noms ? `, par détachement de ${noms}` : ''}.`;
      case 20:
        return `${nom} a été créée ${quand}${noms ? ` à partir de ${noms}` : ''}.`;
      case 10:
        return `${nom} s'appelait ${h.ancienNom ?? 'autrement'} jusqu'au ${dateFr(h.date)}, date de son changement de nom.`;
      default:
        return `${nom} a connu un mouvement du code officiel géographique ${quand}.`;
    }
  });
}
