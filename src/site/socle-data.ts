import { pool } from '../db/pool';

/**
 * The commune page's blocks of the socle commun sources (issue 14): élus, associations, marchés
 * publics, urbanisme, permis de construire, santé, éducation. One query per source, all in
 * parallel, each on the commune's index; a source the commune's last pack build found empty is
 * not asked at all (the page shows it under « Non disponible » from the build's row counts).
 * The page is cached as bytes until the data change (routes/web.ts), so this runs once per commune
 * and data version.
 */
interface Elu {
  nom: string;
  prenom: string;
  fonction: string | null;
  debutFonction: string | null;
  debutMandat: string | null;
}
interface ElusBlock {
  maire: Elu | null;
  conseillers: Elu[];
}
interface AssociationsBlock {
  actives: number;
  dissoutes: number;
  autres: number;
  themes: { code: string; theme: string | null; actives: number; dissoutes: number }[];
}
export interface MarchesBlock {
  annees: { annee: number; lien: string; nombre: number; montant: number | null; sansMontant: number }[];
  derniers: {
    objet: string | null;
    lien: string;
    type: string;
    acheteur: string | null;
    titulaires: string | null;
    montant: number | null;
    date: string | null;
    procedure: string | null;
  }[];
  total: number;
}
interface UrbanismeBlock {
  regime: string;
  document: string | null;
  dateApprobation: string | null;
  gpuDocId: string | null;
  documents: number;
}
interface PermisBlock {
  annees: { annee: number; autorises: number; commences: number; individuels: number; collectifs: number }[];
}
interface SanteBlock {
  etablissements: { nom: string | null; categorie: string | null; adresse: string | null }[];
  nombreEtablissements: number;
  professions: { profession: string; professionnels: number; liberaux: number }[];
  generalistes: number | null;
}
interface EducationBlock {
  etablissements: {
    uai: string;
    nom: string | null;
    type: string;
    nature: string | null;
    statut: string | null;
    ips: number | null;
    rentree: string | null;
  }[];
}
export interface SocleBlocks {
  elus: ElusBlock | null;
  associations: AssociationsBlock | null;
  marches: MarchesBlock | null;
  urbanisme: UrbanismeBlock | null;
  permis: PermisBlock | null;
  sante: SanteBlock | null;
  education: EducationBlock | null;
}

/** Rows shown on the page at most (the CSV of the pack has them all). */
export const PAGE_LIMIT = { derniersMarches: 5, etablissementsSante: 30, etablissementsScolaires: 60 };

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** One query; a table of a source not migrated on this database gives nothing. */
async function one<T>(sql: string, code: string): Promise<T | null> {
  try {
    const { rows } = await pool().query(sql, [code]);
    return (rows[0]?.b ?? null) as T | null;
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return null;
    throw err;
  }
}

/** Order of the council: the maire, the adjoints by rank (« 1er adjoint », « 2e adjoint »…), other functions, then the conseillers. */
function rank(e: Elu): number {
  const f = (e.fonction ?? '').toLowerCase();
  if (!f) return 1000;
  if (/^maire\b/.test(f)) return 0;
  if (/adjoint/.test(f)) return 1 + Number(/(\d+)/.exec(f)?.[1] ?? 99);
  return 500;
}

async function elusOf(code: string): Promise<ElusBlock | null> {
  const b = await one<{ maire: Elu[] | null; conseillers: Elu[] | null }>(
    `select jsonb_build_object(
       'maire', (select jsonb_agg(jsonb_build_object('nom', nom, 'prenom', prenom, 'fonction', 'Maire',
                          'debutFonction', date_debut_fonction, 'debutMandat', date_debut_mandat) order by date_debut_fonction desc nulls last)
                   from elu_municipal where code_commune = $1 and mandat = 'maire'),
       'conseillers', (select jsonb_agg(jsonb_build_object('nom', nom, 'prenom', prenom, 'fonction', fonction,
                          'debutFonction', date_debut_fonction, 'debutMandat', date_debut_mandat) order by nom, prenom)
                   from elu_municipal where code_commune = $1 and mandat = 'conseiller')) as b`,
    code,
  );
  if (!b || (!b.maire?.length && !b.conseillers?.length)) return null;
  const conseillers = (b.conseillers ?? []).sort((x, y) => rank(x) - rank(y));
  return { maire: b.maire?.[0] ?? null, conseillers };
}

async function associationsOf(code: string): Promise<AssociationsBlock | null> {
  const b = await one<{ themes: AssociationsBlock['themes'] | null }>(
    `select jsonb_build_object('themes', jsonb_agg(jsonb_build_object('code', c.theme, 'theme', t.libelle, 'actives', c.actives,
                                 'dissoutes', c.dissoutes, 'autres', c.autres) order by c.actives desc, c.theme)) as b
       from association_compte c left join association_theme t on t.code = c.theme where c.code_commune = $1`,
    code,
  );
  const rows = (b?.themes ?? []) as (AssociationsBlock['themes'][number] & { autres: number })[];
  if (!rows.length) return null;
  const sum = (k: 'actives' | 'dissoutes' | 'autres') => rows.reduce((a, r) => a + r[k], 0);
  return {
    actives: sum('actives'),
    dissoutes: sum('dissoutes'),
    autres: sum('autres'),
    themes: rows.map((r) => ({ code: r.code, theme: r.theme, actives: r.actives, dissoutes: r.dissoutes })),
  };
}

async function marchesOf(code: string): Promise<MarchesBlock | null> {
  const b = await one<{ annees: MarchesBlock['annees'] | null; derniers: MarchesBlock['derniers'] | null; total: number }>(
    `with l as (select l.lien, m.* from marche_public_commune l join marche_public m on m.uid = l.uid where l.code_commune = $1)
     select jsonb_build_object(
       'total', (select count(*) from l),
       'annees', (select jsonb_agg(a order by a.annee desc, a.lien) from (
                    select extract(year from date_notification)::int as annee, lien, count(*)::int as nombre, sum(montant) as montant,
                           (count(*) filter (where montant is null))::int as "sansMontant"
                      from l where date_notification is not null group by 1, 2) a),
       'derniers', (select jsonb_agg(d) from (
                    select objet, lien, type, acheteur_nom as acheteur, montant, date_notification as date, procedure,
                           (select string_agg(coalesce(t.titulaire_nom, t.titulaire_id), ', ' order by t.rang)
                              from marche_public_titulaire t where t.uid = l.uid) as titulaires
                      from l order by date_notification desc nulls last, uid limit ${PAGE_LIMIT.derniersMarches}) d)) as b`,
    code,
  );
  if (!b || !b.total) return null;
  return {
    total: Number(b.total),
    annees: (b.annees ?? []).map((a) => ({ ...a, montant: num(a.montant) })),
    derniers: (b.derniers ?? []).map((d) => ({ ...d, montant: num(d.montant) })),
  };
}

async function urbanismeOf(code: string): Promise<UrbanismeBlock | null> {
  // The same choice as the view urbanisme_commune (migration 183), asked of the tables on their key:
  // the latest PLU, PLUi or carte communale, else RNU when the Géoportail says so, else unknown.
  const b = await one<{ rnu: boolean | null; docs: { id: string; nom: string | null; type: string | null; date: string | null }[] | null }>(
    `select jsonb_build_object(
       'rnu', (select est_rnu from urbanisme_municipalite where code_commune = $1),
       'docs', (select jsonb_agg(jsonb_build_object('id', gpu_doc_id, 'nom', nom, 'type', du_type, 'date', date_approbation)
                                 order by (du_type in ('PLU', 'PLUi', 'CC')) desc, date_approbation desc nulls last, gpu_doc_id)
                  from urbanisme_document where code_commune = $1)) as b`,
    code,
  );
  if (!b || (b.rnu === null && !b.docs?.length)) return null;
  const docs = b.docs ?? [];
  const inForce = docs.find((d) => d.type === 'PLU' || d.type === 'PLUi' || d.type === 'CC');
  return {
    regime: inForce ? inForce.type! : b.rnu ? 'RNU' : 'inconnu',
    document: inForce?.nom ?? null,
    dateApprobation: inForce?.date ?? null,
    gpuDocId: inForce?.id ?? null,
    documents: docs.length,
  };
}

async function permisOf(code: string): Promise<PermisBlock | null> {
  const b = await one<{ annees: PermisBlock['annees'] | null }>(
    `select jsonb_build_object('annees', jsonb_agg(jsonb_build_object('annee', annee, 'autorises', logements_autorises,
              'commences', logements_commences, 'individuels', dont_individuels, 'collectifs', dont_collectifs) order by annee)) as b
       from permis_logements_annee where code_commune = $1`,
    code,
  );
  return b?.annees?.length ? { annees: b.annees } : null;
}

async function santeOf(code: string): Promise<SanteBlock | null> {
  const b = await one<{
    n: number;
    etablissements: SanteBlock['etablissements'] | null;
    professions: SanteBlock['professions'] | null;
    generalistes: number | null;
  }>(
    `select jsonb_build_object(
       'n', (select count(*) from sante_etablissement where code_commune = $1),
       'etablissements', (select jsonb_agg(e) from (
                            select nom, libelle_categorie as categorie, nullif(concat_ws(' ', adresse, code_postal), '') as adresse
                              from sante_etablissement where code_commune = $1
                             order by libelle_categorie_agregee nulls last, libelle_categorie, nom, nofinesset
                             limit ${PAGE_LIMIT.etablissementsSante}) e),
       'professions', (select jsonb_agg(jsonb_build_object('profession', coalesce(libelle_profession, code_profession),
                              'professionnels', professionnels, 'liberaux', liberaux) order by professionnels desc, code_profession)
                         from sante_profession where code_commune = $1),
       -- Médecins whose savoir-faire is médecine générale (SM54 in the RPPS nomenclature; the pack's README says so).
       'generalistes', (select sum(professionnels) from sante_savoir_faire where code_commune = $1 and code_savoir_faire = 'SM54')) as b`,
    code,
  );
  if (!b || (!Number(b.n) && !b.professions?.length)) return null;
  return {
    nombreEtablissements: Number(b.n),
    etablissements: b.etablissements ?? [],
    professions: b.professions ?? [],
    generalistes: num(b.generalistes),
  };
}

async function educationOf(code: string): Promise<EducationBlock | null> {
  // Schools of the annuaire with their latest IPS, and the schools the IPS files name that the loaded
  // annuaire does not have (the annuaire and the IPS are separate files, loaded separately).
  const b = await one<{ e: EducationBlock['etablissements'] | null }>(
    `with e as (select uai, nom, type_etablissement as type, nature, statut from education_etablissement where code_commune = $1),
          i as (select distinct on (uai) uai, nom, niveau, secteur, ips, rentree from education_ips where code_commune = $1
                 order by uai, rentree desc, niveau)
     select jsonb_build_object('e', jsonb_agg(x order by x.ordre, x.nom, x.uai)) as b from (
       select uai, coalesce(e.nom, i.nom) as nom,
              coalesce(e.type, case i.niveau when 'ecole' then 'École' when 'college' then 'Collège' else 'Lycée' end) as type,
              e.nature, coalesce(e.statut, i.secteur) as statut, i.ips, i.rentree,
              case coalesce(e.type, i.niveau) when 'Ecole' then 1 when 'ecole' then 1 when 'Collège' then 2 when 'college' then 2
                   when 'Lycée' then 3 when 'lycee' then 3 else 4 end as ordre
         from e full join i using (uai)) x`,
    code,
  );
  if (!b?.e?.length) return null;
  return { etablissements: b.e.map((x) => ({ ...x, ips: num(x.ips) })) };
}

/**
 * The blocks of one commune. `has(source)` says whether the source may have rows for it (false when
 * its last pack build found none: no query then).
 */
export async function socleBlocks(code: string, has: (source: string) => boolean): Promise<SocleBlocks> {
  const ask = <T>(source: string, f: (code: string) => Promise<T | null>) => (has(source) ? f(code) : Promise.resolve(null));
  const [elus, associations, marches, urbanisme, permis, sante, education] = await Promise.all([
    ask('elus', elusOf),
    ask('associations', associationsOf),
    ask('marches-publics', marchesOf),
    ask('urbanisme', urbanismeOf),
    ask('permis-construire', permisOf),
    ask('sante', santeOf),
    ask('education', educationOf),
  ]);
  return { elus, associations, marches, urbanisme, permis, sante, education };
}
