import path from 'node:path';
import type { LocalFile, Pipeline, RunContext } from '../../src/engine/pipeline';
import { loadCsv, reject } from '../../src/engine/load-csv';
import { columnFinder, foldName, headerLine } from '../../src/engine/columns';
import { MissingResourceError } from '../../src/engine/errors';
import { formatEdition, parseEdition } from '../../src/engine/edition';
import { mergePublishedEditions, replaceSnapshot, type FileEdition } from '../../src/engine/snapshot';
import type { StagingTable } from '../../src/engine/staging';
import { normalizeCommuneCode } from '../../src/communes/codes';
import { recode } from '../../src/communes/recode';
import { writeSlices } from '../../src/packs/slices';
import { CellError, SCHOOL_TYPES, count, decimal, ipsColumns, isoDate } from './read';
import { source } from './source';
import { pack } from './pack';

const ANNUAIRE = {
  code: 'text',
  uai: 'text',
  nom: 'text',
  type_etablissement: 'text',
  nature: 'text',
  statut: 'text',
  contrat_prive: 'text',
  adresse: 'text',
  code_postal: 'text',
  libelle_commune: 'text',
  education_prioritaire: 'text',
  etat: 'text',
  date_ouverture: 'date',
  date_maj: 'date',
  lat: 'float8',
  lon: 'float8',
  x: 'float8',
  y: 'float8',
  epsg: 'int',
  fichier: 'text',
  line: 'bigint',
  raw: 'text',
};
const IPS = {
  code: 'text',
  rentree: 'text',
  niveau: 'text',
  uai: 'text',
  nom: 'text',
  secteur: 'text',
  type_lycee: 'text',
  effectifs: 'numeric',
  ips: 'numeric',
  ecart_type: 'numeric',
  ips_voie_gt: 'numeric',
  ips_voie_pro: 'numeric',
  fichier: 'text',
  line: 'bigint',
  raw: 'text',
};
const NIVEAU: Record<string, 'ecole' | 'college' | 'lycee'> = { 'ips-ecoles': 'ecole', 'ips-colleges': 'college', 'ips-lycees': 'lycee' };
const UAI = /^\d{7}[A-Z]$/;

/** What a mapper throws about one cell becomes the row's quarantine reason. */
function cellReject(e: unknown) {
  if (e instanceof CellError) return reject(e.message, e.column);
  return reject((e as Error).message);
}

/**
 * The annuaire: schools, collèges, lycées and EREA are staged; other establishments (services,
 * médico-social, information and orientation centres) are read and counted, not staged. Returns
 * the latest `date_maj_ligne` of the file (its extract date) and what was left out, by type.
 */
async function stageAnnuaire(ctx: RunContext, file: LocalFile, staging: StagingTable<keyof typeof ANNUAIRE>) {
  let latest = '';
  const horsChamp: Record<string, number> = {};
  let col: Record<string, number> | undefined;
  await loadCsv(ctx, {
    file,
    encoding: 'auto',
    dialect: { delimiter: ';' },
    staging,
    required: ['Identifiant_de_l_etablissement', 'Type_etablissement', 'Code_commune'] as const,
    row: (get, line, values, header) => {
      if (!col) {
        const find = columnFinder(header);
        col = {
          nom: find('Nom_etablissement'),
          statut: find('Statut_public_prive'),
          a1: find('Adresse_1'),
          a2: find('Adresse_2'),
          cp: find('Code_postal', 'Code postal'),
          commune: find('Nom_commune'),
          nature: find('libelle_nature'),
          contrat: find('Type_contrat_prive'),
          ep: find('Appartenance_Education_Prioritaire'),
          etat: find('etat'),
          ouverture: find('date_ouverture'),
          maj: find('date_maj_ligne'),
          lat: find('latitude'),
          lon: find('longitude'),
          x: find('coordX_origine', 'coordonnee_X'),
          y: find('coordY_origine', 'coordonnee_Y'),
          epsg: find('epsg_origine', 'epsg'),
        };
      }
      const opt = (k: string) => (col![k] >= 0 ? (values[col![k]] ?? '').trim() : '');
      const raw = values.join(';');
      let maj: string | null;
      try {
        maj = isoDate('date_maj_ligne', opt('maj'));
      } catch (e) {
        return cellReject(e);
      }
      if (maj && maj > latest) latest = maj;
      const type = SCHOOL_TYPES[foldName(get('Type_etablissement'))];
      if (!type) {
        const t = get('Type_etablissement').trim() || '(vide)';
        horsChamp[t] = (horsChamp[t] ?? 0) + 1;
        return null;
      }
      const uai = get('Identifiant_de_l_etablissement').trim().toUpperCase();
      if (!UAI.test(uai)) return reject(`not a UAI (7 digits and a letter): '${uai}'`, 'Identifiant_de_l_etablissement');
      let code: string;
      try {
        code = normalizeCommuneCode(get('Code_commune'));
      } catch (e) {
        return reject((e as Error).message, 'Code_commune');
      }
      try {
        const lat = decimal('latitude', opt('lat'));
        const lon = decimal('longitude', opt('lon'));
        if (lat !== null && lon !== null && (Math.abs(lat) > 90 || Math.abs(lon) > 180))
          return reject(`latitude/longitude out of range: ${lat}, ${lon}`, 'latitude');
        const epsg = /(\d{4,5})\s*$/.exec(opt('epsg'))?.[1];
        return {
          code,
          uai,
          nom: opt('nom') || null,
          type_etablissement: type,
          nature: opt('nature') || null,
          statut: opt('statut') || null,
          contrat_prive: opt('contrat') || null,
          adresse: [opt('a1'), opt('a2')].filter(Boolean).join(', ') || null,
          code_postal: opt('cp') || null,
          libelle_commune: opt('commune') || null,
          education_prioritaire: opt('ep') || null,
          etat: opt('etat') || null,
          date_ouverture: isoDate('date_ouverture', opt('ouverture')),
          date_maj: maj,
          lat,
          lon,
          x: decimal(col!.x >= 0 ? header[col!.x] : 'x', opt('x')),
          y: decimal(col!.y >= 0 ? header[col!.y] : 'y', opt('y')),
          epsg: epsg ? Number(epsg) : null,
          line,
          raw,
        };
      } catch (e) {
        return cellReject(e);
      }
    },
  });
  return { latest: latest || null, horsChamp };
}

/** One IPS file (écoles, collèges or lycées); returns the rentrées it holds. */
async function stageIps(ctx: RunContext, file: LocalFile, staging: StagingTable<keyof typeof IPS>): Promise<string[]> {
  const niveau = NIVEAU[file.resource];
  const rentrees = new Set<string>();
  // The columns are checked on the header before any row: a file without them fails whole, naming them.
  const col = ipsColumns(
    path.basename(file.path),
    (await headerLine(file.path)).split(';').map((h) => h.trim()),
  );
  await loadCsv(ctx, {
    file,
    encoding: 'auto',
    dialect: { delimiter: ';' },
    staging,
    required: [] as const,
    row: (_get, line, values, header) => {
      const at = (i: number) => (i >= 0 ? (values[i] ?? '').trim() : '');
      const rentree = at(col.rentree);
      if (!/^\d{4}-\d{4}$/.test(rentree) || Number(rentree.slice(5)) !== Number(rentree.slice(0, 4)) + 1)
        return reject(`not a rentrée YYYY-YYYY: '${rentree}'`, header[col.rentree]);
      const uai = at(col.uai).toUpperCase();
      if (!UAI.test(uai)) return reject(`not a UAI: '${uai}'`, header[col.uai]);
      let code: string;
      try {
        code = normalizeCommuneCode(at(col.commune));
      } catch (e) {
        return reject((e as Error).message, header[col.commune]);
      }
      const name = (i: number) => header[i] ?? '';
      try {
        rentrees.add(rentree);
        return {
          code,
          rentree,
          niveau,
          uai,
          nom: at(col.nom) || null,
          secteur: at(col.secteur) || null,
          type_lycee: at(col.typeLycee) || null,
          effectifs: count(name(col.effectifs), at(col.effectifs)),
          ips: decimal(name(col.ips), at(col.ips), true),
          ecart_type: decimal(name(col.ecartType), at(col.ecartType), true),
          ips_voie_gt: decimal(name(col.ipsGt), at(col.ipsGt), true),
          ips_voie_pro: decimal(name(col.ipsPro), at(col.ipsPro), true),
          line,
          raw: values.join(';'),
        };
      } catch (e) {
        return cellReject(e);
      }
    },
  });
  return [...rentrees].sort();
}

async function load(ctx: RunContext): Promise<void> {
  const annuaire = ctx.files.get('annuaire');
  const ipsFiles = Object.keys(NIVEAU)
    .map((r) => ctx.files.get(r))
    .filter((f): f is LocalFile => !!f);
  if (!annuaire && !ipsFiles.length)
    throw new MissingResourceError(
      'education: neither fr-en-annuaire-education.csv nor an IPS file (fr-en-ips-ecoles-ap2022.csv…) was found (MIRROR_DIR, download or --file)',
    );
  const editions: Record<string, FileEdition> = {};
  const details: Record<string, unknown> = {};

  const schools = await ctx.staging('annuaire', ANNUAIRE);
  if (annuaire) {
    const { latest, horsChamp } = await stageAnnuaire(ctx, annuaire, schools);
    const fichier = path.basename(annuaire.path);
    // The file states no edition: the latest update of a row is the day of the extract (an operator may state it).
    const stated = annuaire.editionFrom?.startsWith('operator') ? annuaire.edition : null;
    const edition = stated ?? latest;
    if (!edition)
      throw new MissingResourceError(`${fichier}: no date_maj_ligne in the file and no --millesime: the date of the extract is unknown`);
    editions.annuaire = {
      edition: formatEdition(parseEdition(edition)),
      from: stated ? 'operator' : 'content (latest date_maj_ligne)',
      fichier,
    };
    details.hors_champ = horsChamp;
    const out = Object.values(horsChamp).reduce((a, b) => a + b, 0);
    if (out) ctx.log(`${fichier}: ${out} establishment(s) other than schools, collèges, lycées and EREA read and left out`);
  }

  const ips = await ctx.staging('ips', IPS);
  const ipsRentrees = new Map<string, string[]>();
  for (const f of ipsFiles) {
    const rentrees = await stageIps(ctx, f, ips);
    ipsRentrees.set(NIVEAU[f.resource], rentrees);
    const last = rentrees.at(-1);
    if (last)
      editions[f.resource] = { edition: `rentree-${last.slice(0, 4)}`, from: 'content (rentree_scolaire)', fichier: path.basename(f.path) };
  }
  ctx.checkpoint('after-staging');

  // One row per UAI (annuaire) and per UAI × rentrée (IPS): a later repeat is quarantined.
  const dupes = (t: string, key: string) =>
    `select ctid, fichier, line, raw, first_value(line) over w as premiere, row_number() over w as rang from ${t} window w as (partition by ${key} order by fichier, line)`;
  for (const [t, key] of [
    [schools.qualified, 'uai'],
    [ips.qualified, 'niveau, rentree, uai'],
  ]) {
    await ctx.rejectStaged(
      `select fichier as file, line, raw, 'same establishment as line ' || premiere || ' (${key})' as reason from (${dupes(t, key)}) d where rang > 1`,
    );
    await ctx.db.query(`delete from ${t} where ctid in (select ctid from (${dupes(t, key)}) d where rang > 1)`);
  }

  // Re-coding: the annuaire's codes are those of its day (COG of its year); an IPS rentrée is
  // published the following year, in that year's COG. Schools are objects: each is listed under
  // its current commune, and under both its arrondissement and its city in Paris, Lyon, Marseille.
  const cogAnnuaire = editions.annuaire ? Number(editions.annuaire.edition.slice(0, 4)) : null;
  const schoolMap = cogAnnuaire
    ? (
        await recode(ctx, schools, {
          cog: cogAnnuaire,
          column: 'Code_commune',
          split: 'keep-on-code',
          splitReason: 'its schools cannot be assigned',
          plm: 'both',
          overlap: 'keep-all',
        })
      ).map
    : null;
  const ipsMaps: { rentree: string; map: string }[] = [];
  for (const rentree of [...new Set([...ipsRentrees.values()].flat())].sort()) {
    const { map } = await recode(ctx, ips, {
      cog: Number(rentree.slice(0, 4)) + 1,
      column: 'code_insee_de_la_commune',
      split: 'keep-on-code',
      plm: 'both',
      overlap: 'keep-all',
      where: `s.rentree = '${rentree}'`,
    });
    ipsMaps.push({ rentree, map });
  }

  const { kept, editions: merged, millesime } = await mergePublishedEditions(ctx, editions);

  await ctx.publish(
    millesime,
    async (tx) => {
      await replaceSnapshot(tx, 'education', millesime);
      let n = 0;
      if (schoolMap) {
        await tx.query(`delete from education_etablissement`);
        const r = await tx.query(
          `insert into education_etablissement (uai, code_commune, type, code_source, nom, type_etablissement, nature, statut, contrat_prive, adresse,
                 code_postal, libelle_commune, education_prioritaire, etat, date_ouverture, date_maj, latitude, longitude, geom, fichier, ligne)
           select s.uai, m.code_actuel, m.type, s.code, s.nom, s.type_etablissement, s.nature, s.statut, s.contrat_prive, s.adresse,
                  s.code_postal, s.libelle_commune, s.education_prioritaire, s.etat, s.date_ouverture, s.date_maj,
                  coalesce(s.lat, st_y(p.g)), coalesce(s.lon, st_x(p.g)), coalesce(st_setsrid(st_makepoint(s.lon, s.lat), 4326), p.g), s.fichier, s.line
             from ${schools.qualified} s join ${schoolMap} m on m.code = s.code
             left join lateral (select case when s.lat is null and s.x is not null and s.y is not null and s.epsg is not null
                                            then st_transform(st_setsrid(st_makepoint(s.x, s.y), s.epsg), 4326) end as g) p on true`,
        );
        n += r.rowCount ?? 0;
      }
      for (const [niveau, rentrees] of ipsRentrees)
        await tx.query(`delete from education_ips where niveau = $1 and rentree = any($2::text[])`, [niveau, rentrees]);
      for (const { rentree, map } of ipsMaps) {
        const r = await tx.query(
          `insert into education_ips (rentree, niveau, uai, code_commune, type, code_source, nom, secteur, type_lycee, effectifs, ips, ecart_type,
                 ips_voie_gt, ips_voie_pro, fichier, ligne)
           select s.rentree, s.niveau, s.uai, m.code_actuel, m.type, s.code, s.nom, s.secteur, s.type_lycee, s.effectifs, s.ips, s.ecart_type,
                  s.ips_voie_gt, s.ips_voie_pro, s.fichier, s.line
             from ${ips.qualified} s join ${map} m on m.code = s.code where s.rentree = $1`,
          [rentree],
        );
        n += r.rowCount ?? 0;
      }
      // Each commune's slice: a digest of the rows its pack shows, so only the packs whose schools changed are rebuilt.
      await writeSlices(
        tx,
        'education',
        `select code, md5(string_agg(r, E'\\n' order by r)) as version from (
           select code_commune as code, concat_ws('|', 'a', uai, nom, type_etablissement, nature, statut, contrat_prive, adresse, code_postal,
                  libelle_commune, education_prioritaire, etat, date_ouverture, date_maj, latitude, longitude) as r from education_etablissement
           union all
           select code_commune, concat_ws('|', 'i', rentree, niveau, uai, nom, secteur, type_lycee, effectifs, ips, ecart_type, ips_voie_gt, ips_voie_pro)
             from education_ips) x group by code`,
      );
      return n;
    },
    // Details of the resources not loaded now (the annuaire's COG and what it left out) stay as published.
    { ...kept, ...(cogAnnuaire ? { cog: cogAnnuaire } : {}), editions: merged, ...details },
  );
}

export const pipeline: Pipeline = { source, order: 180, load, pack };
