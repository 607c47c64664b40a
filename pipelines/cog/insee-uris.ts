import fs from 'node:fs/promises';
import path from 'node:path';
import { FormatError } from '../../src/engine/errors';
import { z } from 'zod';
import type { LocalFile, RunContext } from '../../src/engine/pipeline';
import type { StagingRow, StagingTable } from '../../src/engine/staging';
import { isCommuneCode } from '../../src/communes/codes';

/**
 * INSEE RDF URIs of territories (http://id.insee.fr/geo/commune/<uuid>), from saved answers of the
 * INSEE Metadata API (api.insee.fr/metadonnees/geo/communes, /departements, /regions; source of
 * the format: InseeFr/Metadata-API, src/test/java/…/pseudointegrationtest/ConstantForIntegration.java).
 * Each answer is a JSON array of territories:
 *
 *   [{"code":"01002","uri":"http://id.insee.fr/geo/commune/2217cf41-…","type":"Commune",
 *     "dateCreation":"1943-01-01","intituleSansArticle":"Abergement-de-Varey","typeArticle":"5",
 *     "intitule":"L'Abergement-de-Varey"}, …]
 *
 * with `dateSuppression` on versions that ended (answers with `date=*`) and `chefLieu` on
 * départements and régions. A URI names one *version* of a territory (a commune nouvelle gets a
 * new one under the same code), so the version valid on 1 January of the referential's COG year
 * is kept; a code with no version valid then gets no URI.
 */
export const INSEE_URI_RESOURCES = ['insee-geo-communes', 'insee-geo-departements', 'insee-geo-regions'] as const;

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'date must be YYYY-MM-DD');
const InseeTerritoire = z
  .object({
    code: z.string().min(1),
    uri: z.string().regex(/^http:\/\/id\.insee\.fr\/geo\/[A-Za-z]+\/[A-Za-z0-9-]+$/, 'uri must be an http://id.insee.fr/geo/… URI'),
    type: z.string().min(1),
    dateCreation: isoDate.optional(),
    dateSuppression: isoDate.optional(),
    intitule: z.string().optional(),
    intituleSansArticle: z.string().optional(),
    typeArticle: z.string().optional(),
    chefLieu: z.string().optional(),
  })
  .passthrough();

/** Metadata API `type` → zone level of the API Territoire, with the code shape of that level. */
const LEVELS: Record<string, { level: string; code: (c: string) => boolean }> = {
  Commune: { level: 'fr:commune', code: isCommuneCode },
  ArrondissementMunicipal: { level: 'fr:commune', code: isCommuneCode },
  Departement: { level: 'fr:departement', code: (c) => /^([0-9]{2,3}|2[AB])$/.test(c) },
  Region: { level: 'fr:region', code: (c) => /^[0-9]{2}$/.test(c) },
  Intercommunalite: { level: 'fr:epci', code: (c) => /^[0-9]{9}$/.test(c) },
};

/** One item of an answer: the territory, or why it is rejected. */
function check(raw: unknown): { t: z.infer<typeof InseeTerritoire> } | { reason: string } {
  const parsed = InseeTerritoire.safeParse(raw);
  if (!parsed.success) return { reason: parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ') };
  const t = parsed.data;
  const level = LEVELS[t.type];
  if (level && !level.code(t.code)) return { reason: `invalid ${t.type} code '${t.code}'` };
  if (t.dateCreation && t.dateSuppression && t.dateSuppression < t.dateCreation) return { reason: 'dateSuppression before dateCreation' };
  return { t };
}

/**
 * Stages every territory of the given files (other types, e.g. CommuneDeleguee, are staged with
 * no level and never published). A malformed item goes to quarantine; a file that is not a JSON
 * array fails the run.
 */
export async function stageInseeUris(ctx: RunContext, files: LocalFile[]): Promise<StagingTable | undefined> {
  if (!files.length) return undefined;
  const st = await ctx.scratch('insee_geo_uri', {
    level: 'text',
    type: 'text',
    code: 'text',
    uri: 'text',
    date_creation: 'date',
    date_suppression: 'date',
  });
  for (const file of files) {
    const label = path.basename(file.path);
    let items: unknown;
    try {
      items = JSON.parse((await fs.readFile(file.path, 'utf8')).replace(/^\uFEFF/, ''));
    } catch (err) {
      throw new FormatError(label, `not JSON (${(err as Error).message})`);
    }
    if (!Array.isArray(items)) throw new FormatError(label, 'expected a JSON array of territories (INSEE Metadata API /geo/… answer)');
    const rows: StagingRow<'level' | 'type' | 'code' | 'uri' | 'date_creation' | 'date_suppression'>[] = [];
    for (const [i, raw] of items.entries()) {
      ctx.counters.read++;
      const checked = check(raw);
      if ('reason' in checked) {
        await ctx.quarantine.add({ file: label, line: i + 1, raw: JSON.stringify(raw).slice(0, 2000), reason: checked.reason });
        continue;
      }
      const t = checked.t;
      ctx.counters.loaded++;
      rows.push({
        level: LEVELS[t.type]?.level ?? null,
        type: t.type,
        code: t.code,
        uri: t.uri,
        date_creation: t.dateCreation ?? null,
        date_suppression: t.dateSuppression ?? null,
      });
    }
    await st.copyRows(ctx.db, rows);
  }
  return st;
}

/**
 * Replaces the URIs of the levels present in the staged files with the version valid on `at`
 * (the first day of the COG year), for zones of the referential only. Runs inside cog's publish.
 */
export async function publishInseeUris(tx: import('pg').PoolClient, st: StagingTable, at: string): Promise<number> {
  const { rows } = await tx.query(`select distinct level from ${st.qualified} where level is not null`);
  const levels = rows.map((r) => r.level as string);
  await tx.query(`delete from insee_geo_uri where level = any($1::text[])`, [levels]);
  const ins = await tx.query(
    `insert into insee_geo_uri (level, code, uri)
     select distinct on (s.level, s.code) s.level, s.code, s.uri
       from ${st.qualified} s
      where s.level is not null
        and (s.date_creation is null or s.date_creation <= $1::date)
        and (s.date_suppression is null or s.date_suppression > $1::date)
        and case s.level
              when 'fr:commune' then exists (select 1 from communes c where c.code = s.code and c.type in ('commune-actuelle', 'arrondissement-municipal'))
              when 'fr:departement' then exists (select 1 from departements d where d.code = s.code)
              when 'fr:region' then exists (select 1 from regions r where r.code = s.code)
              when 'fr:epci' then exists (select 1 from epci e where e.code = s.code)
              else false end
      order by s.level, s.code, s.date_creation desc nulls last, s.uri`,
    [at],
  );
  return ins.rowCount ?? 0;
}
