import type { Pool, PoolClient } from 'pg';
import type { SourceDeclaration } from '../../config/sources';
import type { Settings } from '../../config/settings';
import type { Progress } from './progress';
import type { Quarantine } from './quarantine';
import type { StagingTable } from './staging';
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
  /** Staging table private to this run (dropped at the end of the run, success or not). */
  staging(name: string, columns: Record<string, string>): Promise<StagingTable>;
  /**
   * Runs `fn` in ONE transaction on one connection and records the published millésime:
   * readers see the previous rows until COMMIT. `fn` returns the count of rows published.
   */
  publish(millesime: string, fn: (tx: PoolClient) => Promise<number>, details?: Record<string, unknown>): Promise<void>;
  /** Records the millésime of the run (shown in `dotation runs`). */
  setMillesime(m: string): void;
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
}
