/** An input file that cannot be read as its source declares: names the file and where. */
export class FormatError extends Error {
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

/** A resource no origin could provide (no --file, no mirror copy, no network, no embedded default). */
export class MissingResourceError extends Error {
  override name = 'MissingResourceError';
}
