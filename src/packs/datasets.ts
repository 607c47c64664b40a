import { sourceRegistry } from '../../config/sources';
import { settings } from '../../config/settings';
import { pool } from '../db/pool';
import type { Pipeline } from '../engine/pipeline';
import type { PublishedEdition, ScdlFrequency } from './section';

/**
 * The "dynamic datasets" of a commune (api-territoire.md §5.3): one per published source that
 * adds a section to the commune pack, plus the pack itself. Their `uri` and `page` resolve on this
 * server; `url` is the direct download (pack routes of src/server/routes/communes.ts).
 */
export interface PackDataset {
  id: string;
  /** 2017 ids kept where the content matches (population_com, ban_odbl_com, zonages_com, comptes_com). */
  aliases: string[];
  source: string | null;
  title: string;
  description: string;
  producer: string;
  /** The one licence of what is loaded (the source section's choice over its published millésimes), as in the packs. */
  license: { id: string; title: string; url: string };
  /** How often the producer publishes (SCDL wording); null for the pack itself. */
  frequency: ScdlFrequency | null;
  millesime: string | null;
  publishedAt: string | null;
  landingPage: string | null;
  /** Files this dataset contributes to the pack (name with extension). */
  files: { name: string; title: string; description: string; format: 'csv' | 'geojson' | 'zip' }[];
}

/** 2017 registry ids (gouvfr) of content we serve again, by source id. */
const ALIASES_2017: Record<string, string[]> = {
  populations: ['population_com', 'population_t'],
  ban: ['ban_odbl_com', 'ban_odbl_t'],
  qpv: ['zonages_com', 'zonages_t'],
  zonages: ['zonages_com', 'zonages_t'],
  budget: ['comptes_com', 'comptes_t'],
  comptes: ['comptes_com', 'comptes_t'],
  sirene: ['geo_sirene_com'],
};

const PACK_DATASET_ID = 'pack_com';
const OPERATOR_LICENCE = {
  id: 'lov2',
  title: 'Licence Ouverte / Open Licence version 2.0',
  url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence',
};

function packDatasetId(sourceId: string): string {
  return `${sourceId.replace(/-/g, '_')}_com`;
}

export function baseUrl(): string {
  return settings().PUBLIC_BASE_URL.replace(/\/+$/, '');
}

interface Published {
  source: string;
  millesime: string;
  published_at: Date;
  editions: PublishedEdition[];
}

/** Latest published millésime per source, chronologically, with every published millésime (one small query). */
async function publishedSources(): Promise<Map<string, Published>> {
  const { rows } = await pool().query(
    `select source, millesime, published_at, details from published_datasets order by source, edition_key desc, published_at desc`,
  );
  const out = new Map<string, Published>();
  for (const r of rows) {
    const p =
      out.get(r.source) ??
      out.set(r.source, { source: r.source, millesime: r.millesime, published_at: r.published_at, editions: [] }).get(r.source)!;
    p.editions.push({ millesime: r.millesime, details: r.details ?? {} });
  }
  return out;
}

/** Pack datasets, the same for every commune (what varies is the zone in the URLs). */
export async function packDatasets(): Promise<PackDataset[]> {
  const published = await publishedSources();
  const out: PackDataset[] = [];
  const withPack = [...sourceRegistry().entries()].filter(([, p]) => p.pack) as [string, Pipeline][];
  const sections: PackDataset[] = [];
  for (const [id, p] of withPack) {
    const pub = published.get(id);
    if (!pub) continue;
    const files = [
      ...p.pack!.tables.map((t) => ({ name: `${t.name}.csv`, title: t.title, description: t.description, format: 'csv' as const })),
      ...(p.pack!.layers ?? []).map((l) => ({
        name: `${l.name}.geojson`,
        title: l.title,
        description: l.description,
        format: 'geojson' as const,
      })),
    ];
    sections.push({
      id: packDatasetId(id),
      aliases: ALIASES_2017[id] ?? [],
      source: id,
      title: p.source.title,
      description: files.map((f) => `${f.title} : ${f.description}`).join('\n'),
      producer: p.source.producer,
      license: p.pack!.licence ? p.pack!.licence(pub.editions) : { ...p.source.licence, url: p.source.licence.url.replace(/\/+$/, '') },
      frequency: p.pack!.frequency ?? null,
      millesime: pub.millesime,
      publishedAt: pub.published_at.toISOString(),
      landingPage: p.source.landingPage,
      files,
    });
  }
  const latest =
    sections
      .map((s) => s.publishedAt!)
      .sort()
      .at(-1) ??
    published.get('cog')?.published_at.toISOString() ??
    null;
  out.push({
    id: PACK_DATASET_ID,
    aliases: [],
    source: null,
    title: 'Dotation de données de la commune (paquet complet)',
    description: `Paquet de données ouvertes de la commune : ${sections.map((s) => s.title).join(', ') || 'référentiel'}, avec LISEZMOI.md et datapackage.json.`,
    producer: settings().PUBLISHER_NAME ?? 'éditeur du service (PUBLISHER_NAME non renseigné)',
    license: OPERATOR_LICENCE,
    frequency: null,
    millesime: latest ? latest.slice(0, 10) : null,
    publishedAt: latest,
    landingPage: null,
    files: [{ name: 'pack.zip', title: 'Paquet complet', description: 'Archive ZIP du paquet', format: 'zip' }],
  });
  out.push(...sections);
  return out;
}

export function findPackDataset(list: PackDataset[], id: string): PackDataset | undefined {
  const l = id.toLowerCase();
  // 2016 short forms ('comptes', 'population') match by prefix of an alias.
  return (
    list.find((d) => d.id === l || d.aliases.includes(l)) ??
    list.find((d) => d.aliases.some((a) => a.replace(/_(com|t)$/, '') === l.replace(/_(com|t)$/, '')))
  );
}

/** Download URL of a file of a commune's pack (served by src/server/routes/communes.ts). */
export function fileUrl(code: string, file: string): string {
  return file === 'pack.zip' ? `${baseUrl()}/communes/${code}/pack.zip` : `${baseUrl()}/communes/${code}/fichiers/${file}`;
}

/** The DatasetReference of §1.4 for a dynamic entry, plus harmless extras. */
export function datasetReference(zone: string, code: string, d: PackDataset, built?: boolean): Record<string, unknown> {
  const first = d.files[0];
  return {
    id: d.id,
    class: 'TerritoryDataset',
    title: d.title,
    acronym: null,
    uri: `${baseUrl()}/api/1/spatial/zone/${zone}/datasets/${d.id}`,
    page: `${baseUrl()}/communes/${code}`,
    url: fileUrl(code, first.name),
    aliases: d.aliases,
    description: d.description,
    organization: d.producer,
    license: d.license.id,
    license_url: d.license.url,
    temporal_coverage: d.millesime,
    format: first.format,
    last_modified: d.publishedAt,
    files: d.files.map((f) => ({ name: f.name, title: f.title, format: f.format, url: fileUrl(code, f.name) })),
    // False until the commune's pack is built: the download URLs answer 404 until then.
    ...(built === undefined ? {} : { available: built }),
  };
}

/** Whether the commune's pack has been built (table pack_builds of the pack builder). */
export async function packBuilt(code: string): Promise<boolean> {
  const { rows } = await pool()
    .query(`select 1 from pack_builds where code = $1`, [code])
    .catch(() => ({ rows: [] }));
  return rows.length > 0;
}
