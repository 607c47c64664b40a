import { create } from 'xmlbuilder2';

/**
 * The change feeds: one entry per pack version, with what changed in French (changes.json
 * `resume`), the version's URL and its sha256. Rendered as Atom 1.0 (RFC 4287, paged with
 * RFC 5005 `next` links) and as JSON Feed 1.1 (`next_url`). Entries carry the sha256 in their
 * text and in an extension (`_dotation` in JSON Feed), and the ZIP as an enclosure/attachment.
 */
export interface FeedEntry {
  code: string;
  nom: string;
  version: string;
  /** When the version was built (ISO 8601). */
  date: string;
  summary: string;
  sha256: string;
  bytes: number;
  /** Download URL of the version's ZIP. */
  url: string;
  /** The build that made it (national feed). */
  build?: string;
}

export interface Feed {
  /** Stable id of the feed (its Atom URL without paging). */
  id: string;
  title: string;
  subtitle: string;
  /** Human page the feed is about. */
  homePage: string;
  atomUrl: string;
  jsonUrl: string;
  /** Next (older) page, when there is one. */
  next?: { atom: string; json: string };
  entries: FeedEntry[];
}

const AUTHOR = 'Dotation de données';

function entryTitle(e: FeedEntry): string {
  return `${e.nom} (${e.code}) : version ${e.version}`;
}

function entryText(e: FeedEntry): string {
  return `${e.summary}\n\nVersion ${e.version} du dossier de données de ${e.nom} (code INSEE ${e.code}).\nTéléchargement : ${e.url}\nSHA-256 : ${e.sha256}\nTaille : ${e.bytes} octets`;
}

/** The feed's last update: its newest entry, or the epoch for an empty feed (never the time of the request). */
const updated = (f: Feed) => f.entries[0]?.date ?? new Date(0).toISOString();

export function renderAtom(f: Feed): string {
  const doc = create({ version: '1.0', encoding: 'utf-8' });
  const feed = doc.ele('http://www.w3.org/2005/Atom', 'feed', { 'xml:lang': 'fr' });
  feed.ele('id').txt(f.id);
  feed.ele('title').txt(f.title);
  feed.ele('subtitle').txt(f.subtitle);
  feed.ele('updated').txt(updated(f));
  feed.ele('author').ele('name').txt(AUTHOR);
  feed.ele('link', { rel: 'self', type: 'application/atom+xml', href: f.atomUrl });
  feed.ele('link', { rel: 'alternate', type: 'text/html', href: f.homePage });
  feed.ele('link', { rel: 'alternate', type: 'application/feed+json', href: f.jsonUrl });
  if (f.next) feed.ele('link', { rel: 'next', type: 'application/atom+xml', href: f.next.atom });
  for (const e of f.entries) {
    const x = feed.ele('entry');
    x.ele('id').txt(e.url);
    x.ele('title').txt(entryTitle(e));
    x.ele('updated').txt(e.date);
    x.ele('published').txt(e.date);
    x.ele('link', { rel: 'alternate', type: 'application/zip', href: e.url });
    x.ele('link', { rel: 'enclosure', type: 'application/zip', length: String(e.bytes), href: e.url });
    x.ele('category', { term: e.code, label: e.nom });
    if (e.build) x.ele('category', { term: `build:${e.build}`, label: `construction ${e.build}` });
    x.ele('summary', { type: 'text' }).txt(e.summary);
    x.ele('content', { type: 'text' }).txt(entryText(e));
  }
  return doc.end({ prettyPrint: true }) + '\n';
}

/** JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/). */
export function renderJsonFeed(f: Feed): Record<string, unknown> {
  return {
    version: 'https://jsonfeed.org/version/1.1',
    title: f.title,
    description: f.subtitle,
    home_page_url: f.homePage,
    feed_url: f.jsonUrl,
    ...(f.next ? { next_url: f.next.json } : {}),
    language: 'fr',
    authors: [{ name: AUTHOR }],
    items: f.entries.map((e) => ({
      id: e.url,
      url: e.url,
      title: entryTitle(e),
      summary: e.summary,
      content_text: entryText(e),
      date_published: e.date,
      date_modified: e.date,
      tags: [e.code],
      attachments: [{ url: e.url, mime_type: 'application/zip', size_in_bytes: e.bytes, title: `${e.code}-${e.version}.zip` }],
      _dotation: { code: e.code, version: e.version, sha256: e.sha256, ...(e.build ? { build: e.build } : {}) },
    })),
  };
}
