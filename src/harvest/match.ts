import path from 'node:path';
import type { DatagouvRef, EditionRule } from '../../config/sources';
import type { DatagouvResource } from './datagouv';
import { compareEditions as compareEditionKeys, EditionError, parseEdition } from '../engine/edition';

/** What is known of a resource when its edition is read. A local file's date is never among them. */
export interface EditionFacts {
  title?: string | null;
  url?: string | null;
  /** File name (of the URL, the mirror copy or the operator's file). */
  name?: string | null;
  /** Of the upstream resource: data.gouv.fr's `last_modified`, or the HTTP `Last-Modified` of the download. */
  lastModified?: string | null;
  createdAt?: string | null;
}

export interface ReadEdition {
  edition: string;
  /** Where it was read: 'declaration', 'title', 'url', 'name', 'last_modified', 'created_at'. */
  from: string;
}

function apply(pattern: string | undefined, template: string | undefined, text: string): string | null {
  if (!pattern) return text || null;
  const re = new RegExp(pattern, 'i');
  const m = re.exec(text);
  if (!m) return null;
  if (template !== undefined) return m[0].replace(re, template);
  return m.groups?.edition ?? m[1] ?? m[0];
}

/** `https://x/a/b%20c.csv?x=1` → `b c.csv`. */
export function fileNameOf(url: string): string {
  try {
    return decodeURIComponent(path.posix.basename(new URL(url).pathname));
  } catch {
    return path.basename(url);
  }
}

/**
 * Reads the edition with the declared rule. Rules on the title or URL fall back to the file
 * name when only a local copy is known (mirror, --file): upstream titles are mostly file names.
 * Dates of the resource metadata give their day (YYYY-MM-DD) unless a pattern says otherwise.
 * Null when the rule finds nothing.
 */
export function readEdition(rule: EditionRule | undefined, facts: EditionFacts): ReadEdition | null {
  if (!rule) return null;
  if ('value' in rule) return { edition: rule.value, from: 'declaration' };
  const tryOn = (from: string, text: string | null | undefined): ReadEdition | null => {
    if (!text) return null;
    const e = apply(rule.pattern, rule.template, text);
    return e ? { edition: e, from } : null;
  };
  switch (rule.from) {
    case 'title':
      return tryOn('title', facts.title) ?? (facts.title ? null : tryOn('name', facts.name));
    case 'url':
      return tryOn('url', facts.url ? decodeURIComponent(facts.url) : null) ?? (facts.url ? null : tryOn('name', facts.name));
    case 'name':
      return tryOn('name', facts.name ?? (facts.url ? fileNameOf(facts.url) : null));
    case 'last_modified':
    case 'created_at': {
      const d = rule.from === 'last_modified' ? facts.lastModified : facts.createdAt;
      if (!d) return null;
      if (rule.pattern) return tryOn(rule.from, d);
      // ISO 8601 (the data.gouv.fr API) or an HTTP date (`Last-Modified: Tue, 05 Jan 2027 03:00:00 GMT`): its day, in UTC.
      if (/^\d{4}-\d{2}-\d{2}/.test(d)) return { edition: d.slice(0, 10), from: rule.from };
      const t = Date.parse(d);
      return Number.isNaN(t) ? null : { edition: new Date(t).toISOString().slice(0, 10), from: rule.from };
    }
  }
}

/**
 * Chronological order of two editions: by the engine's edition keys when both are millésimes
 * it knows (`2024`, `2024_T3`, `2025-01-01`, `presidentielle-2022-t2`), else as producers write
 * them in titles (`20170129`): numbers compare as numbers, in the order they appear.
 */
export function compareEditions(a: string, b: string): number {
  try {
    return compareEditionKeys(parseEdition(a), parseEdition(b));
  } catch (err) {
    if (!(err instanceof EditionError)) throw err;
    return a.localeCompare(b, 'en', { numeric: true, sensitivity: 'base' });
  }
}

/** The resources of a dataset that answer every condition of the reference. */
function matchingResources(ref: DatagouvRef, resources: DatagouvResource[]): DatagouvResource[] {
  const title = ref.title ? new RegExp(ref.title, 'i') : undefined;
  const url = ref.url ? new RegExp(ref.url, 'i') : undefined;
  return resources.filter(
    (r) =>
      (!ref.resource || r.id.toLowerCase() === ref.resource.toLowerCase()) &&
      (!title || title.test(r.title)) &&
      (!url || url.test(r.url)) &&
      (!ref.format || (r.format ?? '').toLowerCase() === ref.format.toLowerCase()) &&
      (!ref.type || (r.type ?? '') === ref.type),
  );
}

export interface Picked {
  resource: DatagouvResource;
  edition: ReadEdition | null;
  /** How many resources matched (1 when the pick was unambiguous). */
  candidates: number;
}

/**
 * Picks the matching resource of the latest edition (chronological), then the most recently
 * modified one. Undefined when nothing matches.
 */
export function pickResource(ref: DatagouvRef, rule: EditionRule | undefined, resources: DatagouvResource[]): Picked | undefined {
  const found = matchingResources(ref, resources).map((resource) => ({
    resource,
    edition: readEdition(rule, {
      title: resource.title,
      url: resource.url,
      name: fileNameOf(resource.url),
      lastModified: resource.last_modified,
      createdAt: resource.created_at,
    }),
  }));
  if (!found.length) return undefined;
  found.sort((x, y) => {
    const byEdition = x.edition && y.edition ? compareEditions(y.edition.edition, x.edition.edition) : x.edition ? -1 : y.edition ? 1 : 0;
    return byEdition || (y.resource.last_modified ?? '').localeCompare(x.resource.last_modified ?? '');
  });
  return { ...found[0], candidates: found.length };
}
