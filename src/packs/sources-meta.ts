import type { Pool } from 'pg';
import { sourceRegistry } from '../../config/sources';
import type { Pipeline } from '../engine/pipeline';
import type { PackLicence, PublishedEdition, ScdlFrequency } from './section';

/**
 * What the pack says of each source beyond its rows, worked out once per build: the one licence of
 * what is loaded, the producer's publication date of the edition, how often the producer publishes,
 * and, for the sources that are not loaded, why. Read by content.ts (LISEZMOI, catalogue.csv,
 * datapackage.json) so the three files cannot disagree.
 */
export interface SourceFacts {
  /** The licence of the loaded editions (a scrutin under another licence changes it): one per dataset, everywhere. */
  licence: PackLicence;
  /** The producer's publication date (YYYY-MM-DD) of the latest edition; null when nothing says it. */
  producerDate: string | null;
  /** Where producerDate was read: the data.gouv.fr resource metadata, the resource URL's upload stamp, or the declaration. */
  producerDateFrom: 'data.gouv.fr' | 'url' | 'http' | 'declaration' | null;
  frequency: ScdlFrequency | 'Inconnue';
  /** Every published millésime of the source. */
  editions: PublishedEdition[];
}

/** A source of the registry whose pack section cannot be in the packs, and why (French). */
export interface AbsentSource {
  id: string;
  title: string;
  producer: string;
  landingPage: string;
  reason: string;
}

/** The licence as the source declares it, with the URL written once (no trailing slash). */
function declaredLicence(p: Pipeline): PackLicence {
  return { ...p.source.licence, url: p.source.licence.url.replace(/\/+$/, '') };
}

/** data.gouv.fr stores each upload under `…/resources/<dataset>/<YYYYMMDD-HHMMSS>/<file>`: that stamp is when the producer published it. */
function uploadStamp(url: string | null | undefined): string | null {
  const m = url ? /static\.data\.gouv\.fr\/resources\/[^/]+\/(\d{4})(\d{2})(\d{2})-\d{6}\//.exec(url) : null;
  return m ? `${m[1]}-${m[2]}-${m[3]}` : null;
}

const isoDay = (v: unknown): string | null => {
  if (typeof v !== 'string' || !v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d.toISOString().slice(0, 10);
};

interface ProvenanceRow {
  url: string | null;
  origin: string;
  last_modified: string | null;
  upstream?: Record<string, unknown> | null;
}

/** The run's input files (the `upstream` column exists once the data.gouv.fr harvester records it). */
async function provenanceOf(db: Pool, runId: number | null): Promise<ProvenanceRow[]> {
  if (runId === null) return [];
  const withUpstream = await db
    .query(`select url, origin, last_modified, upstream from provenance where run_id = $1 order by resource`, [runId])
    .catch(() => null);
  if (withUpstream) return withUpstream.rows;
  const { rows } = await db.query(`select url, origin, last_modified from provenance where run_id = $1 order by resource`, [runId]);
  return rows;
}

/**
 * The producer's date of an edition: what data.gouv.fr says of the resource (created_at, then
 * last_modified), else the upload stamp in its URL, else the HTTP Last-Modified of a download, else the
 * date the source declares for that millésime. Never the day we loaded or built it.
 */
function producerDateOf(
  rows: ProvenanceRow[],
  declared: string | undefined,
): { date: string | null; from: SourceFacts['producerDateFrom'] } {
  const dates = (pick: (r: ProvenanceRow) => string | null) =>
    rows
      .map(pick)
      .filter((d): d is string => Boolean(d))
      .sort();
  const upstream = dates((r) => isoDay(r.upstream?.created_at) ?? isoDay(r.upstream?.last_modified));
  if (upstream.length) return { date: upstream.at(-1)!, from: 'data.gouv.fr' };
  const stamped = dates((r) => uploadStamp(r.url));
  if (stamped.length) return { date: stamped.at(-1)!, from: 'url' };
  const http = dates((r) => (r.origin === 'download' || r.origin === 'not-modified' ? isoDay(r.last_modified) : null));
  if (http.length) return { date: http.at(-1)!, from: 'http' };
  if (declared) return { date: declared, from: 'declaration' };
  return { date: null, from: null };
}

/** The facts of one published source (its latest millésime `millesime`, published by run `runId`). */
export async function sourceFacts(db: Pool, id: string, pipeline: Pipeline, millesime: string, runId: number | null): Promise<SourceFacts> {
  const { rows } = await db.query(`select millesime, details, run_id from published_datasets where source = $1 order by millesime`, [id]);
  const editions: PublishedEdition[] = rows.map((r) => ({ millesime: r.millesime, details: r.details ?? {} }));
  const section = pipeline.pack;
  const latestRun = rows.find((r) => r.millesime === millesime)?.run_id ?? runId;
  const { date, from } = producerDateOf(
    await provenanceOf(db, latestRun === null || latestRun === undefined ? null : Number(latestRun)),
    section?.publications?.[millesime],
  );
  return {
    licence: section?.licence ? section.licence(editions) : declaredLicence(pipeline),
    producerDate: date,
    producerDateFrom: from,
    // The referential has no pack section: INSEE publishes one COG a year (valid on 1 January).
    frequency: section?.frequency ?? (id === 'cog' ? 'Annuelle' : 'Inconnue'),
    editions,
  };
}

const frDate = (d: Date) => d.toLocaleDateString('fr-FR', { timeZone: 'Europe/Paris', day: 'numeric', month: 'long', year: 'numeric' });

/**
 * The sources with a pack section that have no published dataset, each with the reason in French:
 * never loaded here, or its last load found no file, or it failed.
 */
export async function absentSources(db: Pool, present: Set<string>): Promise<AbsentSource[]> {
  const missing = [...sourceRegistry().entries()].filter(([id, p]) => p.pack && !present.has(id));
  if (!missing.length) return [];
  const { rows } = await db.query(
    `select distinct on (source) source, status, error, coalesce(finished_at, started_at) as at
       from runs where source = any($1::text[]) order by source, started_at desc`,
    [missing.map(([id]) => id)],
  );
  const last = new Map(rows.map((r) => [r.source as string, r]));
  return missing
    .sort(([a, pa], [b, pb]) => (pa.order ?? 100) - (pb.order ?? 100) || a.localeCompare(b))
    .map(([id, p]) => {
      const run = last.get(id);
      let reason: string;
      if (!run) reason = 'pas encore chargée sur ce serveur';
      else if (run.status === 'running' || run.status === 'queued') reason = 'chargement en cours sur ce serveur';
      else if (/missing|no .*file|not found|none downloaded|looked for/i.test(run.error ?? ''))
        reason = `fichier national absent de ce serveur lors du dernier chargement (${frDate(new Date(run.at))})`;
      else reason = `dernier chargement en échec sur ce serveur (${frDate(new Date(run.at))})`;
      return { id, title: p.source.title, producer: p.source.producer, landingPage: p.source.landingPage, reason };
    });
}
