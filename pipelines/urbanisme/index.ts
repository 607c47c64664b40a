import path from 'node:path';
import type { LocalFile, Pipeline, RunContext } from '../../src/engine/pipeline';
import { FormatError, MissingResourceError } from '../../src/engine/errors';
import { formatEdition, parseEdition } from '../../src/engine/edition';
import { mergePublishedEditions, replaceSnapshot, type FileEdition } from '../../src/engine/snapshot';
import type { StagingTable } from '../../src/engine/staging';
import { stageFeatures } from '../../src/geo/features';
import { recode } from '../../src/communes/recode';
import { writeSlices } from '../../src/packs/slices';
import { wfsFooter } from './wfs';
import { source } from './source';
import { pack } from './pack';

const COMMUNE = `'^([0-9]{5}|2[AB][0-9]{3})$'`;

const MUNICIPALITY = { code: 'text', nom: 'text', is_rnu: 'boolean', is_deleted: 'boolean', fichier: 'text', line: 'bigint', raw: 'text' };
const DOCUMENT = {
  code: 'text',
  grid_name: 'text',
  grid_title: 'text',
  nom: 'text',
  du_type: 'text',
  gpu_doc_id: 'text',
  gpu_status: 'text',
  gpu_timestamp: 'text',
  partition: 'text',
  date_approbation: 'date',
  fichier: 'text',
  line: 'bigint',
  raw: 'text',
};
const ZONAGE = {
  code: 'text',
  partition: 'text',
  gpu_doc_id: 'text',
  libelle: 'text',
  libelong: 'text',
  typezone: 'text',
  destdomi: 'text',
  urlfic: 'text',
  datvalid: 'text',
  geom: 'geometry',
  fichier: 'text',
  line: 'bigint',
  raw: 'text',
};

/** A JSON text property, trimmed, empty as null: `prop('insee')` over the staged feature `j`. */
const prop = (k: string) => `nullif(trim(j->'properties'->>'${k}'), '')`;
const bool = (k: string) => `case lower(j->'properties'->>'${k}') when 'true' then true when 'false' then false end`;

/**
 * Streams a layer's features into a scratch table, then parses them in SQL into `staging`
 * (`select` gives the staging columns from `j`, the feature as jsonb). Every feature counts as
 * loaded; the caller's checks then quarantine the bad ones. Refuses a file that is one page of a
 * larger WFS answer.
 */
async function stageLayer<C extends string>(
  ctx: RunContext,
  file: LocalFile,
  staging: StagingTable<C>,
  select: Record<string, string>,
): Promise<{ fichier: string; date: string | null; count: number }> {
  const fichier = path.basename(file.path);
  const footer = wfsFooter(file.path);
  if (footer.numberMatched !== null && footer.numberReturned !== null && footer.numberReturned < footer.numberMatched)
    throw new FormatError(
      fichier,
      `one page of a WFS answer: ${footer.numberReturned} of ${footer.numberMatched} features (numberReturned < numberMatched). ` +
        `Fetch every page (STARTINDEX) into one FeatureCollection, or a larger COUNT`,
    );
  const staged = await stageFeatures(ctx, file, `f_${file.resource}`);
  ctx.counters.loaded += staged.count;
  await ctx.rejectStaged(
    `select $1::text as file, line, left(feature, 2000) as raw, 'feature ' || line || ' is not valid JSON' as reason
       from ${staged.table} where geo_try_jsonb(feature) is null`,
    [fichier],
  );
  const cols = Object.keys(select);
  await ctx.db.query(
    `insert into ${staging.qualified} (${cols.join(', ')}, fichier, line, raw)
     select ${cols.map((c) => select[c]).join(', ')}, $1, line, left(feature, 2000)
       from (select line, feature, geo_try_jsonb(feature) as j from ${staged.table}) s where j is not null`,
    [fichier],
  );
  if (footer.numberReturned !== null && footer.numberReturned !== staged.count)
    ctx.log(`${fichier}: numberReturned says ${footer.numberReturned}, the file holds ${staged.count} features`);
  return { fichier, date: footer.date, count: staged.count };
}

/** The edition of one file: --millesime, else the WFS answer's timeStamp, else the latest date its features hold (stated so). */
async function editionOf(
  ctx: RunContext,
  file: LocalFile,
  footerDate: string | null,
  latest: () => Promise<string | null>,
): Promise<FileEdition> {
  const fichier = path.basename(file.path);
  if (file.editionFrom?.startsWith('operator') && file.edition)
    return { edition: formatEdition(parseEdition(file.edition)), from: file.editionFrom, fichier };
  if (footerDate) return { edition: footerDate, from: 'content (timeStamp of the WFS answer)', fichier };
  const d = await latest();
  if (d) {
    ctx.log(`${fichier}: no timeStamp in the file; edition = the latest date its features hold, ${d}`);
    return { edition: d, from: 'content (latest date of its features)', fichier };
  }
  throw new MissingResourceError(
    `${fichier}: no timeStamp in the file and no date in its features: give the date of the extract with --millesime YYYY-MM-DD`,
  );
}

async function load(ctx: RunContext): Promise<void> {
  const files = { municipality: ctx.files.get('municipality'), document: ctx.files.get('document'), zonage: ctx.files.get('zonage') };
  if (!files.municipality && !files.document && !files.zonage)
    throw new MissingResourceError(
      'urbanisme: none of wfs_du-municipality.json, wfs_du-document.json, wfs_du-zone_urba.json was found (MIRROR_DIR, download or --file)',
    );
  const editions: Record<string, FileEdition> = {};
  const details: Record<string, unknown> = {};

  const muni = await ctx.staging('municipality', MUNICIPALITY);
  if (files.municipality) {
    const r = await stageLayer(ctx, files.municipality, muni, {
      code: `upper(${prop('insee')})`,
      nom: prop('name'),
      is_rnu: bool('is_rnu'),
      is_deleted: bool('is_deleted'),
    });
    editions.municipality = await editionOf(ctx, files.municipality, r.date, async () => null);
    await ctx.rejectStaged(
      `select fichier as file, line, raw, 'feature ' || line || ': insee ' || coalesce('''' || code || '''', 'missing') || ' is not a code INSEE' as reason
         from ${muni.qualified} where code is null or code !~ ${COMMUNE}`,
    );
    await ctx.db.query(`delete from ${muni.qualified} where code is null or code !~ ${COMMUNE}`);
  }

  const docs = await ctx.staging('document', DOCUMENT);
  if (files.document) {
    const r = await stageLayer(ctx, files.document, docs, {
      code: `case when upper(${prop('grid_name')}) ~ ${COMMUNE} then upper(${prop('grid_name')}) end`,
      grid_name: `upper(${prop('grid_name')})`,
      grid_title: prop('grid_title'),
      nom: prop('name'),
      du_type: prop('du_type'),
      gpu_doc_id: prop('gpu_doc_id'),
      gpu_status: prop('gpu_status'),
      gpu_timestamp: prop('gpu_timestamp'),
      partition: prop('partition'),
      date_approbation: `try_date(substring(${prop('name')} from '_([0-9]{8})(?:_|$)'))`,
    });
    editions.document = await editionOf(ctx, files.document, r.date, async () => {
      const { rows } = await ctx.db.query(
        `select to_char(max(try_date(substring(gpu_timestamp from '^([0-9]{4}-[0-9]{2}-[0-9]{2})'))), 'YYYY-MM-DD') as d from ${docs.qualified}`,
      );
      return rows[0]?.d ?? null;
    });
    const dup = `select ctid, fichier, line, raw, first_value(line) over w as premiere, row_number() over w as rang from ${docs.qualified}
                  where gpu_doc_id is not null window w as (partition by gpu_doc_id order by line)`;
    await ctx.rejectStaged(
      `select fichier as file, line, raw, 'feature ' || line || case when gpu_doc_id is null then ': no gpu_doc_id'
              else ': grid_name ' || coalesce('''' || grid_name || '''', 'missing') || ' is neither a code INSEE nor a SIREN' end as reason
         from ${docs.qualified} where gpu_doc_id is null or grid_name is null or (grid_name !~ ${COMMUNE} and grid_name !~ '^[0-9]{9}$')`,
    );
    await ctx.db.query(
      `delete from ${docs.qualified} where gpu_doc_id is null or grid_name is null or (grid_name !~ ${COMMUNE} and grid_name !~ '^[0-9]{9}$')`,
    );
    await ctx.rejectStaged(
      `select fichier as file, line, raw, 'same gpu_doc_id as feature ' || premiere as reason from (${dup}) d where rang > 1`,
    );
    await ctx.db.query(`delete from ${docs.qualified} where ctid in (select ctid from (${dup}) d where rang > 1)`);
    // A SIREN that is neither a current EPCI nor a commune: the communes the document covers are not known.
    await ctx.rejectStaged(
      `select s.fichier as file, s.line, s.raw, 'feature ' || s.line || ': grid_name ' || s.grid_name || ' is the SIREN of no current EPCI or commune' as reason
         from ${docs.qualified} s where s.grid_name ~ '^[0-9]{9}$'
          and not exists (select 1 from epci_membres e where e.epci = s.grid_name)
          and not exists (select 1 from communes c where c.siren = s.grid_name and c.type = 'commune-actuelle')`,
    );
    await ctx.db.query(
      `delete from ${docs.qualified} s where s.grid_name ~ '^[0-9]{9}$'
          and not exists (select 1 from epci_membres e where e.epci = s.grid_name)
          and not exists (select 1 from communes c where c.siren = s.grid_name and c.type = 'commune-actuelle')`,
    );
  }

  const zones = await ctx.staging('zonage', ZONAGE);
  if (files.zonage) {
    const r = await stageLayer(ctx, files.zonage, zones, {
      code: `upper(${prop('insee')})`,
      partition: prop('partition'),
      gpu_doc_id: prop('gpu_doc_id'),
      libelle: prop('libelle'),
      libelong: prop('libelong'),
      typezone: prop('typezone'),
      destdomi: prop('destdomi'),
      urlfic: prop('urlfic'),
      datvalid: prop('datvalid'),
      geom: `geo_multipolygon(geo_try_geojson(j->>'geometry'))`,
    });
    editions.zonage = await editionOf(ctx, files.zonage, r.date, async () => {
      const { rows } = await ctx.db.query(`select to_char(max(try_date(datvalid)), 'YYYY-MM-DD') as d from ${zones.qualified}`);
      return rows[0]?.d ?? null;
    });
    await ctx.rejectStaged(
      `select fichier as file, line, raw, 'feature ' || line || ': no valid polygon geometry' as reason from ${zones.qualified} where geom is null`,
    );
    await ctx.db.query(`delete from ${zones.qualified} where geom is null`);
  }
  ctx.checkpoint('after-staging');

  const { kept, editions: merged, millesime } = await mergePublishedEditions(ctx, editions);
  const cog = Number(millesime.slice(0, 4));

  // Codes INSEE of the extract's day: re-coded to the current communes.
  const opts = { cog, split: 'keep-on-code', plm: 'keep', overlap: 'keep-all' } as const;
  const muniMap = files.municipality ? (await recode(ctx, muni, { ...opts, column: 'insee' })).map : null;
  const docMap = files.document ? (await recode(ctx, docs, { ...opts, column: 'grid_name', where: 's.code is not null' })).map : null;
  const zoneMap = files.zonage ? (await recode(ctx, zones, { ...opts, column: 'insee', where: 's.code is not null' })).map : null;

  await ctx.publish(
    millesime,
    async (tx) => {
      await replaceSnapshot(tx, 'urbanisme', millesime);
      let n = 0;
      if (muniMap) {
        await tx.query(`delete from urbanisme_municipalite`);
        const r = await tx.query(
          `insert into urbanisme_municipalite (code_commune, type, nom, est_rnu, codes_sources)
           select m.code_actuel, 'commune-actuelle', min(s.nom) filter (where s.code = m.code_actuel),
                  -- A commune nouvelle is under the RNU when every code of it still alive in the layer says so.
                  coalesce(bool_and(s.is_rnu) filter (where s.is_deleted is not true), bool_and(s.is_rnu)), array_agg(s.code order by s.code)
             from ${muni.qualified} s join ${muniMap} m on m.code = s.code group by m.code_actuel`,
        );
        // Arrondissements: their city's.
        await tx.query(
          `insert into urbanisme_municipalite (code_commune, type, nom, est_rnu, codes_sources)
           select a.code, 'arrondissement-municipal', a.nom, u.est_rnu, u.codes_sources
             from communes a join urbanisme_municipalite u on u.code_commune = a.commune_parent
            where a.type = 'arrondissement-municipal' on conflict do nothing`,
        );
        n += r.rowCount ?? 0;
      }
      if (docMap) {
        await tx.query(`delete from urbanisme_document`);
        const cols = `gpu_doc_id, nom, du_type, date_approbation, gpu_status, gpu_timestamp, grid_name, grid_title, partition, fichier, ligne`;
        const vals = `s.gpu_doc_id, s.nom, s.du_type, s.date_approbation, s.gpu_status, s.gpu_timestamp, s.grid_name, s.grid_title, s.partition, s.fichier, s.line`;
        const r = await tx.query(
          `insert into urbanisme_document (code_commune, type, rattachement, ${cols})
           select distinct on (code_commune, gpu_doc_id) * from (
             select m.code_actuel as code_commune, 'commune-actuelle' as type, 'code INSEE' as rattachement, ${vals}
               from ${docs.qualified} s join ${docMap} m on m.code = s.code
             union all
             select e.commune, 'commune-actuelle', 'membre de l''EPCI ' || s.grid_name, ${vals}
               from ${docs.qualified} s join epci_membres e on e.epci = s.grid_name
             union all
             select c.code, 'commune-actuelle', 'SIREN de la commune', ${vals}
               from ${docs.qualified} s join communes c on c.siren = s.grid_name and c.type = 'commune-actuelle'
              where s.grid_name ~ '^[0-9]{9}$'
           ) x order by code_commune, gpu_doc_id, rattachement`,
        );
        await tx.query(
          `insert into urbanisme_document (code_commune, type, rattachement, ${cols})
           select a.code, 'arrondissement-municipal', 'document de ' || d.code_commune, ${cols.replace(/(\w+)/g, 'd.$1')}
             from urbanisme_document d join communes a on a.commune_parent = d.code_commune and a.type = 'arrondissement-municipal'
            where d.type = 'commune-actuelle' on conflict do nothing`,
        );
        n += r.rowCount ?? 0;
      }
      if (zoneMap) {
        await tx.query(`delete from urbanisme_zonage`);
        const r = await tx.query(
          `insert into urbanisme_zonage (code_commune, type, partition, gpu_doc_id, libelle, libelong, typezone, destdomi, urlfic, geom, fichier, ligne)
           select m.code_actuel, 'commune-actuelle', s.partition, s.gpu_doc_id, s.libelle, s.libelong, s.typezone, s.destdomi, s.urlfic, s.geom, s.fichier, s.line
             from ${zones.qualified} s join ${zoneMap} m on m.code = s.code`,
        );
        n += r.rowCount ?? 0;
        const {
          rows: [u],
        } = await tx.query(`select count(*)::int as n from ${zones.qualified} where code is null`);
        details.zones_sans_commune = u.n;
        if (u.n) ctx.log(`${editions.zonage.fichier}: ${u.n} zone(s) without insee, placed in no commune`);
      }
      await writeSlices(
        tx,
        'urbanisme',
        `select code, md5(string_agg(r, E'\\n' order by r)) as version from (
           select code_commune as code, concat_ws('|', 'c', regime, gpu_doc_id, nom_document, date_approbation, est_rnu, documents) as r from urbanisme_commune
           union all
           select code_commune, concat_ws('|', 'd', gpu_doc_id, nom, du_type, date_approbation, gpu_status, grid_name, grid_title, partition) from urbanisme_document
           union all
           select code_commune, concat_ws('|', 'z', fichier, ligne, libelle, libelong, typezone, destdomi, urlfic, md5(st_asbinary(geom))) from urbanisme_zonage
         ) x group by code`,
      );
      return n;
    },
    { ...kept, ...details, editions: merged },
  );
}

export const pipeline: Pipeline = { source, order: 183, load, pack };
