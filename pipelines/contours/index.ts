import type { Pipeline, RunContext } from '../../src/engine/pipeline';
import { FormatError, MissingResourceError } from '../../src/engine/errors';
import { recode } from '../../src/communes/recode';
import { badGeometryTable, parseStagedPolygons } from '../../src/geo/polygons';
import { stageFeatures } from '../../src/geo/features';
import { warmZoneContours } from '../../src/geo/zone-geometry';
import path from 'node:path';
import type { LocalFile } from '../../src/engine/pipeline';
import { SIMPLIFY_TOLERANCE, source } from './source';
import { pack } from './pack';

const DEP_CODE = `'^([0-9]{2}|2[AB]|9[78][0-9])$'`;

/**
 * Loads commune (and département) polygons. Each file replaces the contours of the
 * départements it covers only. Codes of an older COG are re-coded to the current one:
 * merged communes are united (ST_Union grouped by current code); a split commune keeps its
 * contour under the commune that kept the code, and the others are reported as uncovered.
 */
async function load(ctx: RunContext): Promise<void> {
  const cogs: number[] = [];
  const report: Record<string, unknown> = {};
  if (!ctx.files.size) throw new MissingResourceError('contours: no commune or département contour file in the mirror, none downloaded');
  for (const [resource, file] of ctx.files) {
    const cog = cogYear(file);
    cogs.push(cog);
    const staged = await stageFeatures(ctx, file, `f_${resource}`);
    const parsed = await parseStagedPolygons(ctx, staged.table, staged.label, {
      code: `coalesce(p->>'code', p->>'INSEE_COM', p->>'insee_com', p->>'code_insee', p->>'INSEE_DEP', p->>'insee_dep')`,
      nom: `coalesce(p->>'nom', p->>'NOM', p->>'NOM_COM', p->>'nom_officiel')`,
      codePattern: `^([0-9]{5}|2[AB][0-9]{3}|[0-9]{2}|2[AB]|9[78][0-9])$`,
    });
    // A commune's shape is never a sum: the arrondissements of Paris, Lyon and Marseille make
    // their commune's contour only when the commune itself is not in the file.
    const { map } = await recode(ctx, parsed, {
      cog,
      column: 'code',
      split: 'keep-on-code',
      splitReason: 'its contour cannot be assigned',
      plm: 'roll-up',
      overlap: 'prefer-commune',
      where: `s.code !~ ${DEP_CODE}`,
    });
    ctx.checkpoint('after-staging');
    await ctx.publish(
      String(cog),
      async (tx) => {
        let n = 0;
        const deps = await tx.query(
          `insert into departement_contours (code, nom, geom, geom_simple, fichier)
         select code, nom, geom, geo_simple(geom, $2), $1 from ${parsed} where code ~ ${DEP_CODE}
         on conflict (code) do update set nom = excluded.nom, geom = excluded.geom, geom_simple = excluded.geom_simple, fichier = excluded.fichier`,
          [staged.label, SIMPLIFY_TOLERANCE],
        );
        n += deps.rowCount ?? 0;
        // Current commune of each row (the map of recode above).
        await tx.query(`create temp table contours_mapped on commit drop as
        select m.code_actuel, s.code, s.nom, s.geom from ${parsed} s join ${map} m on m.code = s.code where s.code !~ ${DEP_CODE}`);
        const covered = await tx.query(`select distinct geo_departement(code_actuel) as d from contours_mapped`);
        const depList = covered.rows.map((r) => r.d as string);
        // Communes whose new feature was refused for its geometry (invalid, out of range) keep their published contour.
        const kept = await tx.query(
          `select distinct k.code_commune as code from ${badGeometryTable(parsed)} b
             left join commune_passage($1) p on p.code = b.code
             join commune_contours k on k.code_commune = coalesce(p.code_actuel, geo_commune_plm(b.code))
            where b.code !~ ${DEP_CODE} order by 1`,
          [cog],
        );
        // A commune with one refused piece keeps its whole published contour (never a shape without that piece).
        const keep = kept.rows.map((r) => r.code as string);
        await tx.query(`delete from commune_contours where departement = any($1::text[]) and code_commune <> all($2::text[])`, [
          depList,
          keep,
        ]);
        if (keep.length)
          ctx.log(
            `${keep.length} commune(s) keep their published contour, their new feature being refused (see the quarantine): ${keep.slice(0, 20).join(', ')}`,
          );
        const ins = await tx.query(
          `insert into commune_contours (code_commune, nom, departement, geom, geom_simple, cog, codes_sources, fichier)
         select code_actuel, nom, geo_departement(code_actuel), geom, geo_simple(geom, $3), $2, codes, $1
           from (select m.code_actuel, coalesce(max(c.nom), min(m.nom)) as nom, geo_multipolygon(ST_Union(m.geom)) as geom,
                        array_agg(m.code order by m.code) as codes
                   from contours_mapped m
                   left join communes c on c.code = m.code_actuel and c.type = 'commune-actuelle'
                  where m.code_actuel <> all($4::text[])
                  group by m.code_actuel) u
          where geom is not null`,
          [staged.label, cog, SIMPLIFY_TOLERANCE, keep],
        );
        n += ins.rowCount ?? 0;
        const missing = await tx.query(
          `select c.code, c.nom from communes c
          where c.type = 'commune-actuelle' and c.departement = any($1::text[])
            and not exists (select 1 from commune_contours k where k.code_commune = c.code) order by c.code`,
          [depList],
        );
        if (missing.rowCount)
          ctx.log(
            `${missing.rowCount} current commune(s) of ${depList.join(', ')} without a contour: ${missing.rows
              .slice(0, 20)
              .map((r) => r.code)
              .join(', ')}`,
          );
        report[staged.label] = { cog, departements: depList, communes: ins.rowCount, sans_contour: missing.rows.map((r) => r.code) };
        return n;
      },
      { cog, fichiers: report },
    );
  }
  if (cogs.length) ctx.setMillesime(String(Math.max(...cogs)));
  // Départements, régions and EPCI outlines are unions of these contours: rebuilt now, not by the first request.
  await warmZoneContours(ctx.log);
}

/**
 * The COG year of a contour file: its edition, read from its URL or name (the Etalab folder
 * year, a declared redistribution) or stated by the operator with --millesime. Never assumed.
 */
function cogYear(file: LocalFile): number {
  if (file.edition && /^\d{4}$/.test(file.edition)) return Number(file.edition);
  throw new FormatError(
    path.basename(file.path),
    file.edition
      ? `edition '${file.edition}' is not a COG year`
      : 'the COG year of the codes is not known (neither the URL nor the file name states it): give it with --millesime YYYY',
  );
}

export const pipeline: Pipeline = { source, order: 20, load, pack };
