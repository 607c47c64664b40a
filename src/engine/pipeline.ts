import type { Pool, PoolClient } from 'pg';
import type { SourceDeclaration } from '../../config/sources';
import type { Settings } from '../../config/settings';
import type { Progress } from './progress';
import type { Quarantine } from './quarantine';
import type { StagingTable } from './staging';
import type { EditionInput } from './edition';
import type { PackSection } from '../packs/section';

type Origin = 'download' | 'not-modified' | 'mirror' | 'file' | 'embedded';

/** A raw file on local disk, ready to load, with where it came from. */
export interface LocalFile {
  resource: string;
  path: string;
  origin: Origin;
  sha256: string;
  bytes: number;
  url?: string;
  etag?: string | null;
  lastModified?: string | null;
  /** The edition the resource says it is (see EditionRule), null when nothing states it. */
  edition?: string | null;
  /** Where the edition was read: 'title', 'url', 'name', 'declaration', 'last_modified', 'operator'… */
  editionFrom?: string;
  /** The data.gouv.fr dataset and resource the file was found through. */
  upstream?: UpstreamResource;
}

/** A resource found through the data.gouv.fr API. */
interface UpstreamResource {
  dataset: string;
  datasetId: string;
  resourceId: string;
  title: string;
  /** The dataset's page on data.gouv.fr. */
  page: string | null;
  lastModified: string | null;
  checksum: { type: string; value: string } | null;
}

export interface RunCounters {
  /** Data records read from the input (header excluded). */
  read: number;
  /** Records accepted into staging. */
  loaded: number;
  /** Records sent to quarantine. read = loaded + rejected, always. */
  rejected: number;
  /** Rows in the published tables after the transform. */
  published: number;
}

export interface RunContext {
  runId: number;
  source: SourceDeclaration;
  settings: Settings;
  db: Pool;
  /** Files by resource name; empty in embedded mode. */
  files: Map<string, LocalFile>;
  /** True when no origin gave the resources and the pipeline's embedded default is used. */
  embedded: boolean;
  counters: RunCounters;
  quarantine: Quarantine;
  progress: Progress;
  log(message: string): void;
  /**
   * Staging table of input rows, private to this run (dropped at the end of the run, success or
   * not). It must have the columns of the staging contract, `code` (the commune code as the file
   * gives it), `fichier`, `line` and `raw` (where a rejected row came from, for the quarantine):
   * a missing one fails at once, naming it.
   */
  staging<C extends string>(name: string, columns: Record<C, string>): Promise<StagingTable<C>>;
  /**
   * Quarantines the staged rows an SQL check refuses after staging (`select file, line, raw,
   * reason from …`; `$1…` are `params`): they were counted loaded and now count as rejected.
   * Returns how many.
   */
  rejectStaged(select: string, params?: unknown[]): Promise<number>;
  /** A work table of the run that holds no input rows (a lookup, a map): no contract, dropped with the run. */
  scratch<C extends string>(name: string, columns: Record<C, string>): Promise<StagingTable<C>>;
  /**
   * Runs `fn` in ONE transaction on one connection and records the published millésime (a label
   * or an Edition, see src/engine/edition.ts; a label no kind describes fails the run):
   * readers see the previous rows until COMMIT. `fn` returns the count of rows published.
   */
  publish(millesime: EditionInput, fn: (tx: PoolClient) => Promise<number>, details?: Record<string, unknown>): Promise<void>;
  /** Records the millésime of the run (shown in `dotation runs`). */
  setMillesime(m: EditionInput): void;
  /** Test hook: throws when DOTATION_FAIL_AT names this step (`<source>:<step>`). */
  checkpoint(step: string): void;
}

export interface Pipeline {
  source: SourceDeclaration;
  /** Lower runs first in `dotation start` (the referential is 0). */
  order?: number;
  load(ctx: RunContext): Promise<void>;
  /** Loads the built-in default when no mirror, file or network provides the resources. */
  embedded?(ctx: RunContext): Promise<void>;
  /** What this source adds to each commune pack. */
  pack?: PackSection;
  /**
   * Drops what a run of this source creates outside the `staging` schema (the BAN's shadow
   * tables) when the run died before its own cleanup: that run's (`runId`), or, without it, those
   * of every run no longer running. Called by the reaper and its sweep (src/engine/lease.ts).
   */
  dropLeftovers?(db: Pool | PoolClient, runId?: number): Promise<void>;
}
