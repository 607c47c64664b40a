/**
 * Size of the national DCAT catalog as data.gouv.fr's harvester reads it: every page from
 * /catalog.<format>?page=1, following hydra:next, counted in pages, datasets, distributions and bytes,
 * plus the communes' own catalogs (/communes/{code}/catalog.<format>) on a sample.
 *
 *   npx tsx bench/catalog-size.ts [--format jsonld|ttl|rdf] [--page-size N] [--sample N] [--max-pages N] [--write]
 *
 * Reads the database and packs of the current settings (DATABASE_URL, PACKS_DIR: a full build, e.g.
 * after `npm start`), in-process through buildServer() and app.inject (no socket: the bytes are the
 * answer bodies). PUBLISHER_NAME defaults to "Banc d'essai" when unset (the catalogs need one).
 * --write puts the section in BENCHMARKS.md (bench:catalog-size).
 */
import { resetSettings } from '../config/settings';
import { machine, measure, writeBenchmarkSection } from './measure';

interface Args {
  format: 'jsonld' | 'ttl' | 'rdf';
  pageSize?: number;
  sample: number;
  maxPages: number;
  write: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { format: 'jsonld', sample: 200, maxPages: Infinity, write: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--format') a.format = v() as Args['format'];
    else if (k === '--page-size') a.pageSize = Number(v());
    else if (k === '--sample') a.sample = Number(v());
    else if (k === '--max-pages') a.maxPages = Number(v());
    else if (k === '--write') a.write = true;
    else throw new Error(`unknown argument ${k}`);
  }
  if (!['jsonld', 'ttl', 'rdf'].includes(a.format)) throw new Error('--format is jsonld, ttl or rdf');
  return a;
}

/** Datasets, distributions and the next page of one page body, by format (counted on the serialisation, not parsed into a graph). */
function readPage(format: Args['format'], body: string): { datasets: number; distributions: number; next?: string } {
  if (format === 'jsonld') {
    const nodes = (JSON.parse(body)['@graph'] ?? []) as { '@type'?: string[]; 'hydra:next'?: { '@id': string } }[];
    return {
      datasets: nodes.filter((n) => n['@type']?.includes('dcat:Dataset')).length,
      distributions: nodes.filter((n) => n['@type']?.includes('dcat:Distribution')).length,
      next: nodes.find((n) => n['hydra:next'])?.['hydra:next']?.['@id'],
    };
  }
  const count = (re: RegExp) => (body.match(re) ?? []).length;
  if (format === 'ttl')
    return {
      datasets: count(/\ba dcat:Dataset\b/g),
      distributions: count(/\ba dcat:Distribution\b/g),
      next: /hydra:next <([^>]+)>/.exec(body)?.[1],
    };
  return {
    datasets: count(/rdf:resource="http:\/\/www\.w3\.org\/ns\/dcat#Dataset"/g),
    distributions: count(/rdf:resource="http:\/\/www\.w3\.org\/ns\/dcat#Distribution"/g),
    next: /<hydra:next rdf:resource="([^"]+)"/.exec(body)?.[1]?.replace(/&amp;/g, '&'),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  process.env.PUBLISHER_NAME ??= "Banc d'essai";
  process.env.LOG_LEVEL ??= 'silent';
  resetSettings();
  const { buildServer } = await import('../src/server/app');
  const { pool, closePools } = await import('../src/db/pool');
  const app = await buildServer();
  const local = (u: string) => {
    const x = new URL(u, 'http://x');
    return x.pathname + x.search;
  };
  const national = await measure(async () => {
    let url: string | undefined = `/catalog.${args.format}?page=1${args.pageSize ? `&page_size=${args.pageSize}` : ''}`;
    const t = { pages: 0, datasets: 0, distributions: 0, bytes: 0, largestPage: 0 };
    while (url && t.pages < args.maxPages) {
      const r = await app.inject({ method: 'GET', url, headers: { 'user-agent': 'uData/0.1 dcat' } });
      if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body.slice(0, 200)}`);
      const bytes = r.rawPayload.length;
      const p = readPage(args.format, r.body);
      t.pages++;
      t.datasets += p.datasets;
      t.distributions += p.distributions;
      t.bytes += bytes;
      t.largestPage = Math.max(t.largestPage, bytes);
      if (t.pages % 50 === 0) process.stderr.write(`catalog: ${t.pages} pages, ${(t.bytes / 1e6).toFixed(1)} MB\n`);
      url = p.next ? local(p.next) : undefined;
    }
    return t;
  });
  const { rows } = await pool().query(
    `select code from pack_builds order by md5(code) limit $1`, // a deterministic spread over départements
    [args.sample],
  );
  const communes = await measure(async () => {
    const t = { catalogs: 0, datasets: 0, bytes: 0 };
    for (const { code } of rows) {
      const r = await app.inject({ method: 'GET', url: `/communes/${code}/catalog.${args.format}` });
      if (r.statusCode !== 200) continue;
      t.catalogs++;
      t.datasets += readPage(args.format, r.body).datasets;
      t.bytes += r.rawPayload.length;
    }
    return t;
  });
  await app.close();
  await closePools();

  const n = national.result;
  const c = communes.result;
  const mb = (b: number) => (b / 1e6).toFixed(1);
  const md = `## National DCAT catalog size (bench/catalog-size.ts)

${new Date().toISOString().slice(0, 10)}, ${machine()}. Format ${args.format}${args.pageSize ? `, page_size=${args.pageSize}` : ', default page size'}${
    Number.isFinite(args.maxPages) ? `, first ${args.maxPages} pages only` : ''
  }; every page read in-process (app.inject), following hydra:next.

| Catalog | Pages | Datasets | Distributions | Bytes | Largest page | Time |
|---|---|---|---|---|---|---|
| national \`/catalog.${args.format}\` | ${n.pages} | ${n.datasets} | ${n.distributions} | ${mb(n.bytes)} MB | ${(n.largestPage / 1e3).toFixed(0)} kB | ${national.seconds.toFixed(1)} s |
| ${c.catalogs} communes' own catalogs (sample) | ${c.catalogs} | ${c.datasets} (${(c.datasets / Math.max(1, c.catalogs)).toFixed(2)} per commune) | | ${mb(c.bytes)} MB (${(c.bytes / Math.max(1, c.catalogs) / 1e3).toFixed(1)} kB per commune) | | ${communes.seconds.toFixed(1)} s |
`;
  console.log(md);
  if (args.write) writeBenchmarkSection('catalog-size', md);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
