import path from 'node:path';
import { FormatError } from '../../src/engine/errors';
import type { Pipeline, RunContext } from '../../src/engine/pipeline';
import { loadCsv, reject } from '../../src/engine/load-csv';
import { isCommuneCode } from '../../src/communes/codes';
import type { StagingRow } from '../../src/engine/staging';
import { source } from './source';
import { PackageCommune, PackageEpci, packageInfo, readPackageArray } from './embedded';
import { warmZoneContours } from '../../src/geo/zone-geometry';
import { INSEE_URI_RESOURCES, publishInseeUris, stageInseeUris } from './insee-uris';

/**
 * Loads the referential from the package (always) and, when present, the INSEE COG communes
 * and movements tables (history used to re-code older vintages), then publishes everything
 * and rebuilds `commune_correspondance` in one transaction.
 */
/** The communes of the package, as staged. */
const COMMUNES = {
  code: 'text',
  type: 'text',
  nom: 'text',
  departement: 'text',
  region: 'text',
  arrondissement: 'text',
  zone: 'text',
  siren: 'text',
  codes_postaux: 'text[]',
  population: 'int',
  commune_parent: 'text',
  anciens_codes: 'text[]',
  tncc: 'int',
};

async function load(ctx: RunContext): Promise<void> {
  const pkg = packageInfo();
  ctx.setMillesime(String(pkg.cog));

  // 1. The package: communes (all four types), EPCI and members, départements, régions, arrondissements.
  // The referential is what other sources are re-coded against: its tables are work tables
  // (ctx.scratch), never re-coded, and a rejected row is quarantined as it is read.
  const communes = await ctx.scratch('communes', COMMUNES);
  const pgArray = (a: string[] | undefined) => `{${(a ?? []).map((s) => `"${s}"`).join(',')}}`;
  const communeRows: StagingRow<keyof typeof COMMUNES>[] = [];
  for (const [i, raw] of readPackageArray('communes').entries()) {
    ctx.counters.read++;
    const parsed = PackageCommune.safeParse(raw);
    if (!parsed.success || !isCommuneCode(parsed.data.code)) {
      await ctx.quarantine.add({
        file: '@etalab/decoupage-administratif/data/communes.json',
        line: i + 1,
        raw: JSON.stringify(raw),
        reason: parsed.success ? `invalid commune code '${parsed.data.code}'` : parsed.error.issues[0].message,
      });
      continue;
    }
    const c = parsed.data;
    ctx.counters.loaded++;
    communeRows.push({
      code: c.code,
      type: c.type,
      nom: c.nom,
      departement: c.departement,
      region: c.region,
      arrondissement: c.arrondissement,
      zone: c.zone,
      siren: c.siren,
      codes_postaux: pgArray(c.codesPostaux),
      population: c.population ?? null,
      commune_parent: c.chefLieu ?? c.commune ?? null,
      anciens_codes: pgArray(c.anciensCodes),
      tncc: c.typeLiaison ?? null,
    });
  }
  await communes.copyRows(ctx.db, communeRows);

  const epci = await ctx.scratch('epci', { code: 'text', nom: 'text', type: 'text', mode_financement: 'text', population: 'int' });
  const membres = await ctx.scratch('epci_membres', { epci: 'text', commune: 'text' });
  const epciRows: StagingRow<'code' | 'nom' | 'type' | 'mode_financement' | 'population'>[] = [];
  const membreRows: StagingRow<'epci' | 'commune'>[] = [];
  for (const [i, raw] of readPackageArray('epci').entries()) {
    ctx.counters.read++;
    const parsed = PackageEpci.safeParse(raw);
    if (!parsed.success) {
      await ctx.quarantine.add({
        file: '@etalab/decoupage-administratif/data/epci.json',
        line: i + 1,
        raw: JSON.stringify(raw).slice(0, 2000),
        reason: parsed.error.issues[0].message,
      });
      continue;
    }
    ctx.counters.loaded++;
    const e = parsed.data;
    epciRows.push({
      code: e.code,
      nom: e.nom,
      type: e.type,
      mode_financement: e.modeFinancement,
      population: e.populationMunicipale ?? null,
    });
    for (const m of e.membres) membreRows.push({ epci: e.code, commune: m.code });
  }
  await epci.copyRows(ctx.db, epciRows);
  await membres.copyRows(ctx.db, membreRows);

  type Simple = { code: string; nom: string; region?: string; departement?: string; chefLieu?: string; zone?: string };
  const deps = readPackageArray('departements') as Simple[];
  const regs = readPackageArray('regions') as Simple[];
  const arrs = readPackageArray('arrondissements') as Simple[];
  ctx.counters.read += deps.length + regs.length + arrs.length;
  ctx.counters.loaded += deps.length + regs.length + arrs.length;

  // 2. INSEE files from the mirror (or downloaded): the communes table of their year and the movements.
  const inseeCommunes = ctx.files.get('communes');
  const mouvements = ctx.files.get('mouvements');
  let stMvt: import('../../src/engine/staging').StagingTable | undefined;
  if (mouvements) {
    stMvt = await ctx.scratch('mouvements', {
      mod: 'int',
      date_eff: 'date',
      typecom_av: 'text',
      com_av: 'text',
      libelle_av: 'text',
      typecom_ap: 'text',
      com_ap: 'text',
      libelle_ap: 'text',
    });
    await loadCsv(ctx, {
      file: mouvements,
      encoding: 'utf8',
      dialect: { delimiter: ',' },
      staging: stMvt,
      required: ['MOD', 'DATE_EFF', 'TYPECOM_AV', 'COM_AV', 'LIBELLE_AV', 'TYPECOM_AP', 'COM_AP', 'LIBELLE_AP'] as const,
      row: (get) => {
        if (!/^\d+$/.test(get('MOD'))) return reject(`invalid MOD '${get('MOD')}'`, 'MOD');
        if (!/^\d{4}-\d{2}-\d{2}$/.test(get('DATE_EFF'))) return reject(`invalid date '${get('DATE_EFF')}'`, 'DATE_EFF');
        // A creation (MOD 20) has no commune before it.
        const creation = get('MOD') === '20' && get('COM_AV') === '';
        for (const k of ['COM_AV', 'COM_AP'] as const)
          if (!(k === 'COM_AV' && creation) && !isCommuneCode(get(k))) return reject(`invalid commune code '${get(k)}'`, k);
        return {
          mod: get('MOD'),
          date_eff: get('DATE_EFF'),
          typecom_av: get('TYPECOM_AV') || null,
          com_av: get('COM_AV') || null,
          libelle_av: get('LIBELLE_AV'),
          typecom_ap: get('TYPECOM_AP'),
          com_ap: get('COM_AP'),
          libelle_ap: get('LIBELLE_AP'),
        };
      },
    });
  }
  let inseeCog: number | undefined;
  let stInsee: import('../../src/engine/staging').StagingTable | undefined;
  if (inseeCommunes) {
    const fromName = /20\d\d/.exec(path.basename(inseeCommunes.path))?.[0];
    stInsee = await ctx.scratch('insee_communes', {
      typecom: 'text',
      com: 'text',
      reg: 'text',
      dep: 'text',
      ctcd: 'text',
      arr: 'text',
      tncc: 'text',
      ncc: 'text',
      nccenr: 'text',
      libelle: 'text',
      can: 'text',
      comparent: 'text',
    });
    await loadCsv(ctx, {
      file: inseeCommunes,
      encoding: 'utf8',
      dialect: { delimiter: ',' },
      staging: stInsee,
      required: ['TYPECOM', 'COM', 'REG', 'DEP', 'CTCD', 'ARR', 'TNCC', 'NCC', 'NCCENR', 'LIBELLE', 'CAN', 'COMPARENT'] as const,
      row: (get) => {
        if (!['COM', 'COMD', 'COMA', 'ARM'].includes(get('TYPECOM'))) return reject(`unknown TYPECOM '${get('TYPECOM')}'`, 'TYPECOM');
        if (!isCommuneCode(get('COM'))) return reject(`invalid commune code '${get('COM')}'`, 'COM');
        // Staging columns are the upstream names in lower case.
        return Object.fromEntries(
          (['TYPECOM', 'COM', 'REG', 'DEP', 'CTCD', 'ARR', 'TNCC', 'NCC', 'NCCENR', 'LIBELLE', 'CAN', 'COMPARENT'] as const).map((k) => [
            k.toLowerCase(),
            get(k) || null,
          ]),
        );
      },
    });
    // The year: from the file name (v_commune_2024.csv), else from the newest movement (effective 1 January of the COG year).
    inseeCog = fromName ? Number(fromName) : undefined;
    if (!inseeCog && stMvt) {
      const { rows } = await ctx.db.query(`select extract(year from max(date_eff))::int as y from ${stMvt.qualified}`);
      inseeCog = rows[0]?.y ?? undefined;
    }
    if (!inseeCog)
      throw new FormatError(path.basename(inseeCommunes.path), 'cannot tell the COG year (no year in the name, no movements table)');
    if (inseeCog > pkg.cog)
      ctx.log(`warning: INSEE COG ${inseeCog} is newer than the package's (${pkg.cog}); upgrade @etalab/decoupage-administratif`);
  }
  // 3. INSEE RDF URIs (mirror only): saved answers of the Metadata API.
  const uriFiles = INSEE_URI_RESOURCES.map((r) => ctx.files.get(r)).filter((f): f is NonNullable<typeof f> => Boolean(f));
  const stUris = await stageInseeUris(ctx, uriFiles);
  // Recorded in published_datasets.details (filled during the publish transaction).
  const details: Record<string, unknown> = { package: pkg.version, cogInsee: inseeCog ?? null, inseeUris: null };
  ctx.checkpoint('before-publish');

  await ctx.publish(
    String(pkg.cog),
    async (tx) => {
      await tx.query(`truncate communes, epci_membres, epci, departements, regions, arrondissements`);
      await tx.query(`insert into communes (code, type, nom, departement, region, arrondissement, zone, siren, codes_postaux, population, commune_parent, anciens_codes, tncc)
                    select code, type, nom, departement, region, arrondissement, zone, siren, codes_postaux, population, commune_parent, anciens_codes, tncc from ${communes.qualified}`);
      await tx.query(`insert into epci (code, nom, type, mode_financement, population)
                      select code, nom, type, mode_financement, population from ${epci.qualified}`);
      await tx.query(`insert into epci_membres select distinct epci, commune from ${membres.qualified}`);
      await tx.query(`update communes c set epci = m.epci from epci_membres m where m.commune = c.code and c.type = 'commune-actuelle'`);
      await tx.query(
        `insert into regions (code, nom, chef_lieu, zone) select * from jsonb_to_recordset($1::jsonb) as r(code text, nom text, "chefLieu" text, zone text)`,
        [JSON.stringify(regs)],
      );
      await tx.query(
        `insert into departements (code, nom, region, chef_lieu, zone) select * from jsonb_to_recordset($1::jsonb) as r(code text, nom text, region text, "chefLieu" text, zone text)`,
        [JSON.stringify(deps)],
      );
      await tx.query(
        `insert into arrondissements (code, nom, departement, region, chef_lieu) select * from jsonb_to_recordset($1::jsonb) as r(code text, nom text, departement text, region text, "chefLieu" text)`,
        [JSON.stringify(arrs)],
      );
      if (stMvt) {
        // A newer movements table contains the older ones: replace.
        await tx.query(`truncate cog_mouvements`);
        await tx.query(`insert into cog_mouvements (mod, date_eff, typecom_av, com_av, libelle_av, typecom_ap, com_ap, libelle_ap)
                        select mod, date_eff, typecom_av, com_av, libelle_av, typecom_ap, com_ap, libelle_ap from ${stMvt.qualified}`);
      }
      if (stInsee && inseeCog) {
        await tx.query(`delete from cog_communes_insee where cog = $1`, [inseeCog]);
        await tx.query(
          `insert into cog_communes_insee (cog, typecom, com, reg, dep, ctcd, arr, tncc, ncc, nccenr, libelle, can, comparent)
           select distinct on (typecom, com) $1::int, typecom, com, reg, dep, ctcd, arr, tncc, ncc, nccenr, libelle, can, comparent
             from ${stInsee.qualified}`,
          [inseeCog],
        );
      }
      // Without the files, URIs already in the table (loaded earlier) are kept.
      if (stUris) details.inseeUris = await publishInseeUris(tx, stUris, `${pkg.cog}-01-01`);
      // Every code ever seen -> current commune(s): for redirects and for re-coding.
      await tx.query(`truncate commune_correspondance`);
      await tx.query(`insert into commune_correspondance (code, code_actuel, nature)
                    select code, code, 'actuelle' from communes where type = 'commune-actuelle'`);
      await tx.query(`insert into commune_correspondance (code, code_actuel, nature)
                    select p.code, p.code_actuel, p.nature from commune_passage(1900) p
                     where not exists (select 1 from communes a where a.code = p.code and a.type = 'commune-actuelle')
                    on conflict do nothing`);
      await tx.query(`insert into commune_correspondance (code, code_actuel, nature)
                    select code, commune_parent, 'arrondissement' from communes where type = 'arrondissement-municipal' on conflict do nothing`);
      await tx.query(
        `insert into referentiel_meta (key, value) values ('cog', $1), ('package', $2), ('cog_insee', $3)
                    on conflict (key) do update set value = excluded.value`,
        [String(pkg.cog), `@etalab/decoupage-administratif@${pkg.version}`, inseeCog ? String(inseeCog) : ''],
      );
      const { rows } = await tx.query(`select count(*)::int as n from communes`);
      return rows[0].n;
    },
    details,
  );
  // EPCI, département and région outlines follow the new membership: rebuilt now, not by the first request.
  await warmZoneContours(ctx.log);
}

export const pipeline: Pipeline = { source, order: 0, load };
