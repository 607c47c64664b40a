import { pool } from '../db/pool';
import type { CommuneRec, Referential } from '../communes/referential';
import { sourceRegistry } from '../../config/sources';
import { socleBlocks, type SocleBlocks } from './socle-data';

/**
 * What the commune page shows, read from the database in a handful of small queries (the page is
 * cached by the route until the data change). Every figure carries its source and vintage.
 */
interface Population {
  pmun: number;
  millesime: string;
}
interface SeriesPoint {
  label: string;
  value: number;
}
interface ElectionResult {
  election: string;
  tour: number;
  inscrits: number | null;
  votants: number | null;
  exprimes: number | null;
  participation: number | null;
  candidats: { nom: string; voix: number; pct: number | null }[];
}
interface Budget {
  exercice: number;
  postes: { agregat: string; montant: number | null; parHabitant: number | null }[];
}
interface NaissancesDeces {
  annee: number;
  naissances: number | null;
  deces: number | null;
}
export interface MapShape {
  viewBox: string;
  commune: string;
  neighbours: { code: string; nom: string | null; path: string }[];
  strokeWidth: number;
  cog: number;
}
export interface SourceStatus {
  id: string;
  title: string;
  producer: string;
  licence: { title: string; url: string };
  landingPage: string;
  /** Published millésime, null when the source is not loaded on this server. */
  millesime: string | null;
  /** Rows per file for this commune (from its last pack build). */
  lignes: Record<string, number> | null;
  /** When no row: whether any commune of the same département has rows (coverage of the loaded edition). */
  departementCovered?: boolean;
  /** Last run's error when the source is not loaded. */
  lastError?: string | null;
}
export interface CommunePageData {
  rec: CommuneRec;
  departement: { code: string; nom: string } | null;
  region: { code: string; nom: string } | null;
  epci: { code: string; nom: string } | null;
  parent: { code: string; nom: string } | null;
  population: Population | null;
  surfaceKm2: number | null;
  surfaceCog: number | null;
  populationSeries: SeriesPoint[];
  elections: ElectionResult[];
  budget: Budget | null;
  etatCivil: NaissancesDeces[];
  map: MapShape | null;
  sources: SourceStatus[];
  /** Rows per file from pack_builds.donnees (source → file → rows). */
  donnees: Record<string, { millesime: string; lignes: Record<string, number> }>;
  /** Blocks of the socle commun sources (élus, associations…): null for a source with no row in the commune's pack. */
  socle: SocleBlocks;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** Runs a query that may read a table of a source not migrated on this database: no rows then. */
async function rows<T>(sql: string, params: unknown[]): Promise<T[]> {
  try {
    return (await pool().query(sql, params)).rows as T[];
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return [];
    throw err;
  }
}

/** The population a commune page shows (latest population légale) and its series over time. */
export async function populationOf(code: string): Promise<{ current: Population | null; series: SeriesPoint[] }> {
  const legal = await rows<{ millesime: string; pmun: number }>(
    `select millesime, pmun from population_legale where code_commune = $1 and pmun is not null order by millesime`,
    [code],
  );
  const census = await rows<{ annee: number; valeur: string }>(
    `select distinct on (annee) annee, valeur from recensement_valeur
      where code_commune = $1 and variable ~ '^[PD][0-9]{2}_POP$' and valeur is not null order by annee, millesime desc`,
    [code],
  );
  const current = legal.length ? { pmun: legal.at(-1)!.pmun, millesime: legal.at(-1)!.millesime } : null;
  // Censuses (recensement) and populations légales are both "population municipale" of a census year:
  // the légale of millésime N is the census of year N. One point per year, census first.
  const byYear = new Map<number, number>();
  for (const c of census) byYear.set(c.annee, Number(c.valeur));
  for (const l of legal) if (/^\d{4}$/.test(l.millesime) && !byYear.has(Number(l.millesime))) byYear.set(Number(l.millesime), l.pmun);
  const series = [...byYear.entries()].sort((a, b) => a[0] - b[0]).map(([y, v]) => ({ label: String(y), value: Math.round(v) }));
  return { current, series };
}

async function electionsOf(code: string): Promise<ElectionResult[]> {
  const res = await rows<{
    election: string;
    tour: number;
    inscrits: number | null;
    votants: number | null;
    exprimes: number | null;
    pct_votants_inscrits: string | null;
  }>(
    // Newest year first (the text order of election ids is not chronological).
    `select election, tour, inscrits, votants, exprimes, pct_votants_inscrits from election_resultat
      where code_commune = $1 order by substring(election from '[0-9]{4}') desc, election desc, tour desc`,
    [code],
  );
  if (!res.length) return [];
  const voix = await rows<{
    election: string;
    tour: number;
    nom: string | null;
    prenom: string | null;
    libelle: string | null;
    voix: number | null;
    pct_voix_exprimes: string | null;
  }>(
    `select election, tour, nom, prenom, libelle, voix, pct_voix_exprimes from election_voix
      where code_commune = $1 order by election, tour, voix desc nulls last, coalesce(panneau, 0)`,
    [code],
  );
  return res.map((r) => ({
    election: r.election,
    tour: r.tour,
    inscrits: r.inscrits,
    votants: r.votants,
    exprimes: r.exprimes,
    participation: num(r.pct_votants_inscrits),
    candidats: voix
      .filter((v) => v.election === r.election && v.tour === r.tour && v.voix !== null)
      .map((v) => ({
        nom: v.libelle ?? [v.prenom, v.nom ? titleCase(v.nom) : null].filter(Boolean).join(' '),
        voix: v.voix!,
        pct: num(v.pct_voix_exprimes),
      })),
  }));
}

/** "LE PEN" → "Le Pen", "MACRON" → "Macron" (names are upper case in the Ministry's files). */
function titleCase(s: string): string {
  return s.toLowerCase().replace(/(^|[\s'-])(\p{L})/gu, (_m, sep: string, c: string) => sep + c.toUpperCase());
}

async function budgetOf(code: string): Promise<Budget | null> {
  const r = await rows<{ exercice: number; agregat: string; montant: string | null; euros_par_habitant: string | null }>(
    `select exercice, agregat, montant, euros_par_habitant from budget_ofgl
      where code_commune = $1 and type_budget = 'Budget principal'
        and exercice = (select max(exercice) from budget_ofgl where code_commune = $1)
      order by montant desc nulls last, agregat`,
    [code],
  );
  if (!r.length) return null;
  return {
    exercice: r[0].exercice,
    postes: r.map((x) => ({ agregat: x.agregat, montant: num(x.montant), parHabitant: num(x.euros_par_habitant) })),
  };
}

async function etatCivilOf(code: string): Promise<NaissancesDeces[]> {
  const r = await rows<{ annee: number; naissances: number | null; deces: number | null }>(
    `select distinct on (annee) annee, naissances, deces from etat_civil where code_commune = $1 order by annee, millesime desc`,
    [code],
  );
  return r;
}

/**
 * The contour as SVG paths, drawn by PostGIS: Web Mercator (so shapes keep their proportions at
 * any latitude), coordinates rounded to the metre, y already flipped by ST_AsSVG. The neighbours
 * that touch the commune are drawn lighter for context.
 */
async function mapOf(code: string): Promise<{ map: MapShape | null; surfaceKm2: number | null; cog: number | null }> {
  const r = await rows<{ path: string; xmin: number; ymin: number; w: number; h: number; km2: number; cog: number }>(
    `with c as (select geom_simple, geom, cog, st_transform(geom_simple, 3857) as m from commune_contours where code_commune = $1)
     select st_assvg(m, 0, 0) as path, st_xmin(m) as xmin, st_ymax(m) as ymin, st_xmax(m) - st_xmin(m) as w, st_ymax(m) - st_ymin(m) as h,
            st_area(geom::geography) / 1e6 as km2, cog from c`,
    [code],
  );
  if (!r.length) return { map: null, surfaceKm2: null, cog: null };
  const c = r[0];
  const neighbours = await rows<{ code: string; nom: string | null; path: string }>(
    `select n.code_commune as code, n.nom, st_assvg(st_transform(n.geom_simple, 3857), 0, 0) as path
       from commune_contours c join commune_contours n on n.code_commune <> c.code_commune and st_intersects(n.geom, c.geom)
      where c.code_commune = $1 order by n.code_commune`,
    [code],
  );
  const pad = Math.max(c.w, c.h) * 0.08;
  const viewBox = [c.xmin - pad, -c.ymin - pad, c.w + 2 * pad, c.h + 2 * pad].map((v) => Math.round(v)).join(' ');
  return {
    map: { viewBox, commune: c.path, neighbours, strokeWidth: Math.max(1, Math.round(Math.max(c.w, c.h) / 400)), cog: c.cog },
    surfaceKm2: Number(c.km2),
    cog: c.cog,
  };
}

async function sourcesOf(rec: CommuneRec, donnees: CommunePageData['donnees']): Promise<SourceStatus[]> {
  const published = await rows<{ source: string; millesime: string }>(
    // The latest edition in time (latest_edition: editions keyed by their period, not by their label's text order).
    `select distinct on (source) source, millesime from published_datasets order by source, edition_key desc, published_at desc`,
    [],
  );
  const pub = new Map(published.map((p) => [p.source, p.millesime]));
  const lastErrors = await rows<{ source: string; error: string | null }>(
    `select distinct on (source) source, error from runs order by source, started_at desc`,
    [],
  );
  const errors = new Map(lastErrors.map((e) => [e.source, e.error]));
  const out: SourceStatus[] = [];
  for (const [id, p] of sourceRegistry()) {
    if (!p.pack) continue;
    const d = donnees[id];
    const s: SourceStatus = {
      id,
      title: p.source.title,
      producer: p.source.producer,
      licence: { title: p.source.licence.title, url: p.source.licence.url },
      landingPage: p.source.landingPage,
      millesime: d?.millesime ?? pub.get(id) ?? null,
      lignes: d?.lignes ?? null,
    };
    if (!s.millesime) s.lastError = errors.get(id) ?? null;
    const total = Object.values(s.lignes ?? {}).reduce((a, b) => a + b, 0);
    if (s.millesime && total === 0 && rec.departement) {
      // Does the loaded edition cover the département at all? (pack builds of its other communes)
      const cov = await rows<{ ok: boolean }>(
        `select exists (select 1 from pack_builds b, jsonb_each_text(b.donnees -> $1 -> 'lignes') l
                         where b.code in (select code from communes where departement = $2 and type = 'commune-actuelle')
                           and l.value::int > 0) as ok`,
        [id, rec.departement],
      );
      s.departementCovered = cov[0]?.ok ?? false;
    }
    out.push(s);
  }
  return out;
}

export async function communePageData(ref: Referential, rec: CommuneRec): Promise<CommunePageData> {
  const code = rec.code;
  const build = await rows<{ donnees: CommunePageData['donnees'] }>(`select donnees from pack_builds where code = $1`, [code]);
  const donnees = build[0]?.donnees ?? {};
  // A block is shown only for a source the commune's pack holds rows of (as the page's list of files and its
  // « Non disponible » section say): the others are not even asked.
  const inPack = (source: string) => Object.values(donnees[source]?.lignes ?? {}).some((n) => n > 0);
  const [pop, elections, budget, etatCivil, map, sources, socle] = await Promise.all([
    populationOf(code),
    electionsOf(code),
    budgetOf(code),
    etatCivilOf(code),
    mapOf(code),
    sourcesOf(rec, donnees),
    socleBlocks(code, inPack),
  ]);
  const dep = rec.departement ? ref.departements.get(rec.departement) : undefined;
  const reg = rec.region ? ref.regions.get(rec.region) : undefined;
  const parentRec = rec.parent ? ref.current.get(rec.parent) : undefined;
  const epciCode = rec.epci ?? parentRec?.epci ?? null;
  const epci = epciCode ? ref.epcis.get(epciCode) : undefined;
  return {
    rec,
    departement: dep ? { code: dep.code, nom: dep.nom } : null,
    region: reg ? { code: reg.code, nom: reg.nom } : null,
    epci: epci ? { code: epci.code, nom: epci.nom } : null,
    parent: parentRec && rec.type === 'arrondissement-municipal' ? { code: parentRec.code, nom: parentRec.nom } : null,
    population: pop.current,
    populationSeries: pop.series,
    surfaceKm2: map.surfaceKm2,
    surfaceCog: map.cog,
    elections,
    budget,
    etatCivil,
    map: map.map,
    sources,
    donnees,
    socle,
  };
}
