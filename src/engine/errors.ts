/**
 * Errors of a run, by what a retry would change. A content error (the file, or a pipeline's
 * declaration, is not what it should be) gives the same result every time: the worker fails the
 * job at once (BullMQ UnrecoverableError). Anything else (network, locks, a database restart…)
 * may pass on a later attempt and is retried with backoff.
 */
export class ContentError extends Error {
  override name = 'ContentError';
}

/** An input file that cannot be read as its source declares: names the file and where. */
export class FormatError extends ContentError {
  constructor(
    readonly file: string,
    message: string,
    readonly line?: number,
    readonly column?: string,
  ) {
    super(`${file}${line !== undefined ? `, line ${line}` : ''}${column ? `, column ${column}` : ''}: ${message}`);
    this.name = 'FormatError';
  }
}

/** A run whose counts do not add up (read ≠ loaded + rejected): a row was lost, the same way each time. */
export class CountMismatchError extends ContentError {
  override name = 'CountMismatchError';
}

/** A resource no origin could provide (no --file, no mirror copy, no network, no embedded default). */
export class MissingResourceError extends Error {
  override name = 'MissingResourceError';
}

/**
 * False for errors a retry cannot mend: content errors, and PostgreSQL data exceptions (SQLSTATE
 * class 22: a value COPY or a cast refuses). Network, lock (55P03, 40P01), connection and
 * unknown errors are retried.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof ContentError) return false;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code)) return false;
  return true;
}
