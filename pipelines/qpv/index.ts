import type { Pipeline, RunContext } from '../../src/engine/pipeline';
import { stageFeatures } from '../../src/geo/features';
import { paddedCode, parseStagedPolygons, sibling } from '../../src/geo/polygons';
import { enrichAfterPolygons } from '../../src/geo/enrich';
import { stageCurrentCommunes } from '../../src/communes/recode';
import { MIN_PART_SURFACE, source } from './source';
import { pack } from './pack';

/**
 * Loads the QPV and their qpv × commune bridge, from either layout ANCT published:
 *  - 2024 generation: one feature per QPV × commune (`code_qp, lib_qp, insee_reg, insee_dep,
 *    insee_com, lib_com, siren_epci`), inside a ZIP holding the same quartiers in several
 *    projections; the WGS84 GeoJSON entry is read (src/geo/gis-file.ts), another CRS is
 *    reprojected. A quartier's features are united; each `insee_com` links it to its commune
 *    (re-coded to the current COG: an arrondissement to its commune, a merged commune to the new one).
 *  - 2015 layout: one feature per QPV, `commune_qp` = the commune name(s) separated by commas,
 *    matched to current communes by normalised name; where a name is ambiguous the commune whose
 *    contour meets the QPV wins.
 * Either list is cross-checked with ST_Intersects against commune contours: communes listed but
 * not met, met but not listed, and codes or names matching no commune are logged and kept in the
 * run's details.
 */
async function load(ctx: RunContext): Promise<void> {
  const file = ctx.files.get('qpv')!;
  const staged = await stageFeatures(ctx, file, 'qpv');
  // The generation is in ANCT's file names (QP2024_…); else what the resource or the operator (--millesime) states.
  const millesime = /QP(20\d\d)/i.exec(staged.label)?.[1] ?? file.edition ?? ctx.source.millesime!;
  ctx.setMillesime(millesime);
  const parsed = await parseStagedPolygons(ctx, staged.table, staged.label, {
    code: `p->>'code_qp'`,
    nom: `coalesce(p->>'lib_qp', p->>'nom_qp')`,
    codePattern: '^Q[A-Z0-9]{5,12}$',
    extra: {
      commune_qp: `p->>'commune_qp'`,
      insee_com: paddedCode(`nullif(trim(p->>'insee_com'), '')`, 5),
      lib_com: `nullif(trim(p->>'lib_com'), '')`,
    },
  });
  // Listed communes, one row per (quartier, code or name) as published.
  const names = sibling(parsed, '_noms');
  await ctx.db.query(`create unlogged table ${names} as
    select distinct code as code_qp, insee_com as nom, true as is_code from ${parsed} where insee_com is not null
    union
    select s.code, trim(t.nom), false from ${parsed} s
     cross join lateral unnest(string_to_array(coalesce(s.commune_qp, ''), ',')) as t(nom)
     where s.insee_com is null and trim(t.nom) <> ''`);
  // A code goes to its current commune; a name to the current communes of that normalised name,
  // ranked: contour meeting the QPV first, then nearest to the QPV.
  const current = await stageCurrentCommunes(ctx);
  const resolved = sibling(parsed, '_res');
  await ctx.db.query(`create unlogged table ${resolved} as
    with qp as (select code, ST_Union(geom) as geom from ${parsed} group by code),
    cand as (
      select n.code_qp, n.nom, c.code as code_commune, c.departement,
             k.geom is not null and ST_Intersects(k.geom, q.geom) as meets,
             case when k.geom is null then null else ST_Distance(k.geom, q.geom) end as dist
        from ${names} n join qp q on q.code = n.code_qp
        join communes c on c.type = 'commune-actuelle' and (
             case when n.is_code then c.code = (select k.code_actuel from ${current} k where k.code = n.nom)
                  else c.code = upper(n.nom) or geo_nom_norm(c.nom) = geo_nom_norm(n.nom) end)
        left join commune_contours k on k.code_commune = c.code)
    select distinct on (code_qp, nom) code_qp, nom, code_commune, departement, count(*) over (partition by code_qp, nom) as nb
      from cand order by code_qp, nom, meets desc nulls last, dist nulls last, code_commune`);
  const { rows: unknownNames } = await ctx.db.query(
    `select n.code_qp, n.nom from ${names} n where not exists (select 1 from ${resolved} r where r.code_qp = n.code_qp and r.nom = n.nom) order by 1, 2`,
  );
  ctx.checkpoint('after-staging');
  const report: Record<string, unknown> = {};
  await ctx.publish(
    millesime,
    async (tx) => {
      await tx.query(`delete from qpv`);
      const ins = await tx.query(
        `insert into qpv (code_qp, nom_qp, commune_qp, geom, geom_simple, fichier)
       select code, nom, commune_qp, geom, geo_simple(geom, 0.00002), $1
         from (select code, min(nom) as nom,
                      coalesce(min(commune_qp), string_agg(distinct lib_com, ', ' order by lib_com)) as commune_qp,
                      geo_multipolygon(ST_Union(geom)) as geom
                 from ${parsed} group by code) s
        where geom is not null`,
        [staged.label],
      );
      // Intersections with commune contours (share of the QPV's area in each commune).
      await tx.query(`create temp table qpv_inter on commit drop as
      select q.code_qp, k.code_commune, k.departement,
             ST_Area(ST_Intersection(q.geom, k.geom)::geography) / nullif(ST_Area(q.geom::geography), 0) as part
        from qpv q join commune_contours k on ST_Intersects(q.geom, k.geom)`);
      await tx.query(
        `insert into qpv_communes (code_qp, code_commune, departement, dans_liste, par_contour, part_surface)
       select coalesce(l.code_qp, i.code_qp), coalesce(l.code_commune, i.code_commune), coalesce(l.departement, i.departement),
              l.code_qp is not null,
              case when i.code_qp is not null then true
                   when exists (select 1 from commune_contours k where k.code_commune = l.code_commune) then false end,
              i.part
         from (select distinct code_qp, code_commune, departement from ${resolved}) l
         full join (select * from qpv_inter where part >= $1) i on i.code_qp = l.code_qp and i.code_commune = l.code_commune`,
        [MIN_PART_SURFACE],
      );
      const { rows: disagree } = await tx.query(
        `select code_qp, code_commune, dans_liste, par_contour, round(part_surface::numeric, 3)::float8 as part from qpv_communes
        where (dans_liste and par_contour = false) or (not dans_liste) order by 1, 2`,
      );
      report.desaccords = disagree;
      report.noms_inconnus = unknownNames;
      if (disagree.length)
        ctx.log(
          `${disagree.length} qpv × commune disagreement(s) between commune_qp and the contours: ${disagree
            .slice(0, 10)
            .map((d) => `${d.code_qp}/${d.code_commune} ${d.dans_liste ? 'named, not met' : `met (${d.part}), not named`}`)
            .join('; ')}`,
        );
      if (unknownNames.length)
        ctx.log(
          `${unknownNames.length} commune code(s) or name(s) match no current commune: ${unknownNames
            .slice(0, 10)
            .map((u) => `${u.code_qp} '${u.nom}'`)
            .join('; ')}`,
        );
      return ins.rowCount ?? 0;
    },
    report,
  );
  await ctx.db.query(`drop table if exists ${names}`);
  await ctx.db.query(`drop table if exists ${resolved}`);
  await enrichAfterPolygons(ctx.db, ctx.log);
}

export const pipeline: Pipeline = { source, order: 22, load, pack };
