import type { Pipeline, RunContext } from '../../src/engine/pipeline';
import { loadCsv, reject } from '../../src/engine/load-csv';
import { parseCount, INVALID } from '../../src/engine/csv';
import { communeCode, CommuneCodeError } from '../../src/communes/codes';
import { isZip, readHead } from '../../src/engine/decode';
import type { StagingRow } from '../../src/engine/staging';
import { readPackageArray, packageInfo, PackageCommune } from '../cog/embedded';
import { source, MAYOTTE_RECENSEMENT } from './source';
import { publishPopulations } from './transform';
import { pack } from './pack';

const STAGING = {
  code: 'text',
  pmun: 'int',
  pcap: 'int',
  ptot: 'int',
  fichier: 'text',
  line: 'bigint',
  raw: 'text',
  annee_recensement: 'text',
};

function countOrReject(get: (k: 'PMUN' | 'PCAP' | 'PTOT') => string, k: 'PMUN' | 'PCAP' | 'PTOT') {
  const v = parseCount(get(k));
  if (v === INVALID) return reject(`not a whole number: '${get(k)}'`, k);
  if (v === null) return reject('empty population', k);
  return v;
}

async function load(ctx: RunContext): Promise<void> {
  // The file carries no year: the resource's declared edition (2021 at its URL) or the operator's (--millesime).
  const millesime = ctx.files.get('ensemble')?.edition ?? ctx.source.millesime!;
  ctx.setMillesime(millesime);
  const cog = Number(millesime) + 2;
  const staging = await ctx.staging('populations', STAGING);
  const main = ctx.files.get('ensemble')!;
  const zipped = isZip(readHead(main.path));

  // Main file: REG;Région;DEP;CODARR;CODCAN;CODCOM;COM;Commune;PMUN;PCAP;PTOT (CRLF, UTF-8).
  const { label } = await loadCsv(ctx, {
    file: main,
    entry: zipped ? 'donnees_communes.csv' : undefined,
    encoding: 'utf8',
    dialect: { delimiter: ';' },
    staging,
    required: ['DEP', 'CODCOM', 'COM', 'PMUN', 'PCAP', 'PTOT'] as const,
    row: (get, line, values) => {
      let code: string;
      try {
        code = communeCode(get('DEP'), get('CODCOM'));
      } catch (e) {
        if (e instanceof CommuneCodeError) return reject(e.message, 'CODCOM');
        throw e;
      }
      if (get('COM') && get('COM') !== code) return reject(`COM '${get('COM')}' disagrees with DEP+CODCOM '${code}'`, 'COM');
      const counts = (['PMUN', 'PCAP', 'PTOT'] as const).map((k) => countOrReject(get, k));
      const bad = counts.find((c) => typeof c === 'object');
      if (bad) return bad as ReturnType<typeof reject>;
      const [pmun, pcap, ptot] = counts as number[];
      return { code, pmun, pcap, ptot, fichier: 'donnees_communes.csv', line, raw: values.join(';'), annee_recensement: millesime };
    },
  });
  void label;

  // Mayotte: CODREG;REG;DEP;CODARR;CODCAN;CODCOM;COM;PMUN;PCAP;PTOT, commune = 97 + CODCOM (976 + 601 → 97601).
  const mayotte = ctx.files.get('mayotte');
  if (mayotte || zipped) {
    await loadCsv(ctx, {
      file: mayotte ?? main,
      entry: mayotte ? undefined : /mayotte/i,
      encoding: 'utf8',
      dialect: { delimiter: ';' },
      staging,
      required: ['DEP', 'CODCOM', 'PMUN', 'PCAP', 'PTOT'] as const,
      row: (get, line, values) => {
        let code: string;
        try {
          code = communeCode(get('DEP'), get('CODCOM'));
        } catch (e) {
          return reject((e as Error).message, 'CODCOM');
        }
        const counts = (['PMUN', 'PCAP', 'PTOT'] as const).map((k) => countOrReject(get, k));
        const bad = counts.find((c) => typeof c === 'object');
        if (bad) return bad as ReturnType<typeof reject>;
        const [pmun, pcap, ptot] = counts as number[];
        return {
          code,
          pmun,
          pcap,
          ptot,
          fichier: 'donnees_communes_mayotte.csv',
          line,
          raw: values.join(';'),
          annee_recensement: MAYOTTE_RECENSEMENT,
        };
      },
    }).catch((e) => {
      // The zip of some years has no Mayotte entry: that is not an error, the explanation list says so.
      if (!mayotte && /no entry/.test((e as Error).message)) {
        ctx.log('no Mayotte file in the archive');
        return;
      }
      throw e;
    });
  }
  ctx.checkpoint('after-staging');
  await publishPopulations(ctx, staging.qualified, millesime, cog);
}

/**
 * No mirror and no network: the populations shipped in @etalab/decoupage-administratif
 * (population municipale only, in the package's COG; the package does not name the millésime,
 * INSEE publishes N in COG N+3 for January, hence cog − 3).
 */
async function embedded(ctx: RunContext): Promise<void> {
  const { cog, version } = packageInfo();
  const millesime = String(cog - 3);
  ctx.setMillesime(millesime);
  const staging = await ctx.staging('populations', STAGING);
  const rows: StagingRow<keyof typeof STAGING>[] = [];
  for (const [i, raw] of readPackageArray('communes').entries()) {
    const c = PackageCommune.safeParse(raw);
    if (!c.success || !['commune-actuelle', 'arrondissement-municipal'].includes(c.data.type)) continue;
    ctx.counters.read++;
    if (c.data.population === undefined) {
      await ctx.quarantine.add({
        file: `@etalab/decoupage-administratif@${version}`,
        line: i + 1,
        raw: JSON.stringify(raw),
        reason: 'no population in the package',
      });
      continue;
    }
    ctx.counters.loaded++;
    rows.push({
      code: c.data.code,
      pmun: c.data.population,
      fichier: `@etalab/decoupage-administratif@${version}`,
      line: i + 1,
      annee_recensement: millesime,
    });
  }
  await staging.copyRows(ctx.db, rows);
  await publishPopulations(ctx, staging.qualified, millesime, cog, { embedded: true });
}

export const pipeline: Pipeline = { source, order: 10, load, embedded, pack };
