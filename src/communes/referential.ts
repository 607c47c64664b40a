import { pool } from '../db/pool';
import { settings } from '../../config/settings';

/**
 * In-memory copy of the commune referential (≈ 40k rows, a few MB) shared by the API Territoire,
 * the geo.api-style routes and the catalog. Reloaded when the `cog` or `populations` publication
 * changes (checked at most every RELOAD_CHECK_MS), so a request never scans the tables.
 */
export interface CommuneRec {
  code: string;
  type: 'commune-actuelle' | 'commune-deleguee' | 'commune-associee' | 'arrondissement-municipal';
  nom: string;
  departement: string | null;
  region: string | null;
  arrondissement: string | null;
  zone: string | null;
  siren: string | null;
  codesPostaux: string[];
  /** Latest population légale (PMUN) when loaded, else the referential package's figure. */
  population: number | null;
  parent: string | null;
  epci: string | null;
  anciensCodes: string[];
  /** COG TNCC (article and charnière of the name, src/communes/names.ts); null when the referential lacks it. */
  tncc: number | null;
  norm: string;
}
export interface DepartementRec {
  code: string;
  nom: string;
  region: string | null;
  chefLieu: string | null;
  zone: string;
  norm: string;
  population: number;
}
export interface RegionRec {
  code: string;
  nom: string;
  chefLieu: string | null;
  zone: string;
  norm: string;
  population: number;
}
export interface EpciRec {
  code: string;
  nom: string;
  type: string | null;
  population: number | null;
  membres: string[];
  departements: string[];
  regions: string[];
  norm: string;
}
interface ArrondissementRec {
  code: string;
  nom: string;
  departement: string;
  region: string | null;
  norm: string;
}
interface Correspondance {
  code: string;
  codeActuel: string;
  nature: string;
  dateEffet: string | null;
}

export interface Referential {
  cog: string;
  /** Current communes and arrondissements municipaux, by code. */
  current: Map<string, CommuneRec>;
  /** Communes actuelles sorted by code (the catalog's stable order). */
  actuelles: CommuneRec[];
  /** Arrondissements municipaux by code. */
  arrondissementsMunicipaux: CommuneRec[];
  /** Déléguées and associées by code (a code may also be current: 35062). */
  subordinate: Map<string, CommuneRec>;
  /** Retired / subordinate code → current commune(s). */
  successors: Map<string, Correspondance[]>;
  /** Current commune → codes it absorbed. */
  ancestors: Map<string, string[]>;
  /** End of validity of a retired code, when the movements table says it. */
  endDates: Map<string, string>;
  /** Historical names of retired codes (movements / INSEE COG tables). */
  oldNames: Map<string, string>;
  departements: Map<string, DepartementRec>;
  regions: Map<string, RegionRec>;
  epcis: Map<string, EpciRec>;
  arrondissements: Map<string, ArrondissementRec>;
  populationMillesime: string | null;
  /** INSEE RDF URI by undated zone id (fr:commune:35238), when the table is filled. */
  inseeUris: Map<string, string>;
  loadedAt: number;
  version: string;
}

/** Lower-case, accents and punctuation folded: 'Saint-Étienne' → 'saint etienne'. */
export function normalizeName(s: string): string {
  return s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/œ/g, 'oe')
    .replace(/æ/g, 'ae')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

const RELOAD_CHECK_MS = 2000;
let cached: { url: string; ref: Referential } | undefined;
let loading: Promise<Referential> | undefined;
let lastCheck = 0;

async function versionOf(): Promise<string> {
  const { rows } = await pool()
    .query(`select coalesce(string_agg(source || '=' || millesime || '@' || published_at::text, ',' order by source, millesime), '') as v
                                         from published_datasets where source in ('cog', 'populations')`);
  return rows[0].v as string;
}

async function load(version: string): Promise<Referential> {
  const db = pool();
  const [communes, deps, regs, epci, membres, corr, meta, arrs] = await Promise.all([
    db.query(
      `select code, type, nom, departement, region, arrondissement, zone, siren, codes_postaux, population, commune_parent, epci, anciens_codes, tncc from communes`,
    ),
    db.query(`select code, nom, region, chef_lieu, zone from departements`),
    db.query(`select code, nom, chef_lieu, zone from regions`),
    db.query(`select code, nom, type, population from epci`),
    db.query(`select epci, commune from epci_membres order by epci, commune`),
    db.query(
      `select code, code_actuel, nature, date_effet::text as date_effet from commune_correspondance where code <> code_actuel order by code, code_actuel`,
    ),
    db.query(`select key, value from referentiel_meta`),
    db.query(`select code, nom, departement, region from arrondissements`),
  ]);
  // Latest population légale, when the populations source has been loaded.
  const popRows = (
    await db.query(`select p.code_commune, p.pmun, p.millesime from population_legale p
                                     where p.millesime = latest_edition('populations')`)
  ).rows;
  const pop = new Map<string, number>(popRows.filter((r) => r.pmun != null).map((r) => [r.code_commune as string, r.pmun as number]));
  const popMillesime = popRows[0]?.millesime ?? null;
  // History (optional tables): end dates and names of retired codes.
  const endDates = new Map<string, string>();
  const oldNames = new Map<string, string>();
  const mv = await db.query(`select com_av, max(date_eff)::text as d, (array_agg(libelle_av order by date_eff desc))[1] as nom
                               from cog_mouvements where com_av is not null and com_av <> com_ap group by com_av`);
  for (const r of mv.rows) {
    endDates.set(r.com_av, r.d);
    if (r.nom) oldNames.set(r.com_av, r.nom);
  }
  const uris = await db
    .query(`select level, code, uri from insee_geo_uri`)
    .catch(() => ({ rows: [] as { level: string; code: string; uri: string }[] }));
  const inseeUris = new Map<string, string>(uris.rows.map((r) => [`${r.level}:${r.code}`, r.uri]));
  const insee = await db.query(`select distinct on (com) com, libelle from cog_communes_insee order by com, cog desc`);
  for (const r of insee.rows) if (!oldNames.has(r.com)) oldNames.set(r.com, r.libelle);

  const current = new Map<string, CommuneRec>();
  const subordinate = new Map<string, CommuneRec>();
  const actuelles: CommuneRec[] = [];
  const arrM: CommuneRec[] = [];
  for (const r of communes.rows) {
    const rec: CommuneRec = {
      code: r.code,
      type: r.type,
      nom: r.nom,
      departement: r.departement,
      region: r.region,
      arrondissement: r.arrondissement,
      zone: r.zone,
      siren: r.siren,
      codesPostaux: [...(r.codes_postaux ?? [])].sort(),
      population: pop.get(r.code) ?? r.population ?? null,
      parent: r.commune_parent,
      epci: r.epci,
      anciensCodes: r.anciens_codes ?? [],
      tncc: r.tncc ?? null,
      norm: normalizeName(r.nom),
    };
    if (rec.type === 'commune-actuelle') {
      current.set(rec.code, rec);
      actuelles.push(rec);
    } else if (rec.type === 'arrondissement-municipal') {
      if (!current.has(rec.code)) current.set(rec.code, rec);
      arrM.push(rec);
    } else if (!subordinate.has(rec.code) || rec.type === 'commune-deleguee') subordinate.set(rec.code, rec);
  }
  actuelles.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  arrM.sort((a, b) => (a.code < b.code ? -1 : 1));

  const sumBy = (key: 'departement' | 'region') => {
    const m = new Map<string, number>();
    for (const c of actuelles) if (c[key]) m.set(c[key]!, (m.get(c[key]!) ?? 0) + (c.population ?? 0));
    return m;
  };
  const depPop = sumBy('departement');
  const regPop = sumBy('region');
  const departements = new Map<string, DepartementRec>(
    deps.rows.map((r) => [
      r.code,
      {
        code: r.code,
        nom: r.nom,
        region: r.region,
        chefLieu: r.chef_lieu,
        zone: r.zone,
        norm: normalizeName(r.nom),
        population: depPop.get(r.code) ?? 0,
      },
    ]),
  );
  const regions = new Map<string, RegionRec>(
    regs.rows.map((r) => [
      r.code,
      { code: r.code, nom: r.nom, chefLieu: r.chef_lieu, zone: r.zone, norm: normalizeName(r.nom), population: regPop.get(r.code) ?? 0 },
    ]),
  );
  const epcis = new Map<string, EpciRec>();
  for (const r of epci.rows)
    epcis.set(r.code, {
      code: r.code,
      nom: r.nom,
      type: r.type,
      population: r.population,
      membres: [],
      departements: [],
      regions: [],
      norm: normalizeName(r.nom),
    });
  for (const r of membres.rows) epcis.get(r.epci)?.membres.push(r.commune);
  for (const e of epcis.values()) {
    const ds = new Set<string>();
    const rs = new Set<string>();
    let sum = 0;
    let anyPop = false;
    for (const m of e.membres) {
      const c = current.get(m);
      if (!c) continue;
      if (c.departement) ds.add(c.departement);
      if (c.region) rs.add(c.region);
      if (pop.has(m)) {
        sum += pop.get(m)!;
        anyPop = true;
      }
    }
    e.departements = [...ds].sort();
    e.regions = [...rs].sort();
    if (anyPop) e.population = sum;
  }
  const successors = new Map<string, Correspondance[]>();
  const ancestors = new Map<string, string[]>();
  for (const r of corr.rows) {
    const c: Correspondance = { code: r.code, codeActuel: r.code_actuel, nature: r.nature, dateEffet: r.date_effet };
    (successors.get(c.code) ?? successors.set(c.code, []).get(c.code)!).push(c);
    if (c.nature !== 'arrondissement') (ancestors.get(c.codeActuel) ?? ancestors.set(c.codeActuel, []).get(c.codeActuel)!).push(c.code);
  }
  const arrondissements = new Map<string, ArrondissementRec>(
    arrs.rows.map((r) => [r.code, { code: r.code, nom: r.nom, departement: r.departement, region: r.region, norm: normalizeName(r.nom) }]),
  );
  const metaMap = new Map<string, string>(meta.rows.map((r) => [r.key, r.value]));
  return {
    cog: metaMap.get('cog') ?? '',
    current,
    actuelles,
    arrondissementsMunicipaux: arrM,
    subordinate,
    successors,
    ancestors,
    endDates,
    oldNames,
    departements,
    regions,
    epcis,
    arrondissements,
    populationMillesime: popMillesime,
    inseeUris,
    loadedAt: Date.now(),
    version,
  };
}

/** The referential of the configured database, reloaded when a publication changed it. */
export async function referential(): Promise<Referential> {
  const url = pool().options.connectionString ?? '';
  const now = Date.now();
  if (cached && cached.url === url && now - lastCheck < RELOAD_CHECK_MS) return cached.ref;
  if (loading) return loading;
  loading = (async () => {
    try {
      let v: string;
      try {
        v = await versionOf();
      } catch (err) {
        // PostgreSQL unreachable: keep answering from the copy in memory (checked again after
        // RELOAD_CHECK_MS), so routes that need no other query — the pack routes — keep serving.
        if (cached && cached.url === url) {
          lastCheck = Date.now();
          return cached.ref;
        }
        throw err;
      }
      lastCheck = Date.now();
      if (cached && cached.url === url && cached.ref.version === v) return cached.ref;
      const ref = await load(v);
      cached = { url, ref };
      return ref;
    } finally {
      loading = undefined;
    }
  })();
  return loading;
}

/**
 * The referential in memory without waiting (for the pack downloads' fast path,
 * src/server/pack-fast.ts): undefined when none was loaded for this database; `due` when
 * `referential()` would check PostgreSQL first (its RELOAD_CHECK_MS has passed).
 */
export function referentialInMemory(): { ref: Referential; due: boolean } | undefined {
  // The pool's key (src/db/pool.ts), read without creating a pool.
  if (!cached || cached.url !== settings().DATABASE_URL) return undefined;
  return { ref: cached.ref, due: Date.now() - lastCheck >= RELOAD_CHECK_MS };
}

/** Forget the cached copy (tests that publish and read at once). */
export function invalidateReferential(): void {
  cached = undefined;
  lastCheck = 0;
}
