import type { Readable } from 'node:stream';

/** One physical line of a text file, without its line end. */
export interface TextLine {
  /** 1-based physical line number. */
  line: number;
  text: string;
}

/**
 * The lines of decoded text (`openText`), one by one, with their numbers: for national files read
 * line by line without a CSV parser (a `|`-separated file without quotes). Any line end (LF, CRLF,
 * CR) ends a line, also when a CRLF is cut between two chunks; an empty line is skipped but
 * counted, so numbers stay those of the file.
 */
export async function* textLines(text: Readable): AsyncGenerator<TextLine> {
  let line = 0;
  let rest = '';
  let afterCr = false;
  for await (const chunk of text) {
    let s = String(chunk);
    if (afterCr && s.startsWith('\n')) s = s.slice(1);
    afterCr = false;
    s = rest + s;
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      line++;
      if (i > start) yield { line, text: s.slice(start, i) };
      if (c === 13) {
        if (i + 1 < s.length) {
          if (s.charCodeAt(i + 1) === 10) i++;
        } else afterCr = true;
      }
      start = i + 1;
    }
    rest = s.slice(start);
  }
  if (rest) yield { line: line + 1, text: rest };
}
