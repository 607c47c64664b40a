import path from 'node:path';
import type { Pipeline, RunContext } from '../../src/engine/pipeline';
import { EditionError } from '../../src/engine/edition';
import { stageFeatures } from '../../src/geo/features';
import { paddedCode, parseStagedPolygons } from '../../src/geo/polygons';
import { enrichAfterPolygons } from '../../src/geo/enrich';
import { stageCurrentCommunes } from '../../src/communes/recode';
import { source } from './source';
import { pack } from './pack';

/**
 * Loads IRIS polygons; a file replaces the IRIS of the départements it covers. The commune is
 * left(code_iris, 5): an arrondissement for Paris/Lyon/Marseille (kept as code_insee) rolled up
 * to its commune, an older commune re-coded to its current one. Addresses of the départements
 * whose IRIS changed are then re-enriched.
 */
async function load(ctx: RunContext): Promise<void> {
  const file = ctx.files.get('contours')!;
  // The edition of IGN's archive is in its name (…_2025-01-01); a converted or renamed copy says it with --millesime.
  if (!file.edition)
    throw new EditionError(
      `${path.basename(file.path)}: the IRIS edition (the year of IGN's archive, CONTOURS-IRIS_…_2025-01-01) is stated neither by the file name nor by the operator: give it with --millesime YYYY`,
    );
  const millesime = file.edition;
  ctx.setMillesime(millesime);
  // IGN names its layer contours_iris: taken when present, else the file's only polygon layer.
  const staged = await stageFeatures(ctx, file, 'iris', { layer: 'contours_iris' });
  const parsed = await parseStagedPolygons(ctx, staged.table, staged.label, {
    // Property names are lower-cased (TYP_IRIS, typ_iris, type_iris); a code written as a JSON number is padded.
    code: paddedCode(`coalesce(p->>'code_iris', p->>'dcomiris')`, 9),
    nom: `p->>'nom_iris'`,
    codePattern: '^(?:[0-9]{2}|2[AB])[0-9]{7}$',
    extra: {
      type_iris: `coalesce(p->>'type_iris', p->>'typ_iris')`,
      code_insee_prop: paddedCode(`nullif(coalesce(p->>'code_insee', p->>'insee_com', p->>'depcom'), '')`, 5),
    },
  });
  // Commune of each IRIS: arrondissement → its commune; a code of an older COG → the single current commune.
  const current = await stageCurrentCommunes(ctx);
  await ctx.db.query(`alter table ${parsed} add column code_commune text`);
  await ctx.db.query(`update ${parsed} s set code_commune = (select k.code_actuel from ${current} k where k.code = left(s.code, 5))`);
  await ctx.rejectStaged(
    `select $1::text as file, line, raw,
            case when code_commune is null then 'code_iris ' || code || ': commune ' || left(code, 5) || ' unknown in the referential'
                 else 'code_iris ' || code || ': code_insee ''' || code_insee_prop || ''' disagrees with left(code_iris, 5)' end as reason
       from ${parsed} where code_commune is null or (code_insee_prop is not null and code_insee_prop <> left(code, 5))`,
    [staged.label],
  );
  await ctx.db.query(
    `delete from ${parsed} where code_commune is null or (code_insee_prop is not null and code_insee_prop <> left(code, 5))`,
  );
  ctx.checkpoint('after-staging');
  await ctx.publish(
    millesime,
    async (tx) => {
      const { rows } = await tx.query(`select distinct geo_departement(code_commune) as d from ${parsed}`);
      const deps = rows.map((r) => r.d);
      await tx.query(`delete from iris where departement = any($1::text[])`, [deps]);
      const ins = await tx.query(
        `insert into iris (code_iris, nom_iris, type_iris, code_insee, code_commune, departement, geom, geom_simple, fichier)
       select code, nom, type_iris, left(code, 5), code_commune, geo_departement(code_commune), geom, geo_simple(geom), $1
         from (select code, min(nom) as nom, min(type_iris) as type_iris, min(code_commune) as code_commune, geo_multipolygon(ST_Union(geom)) as geom
                 from ${parsed} group by code) s
        where geom is not null`,
        [staged.label],
      );
      return ins.rowCount ?? 0;
    },
    { fichier: staged.label },
  );
  await enrichAfterPolygons(ctx.db, ctx.log);
}

export const pipeline: Pipeline = { source, order: 21, load, pack };
