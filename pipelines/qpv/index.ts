import type { Pipeline, RunContext } from '../../src/engine/pipeline';
import { stageFeatures } from '../../src/geo/features';
import { parseStagedPolygons, sibling } from '../../src/geo/polygons';
import { enrichAfterPolygons } from '../../src/geo/enrich';
import { MIN_PART_SURFACE, source } from './source';
import { pack } from './pack';

/**
 * Loads the QPV and their qpv × commune bridge. The bridge comes from commune_qp (names, or
 * codes, separated by commas), matched to current communes by normalised name; where a name is
 * ambiguous the commune whose contour meets the QPV wins. It is cross-checked with
 * ST_Intersects against commune contours: communes named but not met, met but not named, and
 * names matching no commune are logged and kept in the run's details.
 */
async function load(ctx: RunContext): Promise<void> {
  const file = ctx.files.get('qpv')!;
  const millesime = ctx.source.millesime!;
  ctx.setMillesime(millesime);
  const staged = await stageFeatures(ctx, file, 'qpv');
  const parsed = await parseStagedPolygons(ctx, staged.table, staged.label, {
    code: `coalesce(p->>'code_qp', p->>'CODE_QP')`,
    nom: `coalesce(p->>'nom_qp', p->>'lib_qp', p->>'NOM_QP')`,
    codePattern: '^Q[A-Z0-9]{5,12}$',
    extra: { commune_qp: `coalesce(p->>'commune_qp', p->>'COMMUNE_QP')` },
  });
  const names = sibling(parsed, '_noms');
  await ctx.db.query(`create unlogged table ${names} as
    select s.code as code_qp, trim(t.nom) as nom, t.ord from ${parsed} s
     cross join lateral unnest(string_to_array(coalesce(s.commune_qp, ''), ',')) with ordinality as t(nom, ord)
     where trim(t.nom) <> ''`);
  // Candidates per listed name: a code as such, else current communes of that normalised name,
  // ranked: contour meeting the QPV first, then nearest to the QPV.
  const resolved = sibling(parsed, '_res');
  await ctx.db.query(`create unlogged table ${resolved} as
    with cand as (
      select n.code_qp, n.nom, c.code as code_commune, c.departement,
             k.geom is not null and ST_Intersects(k.geom, s.geom) as meets,
             case when k.geom is null then null else ST_Distance(k.geom, s.geom) end as dist
        from ${names} n join ${parsed} s on s.code = n.code_qp
        join communes c on c.type = 'commune-actuelle' and (c.code = upper(n.nom) or geo_nom_norm(c.nom) = geo_nom_norm(n.nom))
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
         from (select code, min(nom) as nom, min(commune_qp) as commune_qp, geo_multipolygon(ST_Union(geom)) as geom from ${parsed} group by code) s
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
          `${unknownNames.length} commune name(s) of commune_qp match no current commune: ${unknownNames
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
