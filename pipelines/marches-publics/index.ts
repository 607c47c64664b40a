import path from 'node:path';
import type { Readable } from 'node:stream';
import type { LocalFile, Pipeline, RunContext } from '../../src/engine/pipeline';
import { openText } from '../../src/engine/decode';
import { FormatError, MissingResourceError } from '../../src/engine/errors';
import { parseEdition } from '../../src/engine/edition';
import { replaceSnapshot } from '../../src/engine/snapshot';
import type { StagingRow, StagingTable } from '../../src/engine/staging';
import { stageCurrentCommunes } from '../../src/communes/recode';
import { stagePostcodes } from '../../src/communes/postcodes';
import { writeSlices } from '../../src/packs/slices';
import { readRecord } from './record';
import { source } from './source';
import { pack } from './pack';

// stream-json 3.x is an ES module: required lazily (Node ≥ 20.19 loads it from CommonJS), as pipelines/atmo does.
interface StreamJson {
  parser: (o?: { streamValues?: boolean }) => unknown;
  pick: (o: { filter: RegExp }) => unknown;
  streamValues: () => unknown;
  chain: (steps: unknown[]) => Readable;
}
function streamJson(): StreamJson {
  /* eslint-disable @typescript-eslint/no-require-imports */
  return {
    parser: require('stream-json').parser,
    pick: require('stream-json/filters/pick.js').pick,
    streamValues: require('stream-json/streamers/stream-values.js').streamValues,
    chain: require('stream-chain').chain,
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/** Records of both envelopes: `marches[i]`, `marches.marche[i]`, `marches.contrat-concession[i]`. */
const RECORD_PATH = /^marches\.((marche|contrat-concession)\.)?\d+$/;

const STAGING = {
  code: 'text', // the place of execution when it is a commune (code INSEE as written)
  lieu_cp: 'text', // the place of execution when it is a postcode
  uid: 'text',
  id: 'text',
  type: 'text',
  acheteur_siret: 'text',
  acheteur_nom: 'text',
  nature: 'text',
  objet: 'text',
  code_cpv: 'text',
  procedure: 'text',
  lieu_code: 'text',
  lieu_type: 'text',
  lieu_nom: 'text',
  duree_mois: 'numeric',
  date_notification: 'date',
  date_publication: 'date',
  montant: 'numeric',
  forme_prix: 'text',
  modif_objet: 'text',
  modif_date_publication: 'date',
  modif_duree_mois: 'numeric',
  modif_montant: 'numeric',
  modif_date_signature: 'date',
  modif_titulaire_id: 'text',
  modif_titulaire_type: 'text',
  modif_titulaire_nom: 'text',
  rang: 'int',
  titulaire_id: 'text',
  titulaire_type: 'text',
  titulaire_nom: 'text',
  fichier: 'text',
  line: 'bigint',
  raw: 'text',
};
type Col = keyof typeof STAGING;

/** What a file replaces: everything (`decp-global.json`), one year (`decp-2025.json`) or one month (`decp-2025-11.json`). */
function scopeOf(name: string): { year: number; month: number | null } | null {
  const m = /decp-(\d{4})(?:-(\d{2}))?\.json$/i.exec(name);
  return m ? { year: Number(m[1]), month: m[2] ? Number(m[2]) : null } : null;
}

/** Streams the records of the file into staging (one row per titulaire), never holding the file. */
async function stageFile(ctx: RunContext, file: LocalFile, staging: StagingTable<Col>): Promise<void> {
  const { parser, pick, streamValues, chain } = streamJson();
  const opened = await openText(file.path, { encoding: 'utf8', entry: /\.json$/i, lines: false, onBytes: (n) => ctx.progress.update(n) });
  ctx.progress.start(`load ${file.resource}`, opened.size, 'bytes');
  const label = opened.label;
  // Values packed only (no per-chunk value tokens): the same records; the parse alone takes 4× less CPU on
  // bench/socle's generated file (1.5 → 6.3 MB/s), staging 15,000 records 8.9 → 6.9 s.
  const records = chain([opened.text, parser({ streamValues: false }), pick({ filter: RECORD_PATH }), streamValues()]);
  opened.text.on('error', (e) => records.destroy(e));
  let n = 0;
  async function* rows(): AsyncGenerator<StagingRow<Col>> {
    try {
      for await (const { value } of records as AsyncIterable<{ value: unknown }>) {
        n++;
        ctx.counters.read++;
        const raw = JSON.stringify(value);
        const r = readRecord(value);
        if (typeof r === 'string') {
          await ctx.quarantine.add({ file: label, line: n, raw: raw.slice(0, 4000), reason: `record ${n}: ${r}` });
          continue;
        }
        ctx.counters.loaded++;
        const lieu = r.lieuCode?.toUpperCase() ?? null;
        const commune =
          lieu && r.lieuType && /commune|arrondissement/i.test(r.lieuType) && /^(\d{4,5}|2[AB]\d{3})$/.test(lieu)
            ? lieu.padStart(5, '0')
            : null;
        const m = r.modif;
        const base = {
          code: commune,
          lieu_cp: lieu && r.lieuType && /postal/i.test(r.lieuType) && /^\d{5}$/.test(lieu) ? lieu : null,
          uid: r.uid,
          id: r.id,
          type: r.type,
          acheteur_siret: r.acheteurSiret,
          acheteur_nom: r.acheteurNom,
          nature: r.nature,
          objet: r.objet,
          code_cpv: r.codeCpv,
          procedure: r.procedure,
          lieu_code: r.lieuCode,
          lieu_type: r.lieuType,
          lieu_nom: r.lieuNom,
          duree_mois: r.dureeMois,
          date_notification: r.dateNotification,
          date_publication: r.datePublication,
          montant: r.montant,
          forme_prix: r.formePrix,
          modif_objet: m?.objet,
          modif_date_publication: m?.datePublication,
          modif_duree_mois: m?.dureeMois,
          modif_montant: m?.montant,
          modif_date_signature: m?.dateSignature,
          modif_titulaire_id: m?.titulaires[0]?.id,
          modif_titulaire_type: m?.titulaires[0]?.type,
          modif_titulaire_nom: m?.titulaires[0]?.nom,
          fichier: label,
          line: n,
          raw: raw.slice(0, 2000),
        };
        if (!r.titulaires.length) yield { ...base, rang: 0 };
        for (const [i, t] of r.titulaires.entries())
          yield { ...base, rang: i + 1, titulaire_id: t.id, titulaire_type: t.type, titulaire_nom: t.nom };
      }
    } catch (e) {
      if (e instanceof FormatError) throw e;
      throw new FormatError(label, `invalid JSON after ${n} record(s): ${(e as Error).message}`);
    }
  }
  await staging.copyRows(ctx.db, rows());
  ctx.progress.stop();
  if (!n)
    throw new FormatError(label, 'no record: expected {"marches": [...]} or {"marches": {"marche": [...], "contrat-concession": [...]}}');
}

/** The edition: the resource's (last modification on data.gouv.fr, or --millesime), else the latest publication date of its records. */
async function editionOf(ctx: RunContext, file: LocalFile, staging: StagingTable<Col>): Promise<{ edition: string; from: string }> {
  if (file.edition) {
    parseEdition(file.edition);
    return { edition: file.edition, from: file.editionFrom ?? 'resource' };
  }
  const {
    rows: [r],
  } = await ctx.db.query(
    `select to_char(max(date_publication), 'YYYY-MM-DD') as d from ${staging.qualified} where date_publication <= current_date`,
  );
  if (!r?.d)
    throw new MissingResourceError(
      `${path.basename(file.path)}: no edition (no resource date, no --millesime, no datePublicationDonnees): give it with --millesime YYYY-MM-DD`,
    );
  ctx.log(`${path.basename(file.path)}: no resource date; edition = the latest datePublicationDonnees of its records, ${r.d}`);
  return { edition: r.d, from: 'content (latest datePublicationDonnees)' };
}

async function load(ctx: RunContext): Promise<void> {
  const file = ctx.files.get('decp');
  if (!file) throw new MissingResourceError('marches-publics: decp-global.json was not found (MIRROR_DIR, download or --file)');
  const staging = await ctx.staging('decp', STAGING);
  await stageFile(ctx, file, staging);
  ctx.checkpoint('after-staging');
  await ctx.db.query(`create index on ${staging.qualified} (uid, line)`);
  await ctx.db.query(`analyze ${staging.qualified}`);

  // A contract published twice (same uid = buyer SIRET + id): the latest publication is kept.
  const kept = `select uid, line from (select uid, line, row_number() over (partition by uid order by date_publication desc nulls last, line desc) as rang
                  from (select distinct uid, line, date_publication from ${staging.qualified}) x) y where rang = 1`;
  await ctx.rejectStaged(
    `select s.fichier as file, s.line, s.raw, 'record ' || s.line || ': uid ' || s.uid || ' again; the record kept is ' || k.line || ' (latest datePublicationDonnees)' as reason
       from ${staging.qualified} s join (${kept}) k on k.uid = s.uid
      where s.line <> k.line and s.rang = (select min(o.rang) from ${staging.qualified} o where o.uid = s.uid and o.line = s.line)`,
  );
  await ctx.db.query(`delete from ${staging.qualified} s using (${kept}) k where k.uid = s.uid and s.line <> k.line`);

  // Where the contract is executed, as today's communes: a code INSEE of any year (an arrondissement
  // municipal stands for itself and its city), else a postcode that one commune alone has.
  const current = await stageCurrentCommunes(ctx);
  const postcodes = await stagePostcodes(ctx);
  const lieux = await ctx.scratch('lieux', { uid: 'text', code_commune: 'text' });
  await ctx.db.query(
    `insert into ${lieux.qualified} (uid, code_commune)
     select distinct s.uid, x.code from ${staging.qualified} s
       cross join lateral (
         select c.code_actuel as code from ${current} c where c.code = s.code
         union select a.code from communes a where a.code = s.code and a.type = 'arrondissement-municipal'
         union select p.code from ${postcodes} p where s.code is null and p.code_postal = s.lieu_cp and p.nb = 1
         union select a.commune_parent from ${postcodes} p join communes a on a.code = p.code and a.type = 'arrondissement-municipal'
                where s.code is null and p.code_postal = s.lieu_cp and p.nb = 1) x
      where s.rang <= 1 and x.code is not null`,
  );
  const {
    rows: [places],
  } = await ctx.db.query(
    `select count(distinct uid) filter (where code is not null) as commune_ecrite, count(distinct uid) filter (where lieu_cp is not null) as code_postal,
            (select count(distinct uid) from ${lieux.qualified}) as placees
       from ${staging.qualified}`,
  );

  const { edition: millesime, from } = await editionOf(ctx, file, staging);
  ctx.setMillesime(millesime);
  const scope = scopeOf(path.basename(file.path));
  await ctx.publish(
    millesime,
    async (tx) => {
      await replaceSnapshot(tx, 'marches-publics', millesime);
      const within = scope
        ? `extract(year from date_notification) = ${scope.year}${scope.month ? ` and extract(month from date_notification) = ${scope.month}` : ''}`
        : 'true';
      await tx.query(
        `delete from marche_public_titulaire t using marche_public m where m.uid = t.uid and ${within.replaceAll('date_notification', 'm.date_notification')}`,
      );
      await tx.query(`delete from marche_public where ${within}`);
      // A yearly file replaces its year: contracts it moves elsewhere (a corrected date) are replaced too.
      await tx.query(`delete from marche_public_titulaire where uid in (select uid from ${staging.qualified})`);
      await tx.query(`delete from marche_public where uid in (select uid from ${staging.qualified})`);
      const { rowCount } = await tx.query(
        `insert into marche_public (uid, id, type, acheteur_siret, acheteur_siren, acheteur_nom, nature, objet, code_cpv, procedure, lieu_code, lieu_type, lieu_nom,
                                    lieu_communes, duree_mois, date_notification, date_publication, montant, forme_prix, modif_objet, modif_date_publication,
                                    modif_duree_mois, modif_montant, modif_date_signature, modif_titulaire_id, modif_titulaire_type, modif_titulaire_nom, titulaires, fichier, ligne)
         select s.uid, s.id, s.type, s.acheteur_siret, left(s.acheteur_siret, 9), s.acheteur_nom, s.nature, s.objet, s.code_cpv, s.procedure, s.lieu_code, s.lieu_type,
                s.lieu_nom, l.communes, s.duree_mois,
                s.date_notification, s.date_publication, s.montant, s.forme_prix, s.modif_objet, s.modif_date_publication, s.modif_duree_mois, s.modif_montant,
                s.modif_date_signature, s.modif_titulaire_id, s.modif_titulaire_type, s.modif_titulaire_nom, t.titulaires, s.fichier, s.line
           from ${staging.qualified} s
           -- grouped once and joined (a subquery per contract on the unindexed lieux was quadratic: 15,000 records 9.6 s, 30,000 30.6 s)
           left join (select uid, array_agg(code_commune order by code_commune) as communes from ${lieux.qualified} group by uid) l on l.uid = s.uid
           -- the titulaires as the packs list them, once per contract (sql/migrations/173_marche_public_titulaires.sql)
           left join (select uid, string_agg(concat_ws(' ', titulaire_type, titulaire_id, titulaire_nom), ' | ' order by rang) as titulaires
                        from ${staging.qualified} where rang >= 1 group by uid) t on t.uid = s.uid
          where s.rang <= 1`,
      );
      await tx.query(
        `insert into marche_public_titulaire (uid, rang, titulaire_id, titulaire_type, titulaire_nom)
         select uid, rang, titulaire_id, titulaire_type, titulaire_nom from ${staging.qualified} where rang >= 1`,
      );
      // Which contracts each commune's pack lists, one reason per contract: bought by the commune (its
      // SIREN), by its intercommunalité (the EPCI's SIREN), else executed there.
      await tx.query(`delete from marche_public_commune`);
      await tx.query(
        `insert into marche_public_commune (code_commune, uid, lien)
         select distinct on (code_commune, uid) code_commune, uid, lien from (
           select c.code as code_commune, m.uid, 'commune' as lien, 1 as ordre
             from marche_public m join communes c on c.siren = m.acheteur_siren and c.type = 'commune-actuelle'
           union all
           select em.commune, m.uid, 'intercommunalite', 2 from marche_public m join epci_membres em on em.epci = m.acheteur_siren
           union all
           select unnest(m.lieu_communes), m.uid, 'execution', 3 from marche_public m where m.lieu_communes is not null
         ) x order by code_commune, uid, ordre`,
      );
      await writeSlices(
        tx,
        'marches-publics',
        `select l.code_commune as code, md5(string_agg(concat_ws('|', l.lien, m.uid, m.objet, m.code_cpv, m.procedure, m.montant, m.date_notification, m.acheteur_nom,
                  m.modif_montant, m.modif_date_publication, m.lieu_code, m.titulaires), E'\\n' order by m.uid)) as version
           from marche_public_commune l join marche_public m on m.uid = l.uid group by l.code_commune`,
      );
      // Its tables are analyzed by the runner once this returns (every table a publication writes):
      // without statistics the per-commune pack query scanned the whole marche_public for each commune.
      return rowCount ?? 0;
    },
    {
      edition_lue: from,
      fichier: path.basename(file.path),
      portee: scope ? `${scope.year}${scope.month ? `-${String(scope.month).padStart(2, '0')}` : ''}` : 'tout',
      lieux: { commune_ecrite: Number(places.commune_ecrite), code_postal: Number(places.code_postal), placees: Number(places.placees) },
    },
  );
}

export const pipeline: Pipeline = { source, order: 100, load, pack };
