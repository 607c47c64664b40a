import path from 'node:path';
import type { LocalFile, Pipeline, RunContext } from '../../src/engine/pipeline';
import { MissingResourceError } from '../../src/engine/errors';
import { formatEdition, parseEdition } from '../../src/engine/edition';
import { mergePublishedEditions, replaceSnapshot, type FileEdition } from '../../src/engine/snapshot';
import { recode } from '../../src/communes/recode';
import { writeSlices } from '../../src/packs/slices';
import { GEO_STAGING, STRUCTURE_STAGING, stageFiness } from './finess';
import { ACTIVITE_STAGING, stageRpps } from './rpps';
import { source } from './source';
import { pack } from './pack';

/**
 * Projection of FINESS coordinates whose sourcecoordet names none, by territory (the projection
 * of each territory's official grid; the same as the BPE's): Lambert 93 in metropolitan France,
 * UTM 20N (RGAF09) in the Antilles, 22N Guyane, 40S La Réunion, 38S Mayotte, 21N Saint-Pierre.
 */
const DEFAULT_EPSG = `case when c like '971%' or c like '972%' or c like '977%' or c like '978%' then 5490
                          when c like '973%' then 2972 when c like '974%' then 2975 when c like '976%' then 4471
                          when c like '975%' then 4467 when c like '98%' then null else 2154 end`;

/** The edition of the RPPS file: its URL's or name's date, or --millesime; a bare copy says nothing of itself. */
function rppsEdition(file: LocalFile): FileEdition {
  const fichier = path.basename(file.path);
  if (!file.edition)
    throw new MissingResourceError(
      `${fichier}: the date of the extract is neither in the URL (…/YYYYMMDD-HHMMSS/ps-libreacces-personne-activite.txt) nor in the name ` +
        `(PS_LibreAcces_Personne_activite_YYYYMMDDHHMM.txt), and the file holds no date: give it with --millesime YYYY-MM-DD`,
    );
  return { edition: formatEdition(parseEdition(file.edition)), from: file.editionFrom ?? 'resource', fichier };
}

async function load(ctx: RunContext): Promise<void> {
  const finess = ctx.files.get('finess');
  const rpps = ctx.files.get('rpps');
  if (!finess && !rpps)
    throw new MissingResourceError(
      'sante: neither a FINESS file (etalab-cs1100507-stock-YYYYMMDD-HHMM.csv) nor an RPPS file (ps-libreacces-personne-activite.txt) was found (MIRROR_DIR, download or --file)',
    );
  const editions: Record<string, FileEdition> = {};
  const details: Record<string, unknown> = {};
  // Known before the 760 MB are read: a file without a date fails at once.
  if (rpps) editions.rpps = rppsEdition(rpps);

  const structures = await ctx.staging('structures', STRUCTURE_STAGING);
  const geo = await ctx.staging('geo', GEO_STAGING);
  if (finess) {
    const read = await stageFiness(ctx, finess, structures, geo);
    editions.finess = { edition: read.edition, from: 'content (line 1)', fichier: read.fichier };
    if (finess.edition && finess.edition !== read.edition)
      ctx.log(`${read.fichier}: its name says ${finess.edition}, its first line ${read.edition}: the first line is taken`);
  }
  const activites = await ctx.staging('activites', ACTIVITE_STAGING);
  if (rpps) {
    const read = await stageRpps(ctx, rpps, activites);
    details.rpps_sans_commune = read.sansCommune;
    if (read.sansCommune)
      ctx.log(`${read.fichier}: ${read.sansCommune} activity line(s) without a commune of practice, counted in no commune`);
  }
  ctx.checkpoint('after-staging');

  // One structure per FINESS number, one position per structure; a position of no structure is refused.
  const dupes = (t: string) =>
    `select ctid, fichier, line, raw, first_value(line) over w as premiere, row_number() over w as rang from ${t} window w as (partition by nofinesset order by line)`;
  for (const t of [structures.qualified, geo.qualified]) {
    await ctx.rejectStaged(
      `select fichier as file, line, raw, 'same nofinesset as line ' || premiere as reason from (${dupes(t)}) d where rang > 1`,
    );
    await ctx.db.query(`delete from ${t} where ctid in (select ctid from (${dupes(t)}) d where rang > 1)`);
  }
  await ctx.rejectStaged(
    `select g.fichier as file, g.line, g.raw, 'geolocalisation of nofinesset ' || g.nofinesset || ': no structureet record has this number' as reason
       from ${geo.qualified} g where not exists (select 1 from ${structures.qualified} s where s.nofinesset = g.nofinesset)`,
  );

  const cogOf = (e: FileEdition | undefined) => (e ? Number(e.edition.slice(0, 4)) : null);
  const finessMap = finess
    ? (
        await recode(ctx, structures, {
          cog: cogOf(editions.finess)!,
          column: 'departement/commune',
          split: 'keep-on-code',
          splitReason: 'its establishments cannot be assigned',
          plm: 'both',
          overlap: 'keep-all',
        })
      ).map
    : null;
  const rppsMap = rpps
    ? (
        await recode(ctx, activites, {
          cog: cogOf(editions.rpps)!,
          column: 'Code commune (coord. structure)',
          split: 'keep-on-code',
          splitReason: 'its professionals cannot be assigned',
          plm: 'both',
          overlap: 'keep-all',
        })
      ).map
    : null;

  if (finess) {
    // Establishments published without a point: no geolocalisation record, or a projection neither named nor known for the territory.
    const {
      rows: [q],
    } = await ctx.db.query(
      `select count(*) filter (where g.nofinesset is null)::int as sans_position,
              count(*) filter (where g.nofinesset is not null and not exists (
                select 1 from spatial_ref_sys r where r.srid = coalesce(g.epsg, (select ${DEFAULT_EPSG} from (select s.code as c) k))))::int as sans_projection
         from ${structures.qualified} s left join ${geo.qualified} g on g.nofinesset = s.nofinesset`,
    );
    details.finess_sans_position = q.sans_position;
    details.finess_sans_projection = q.sans_projection;
    if (q.sans_projection)
      ctx.log(`${editions.finess.fichier}: ${q.sans_projection} position(s) in no known projection: published without a point`);
  }

  const { kept, editions: merged, millesime } = await mergePublishedEditions(ctx, editions);

  await ctx.publish(
    millesime,
    async (tx) => {
      await replaceSnapshot(tx, 'sante', millesime);
      let n = 0;
      if (finessMap) {
        await tx.query(`delete from sante_etablissement`);
        const r = await tx.query(
          `insert into sante_etablissement (nofinesset, code_commune, type, code_source, nofinessej, nom, categorie, libelle_categorie, categorie_agregee,
                 libelle_categorie_agregee, adresse, code_postal, libelle_acheminement, telephone, siret, date_ouverture, geom, source_coordonnees, fichier, ligne)
           select s.nofinesset, m.code_actuel, m.type, s.code, s.nofinessej, s.nom, s.categorie, s.libelle_categorie, s.categorie_agregee,
                  s.libelle_categorie_agregee, s.adresse, s.code_postal, s.libelle_acheminement, s.telephone, s.siret, s.date_ouverture,
                  case when p.srid is not null then st_transform(st_setsrid(st_makepoint(g.x, g.y), p.srid), 4326) end, g.source_coordonnees, s.fichier, s.line
             from ${structures.qualified} s join ${finessMap} m on m.code = s.code
             left join ${geo.qualified} g on g.nofinesset = s.nofinesset
             left join lateral (select r.srid from spatial_ref_sys r
                                 where g.x is not null and r.srid = coalesce(g.epsg, (select ${DEFAULT_EPSG} from (select s.code as c) k))) p on true`,
        );
        n += r.rowCount ?? 0;
      }
      if (rppsMap) {
        await tx.query(`delete from sante_profession`);
        await tx.query(`delete from sante_savoir_faire`);
        const a = await tx.query(
          `insert into sante_profession (code_commune, type, code_profession, libelle_profession, professionnels, liberaux)
           select m.code_actuel, m.type, s.profession, max(s.libelle_profession), count(distinct s.pp), count(distinct s.pp) filter (where s.mode = 'L')
             from ${activites.qualified} s join ${rppsMap} m on m.code = s.code
            group by m.code_actuel, m.type, s.profession`,
        );
        const b = await tx.query(
          `insert into sante_savoir_faire (code_commune, type, code_profession, libelle_profession, type_savoir_faire, code_savoir_faire, libelle_savoir_faire,
                                           professionnels, liberaux)
           select m.code_actuel, m.type, s.profession, max(s.libelle_profession), max(s.type_sf), s.code_sf, max(s.libelle_sf),
                  count(distinct s.pp), count(distinct s.pp) filter (where s.mode = 'L')
             from ${activites.qualified} s join ${rppsMap} m on m.code = s.code
            where s.code_sf is not null
            group by m.code_actuel, m.type, s.profession, s.code_sf`,
        );
        n += (a.rowCount ?? 0) + (b.rowCount ?? 0);
      }
      await writeSlices(
        tx,
        'sante',
        `select code, md5(string_agg(r, E'\\n' order by r)) as version from (
           select code_commune as code, concat_ws('|', 'e', nofinesset, nom, categorie, libelle_categorie, libelle_categorie_agregee, adresse,
                  code_postal, libelle_acheminement, telephone, siret, date_ouverture, st_astext(geom)) as r from sante_etablissement
           union all
           select code_commune, concat_ws('|', 'p', code_profession, libelle_profession, professionnels, liberaux) from sante_profession
           union all
           select code_commune, concat_ws('|', 's', code_profession, code_savoir_faire, libelle_savoir_faire, type_savoir_faire, professionnels, liberaux)
             from sante_savoir_faire) x group by code`,
      );
      return n;
    },
    { ...kept, ...details, editions: merged },
  );
}

export const pipeline: Pipeline = { source, order: 181, load, pack };
