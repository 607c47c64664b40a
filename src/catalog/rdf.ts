import { DataFactory, Writer } from 'n3';

/**
 * A tiny RDF graph written once and serialised three ways (JSON-LD with an inline context,
 * Turtle through n3, RDF/XML by hand), so the three formats always carry the same triples.
 */
const PREFIXES = {
  rdf: 'http://www.w3.org/1999/02/22-rdf-syntax-ns#',
  dcat: 'http://www.w3.org/ns/dcat#',
  dct: 'http://purl.org/dc/terms/',
  foaf: 'http://xmlns.com/foaf/0.1/',
  hydra: 'http://www.w3.org/ns/hydra/core#',
  spdx: 'http://spdx.org/rdf/terms#',
  gsp: 'http://www.opengis.net/ont/geosparql#',
  xsd: 'http://www.w3.org/2001/XMLSchema#',
  vcard: 'http://www.w3.org/2006/vcard/ns#',
  prov: 'http://www.w3.org/ns/prov#',
} as const;
type Prefix = keyof typeof PREFIXES;
/** A compact name `dct:title` over the known prefixes. */
export type QName = `${Prefix}:${string}`;

export type Term =
  { kind: 'iri'; value: string } | { kind: 'bnode'; value: string } | { kind: 'literal'; value: string; lang?: string; datatype?: string };

export const iri = (value: string): Term => ({ kind: 'iri', value });
export const q = (name: QName): string => PREFIXES[name.split(':')[0] as Prefix] + name.slice(name.indexOf(':') + 1);
export const lit = (value: string | number, opts: { lang?: string; datatype?: QName } = {}): Term => ({
  kind: 'literal',
  value: String(value),
  lang: opts.lang,
  datatype: opts.datatype ? q(opts.datatype) : undefined,
});
export const fr = (value: string): Term => lit(value, { lang: 'fr' });
export const dateTime = (d: Date | string): Term => lit(new Date(d).toISOString().replace(/\.\d{3}Z$/, 'Z'), { datatype: 'xsd:dateTime' });

export interface Triple {
  s: Term;
  p: string;
  o: Term;
}

export class Graph {
  readonly triples: Triple[] = [];
  private bnodes = 0;
  bnode(): Term {
    return { kind: 'bnode', value: `b${++this.bnodes}` };
  }
  add(s: Term, p: QName, o: Term | Term[] | undefined | null): this {
    if (o == null) return this;
    for (const x of Array.isArray(o) ? o : [o]) this.triples.push({ s, p: q(p), o: x });
    return this;
  }
  type(s: Term, ...types: QName[]): this {
    return this.add(
      s,
      'rdf:type',
      types.map((t) => iri(q(t))),
    );
  }
  private typed = new Set<string>();
  /** Types a node shared by many datasets of the page (a licence, a format…) once per graph. */
  typeOnce(s: Term, ...types: QName[]): this {
    const fresh = types.filter((t) => {
      const k = `${s.kind}|${s.value}|${t}`;
      return !this.typed.has(k) && Boolean(this.typed.add(k));
    });
    return fresh.length ? this.type(s, ...fresh) : this;
  }
}

function compact(full: string): string {
  for (const [p, ns] of Object.entries(PREFIXES))
    if (full.startsWith(ns) && /^[A-Za-z_][\w.-]*$/.test(full.slice(ns.length))) return `${p}:${full.slice(ns.length)}`;
  return full;
}

/** JSON-LD: a flat @graph, one node per subject, with the context inline (no remote fetch). */
export function toJsonLd(g: Graph): Record<string, unknown> {
  const nodes = new Map<string, Record<string, unknown>>();
  const idOf = (t: Term) => (t.kind === 'bnode' ? `_:${t.value}` : t.value);
  for (const { s, p, o } of g.triples) {
    const id = idOf(s);
    const node = nodes.get(id) ?? nodes.set(id, { '@id': id }).get(id)!;
    if (p === q('rdf:type')) {
      const types = (node['@type'] as string[] | undefined) ?? [];
      types.push(compact(o.value));
      node['@type'] = types;
      continue;
    }
    let v: unknown;
    if (o.kind === 'literal') {
      v = o.lang ? { '@value': o.value, '@language': o.lang } : o.datatype ? { '@value': o.value, '@type': compact(o.datatype) } : o.value;
    } else {
      v = { '@id': o.kind === 'bnode' ? `_:${o.value}` : o.value };
    }
    const key = compact(p);
    const prev = node[key];
    node[key] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const context: Record<string, string> = {};
  for (const [p, ns] of Object.entries(PREFIXES)) if (p !== 'rdf') context[p] = ns;
  return { '@context': context, '@graph': [...nodes.values()] };
}

export function toTurtle(g: Graph): Promise<string> {
  const { namedNode, blankNode, literal, quad } = DataFactory;
  const term = (t: Term) =>
    t.kind === 'iri'
      ? namedNode(t.value)
      : t.kind === 'bnode'
        ? blankNode(t.value)
        : literal(t.value, t.lang ?? (t.datatype ? namedNode(t.datatype) : undefined));
  const prefixes: Record<string, string> = {};
  for (const [p, ns] of Object.entries(PREFIXES)) if (p !== 'rdf') prefixes[p] = ns;
  const writer = new Writer({ prefixes });
  for (const t of g.triples)
    writer.addQuad(quad(term(t.s) as ReturnType<typeof namedNode>, namedNode(t.p), term(t.o) as ReturnType<typeof namedNode>));
  return new Promise((resolve, reject) => writer.end((err: Error | null, out: string) => (err ? reject(err) : resolve(out))));
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** RDF/XML: one rdf:Description per subject, blank nodes by rdf:nodeID. */
export function toRdfXml(g: Graph): string {
  const bySubject = new Map<string, Triple[]>();
  for (const t of g.triples) {
    const k = `${t.s.kind}|${t.s.value}`;
    (bySubject.get(k) ?? bySubject.set(k, []).get(k)!).push(t);
  }
  const ns = Object.entries(PREFIXES)
    .map(([p, u]) => `xmlns:${p}="${u}"`)
    .join(' ');
  const out = [`<?xml version="1.0" encoding="utf-8"?>`, `<rdf:RDF ${ns}>`];
  for (const triples of bySubject.values()) {
    const s = triples[0].s;
    out.push(s.kind === 'bnode' ? `  <rdf:Description rdf:nodeID="${s.value}">` : `  <rdf:Description rdf:about="${xmlEscape(s.value)}">`);
    for (const { p, o } of triples) {
      const name = compact(p);
      if (name === p) throw new Error(`RDF/XML: predicate without a prefix: ${p}`);
      if (o.kind === 'iri') out.push(`    <${name} rdf:resource="${xmlEscape(o.value)}"/>`);
      else if (o.kind === 'bnode') out.push(`    <${name} rdf:nodeID="${o.value}"/>`);
      else {
        const attr = o.lang ? ` xml:lang="${o.lang}"` : o.datatype ? ` rdf:datatype="${xmlEscape(o.datatype)}"` : '';
        out.push(`    <${name}${attr}>${xmlEscape(o.value)}</${name}>`);
      }
    }
    out.push('  </rdf:Description>');
  }
  out.push('</rdf:RDF>', '');
  return out.join('\n');
}
