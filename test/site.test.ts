import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { freshDatabase } from './helpers/db';
import { describeRealData, sharedFile } from './helpers/shared-data';
import { runSource } from '../src/engine/runner';
import { buildPacks } from '../src/packs/build';
import { pool } from '../src/db/pool';
import { buildServer } from '../src/server/app';
import { invalidateReferential } from '../src/communes/referential';
import { resetDataStamp } from '../src/server/http/cache';

/**
 * The public French site (src/site, routes/web.ts), through the whole app: home and search without
 * JavaScript, commune pages (names with their article, key figures, map, charts, plain-French file
 * labels, what is not available and why, LISEZMOI as HTML), notices for historical codes and
 * postcodes, French 404, legal pages, static files.
 */
const FIX = path.join(__dirname, 'fixtures');
let db: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;
const quiet = { trigger: 'test' as const, log: () => undefined };

const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });
/** The HTML with every run of whitespace as one space (templates are laid out by prettier; a browser collapses them alike). */
const flat = (s: string) => s.replace(/\s+/g, ' ');

beforeAll(async () => {
  db = await freshDatabase();
  await runSource('populations', { file: path.join(FIX, 'packs', 'donnees_communes.csv'), ...quiet });
  await runSource('contours', {
    file: path.join(FIX, 'contours', 'communes-35-ille-et-vilaine.geojson'),
    resource: 'communes',
    millesime: '2018',
    ...quiet,
  });
  await runSource('elections', {
    file: path.join(FIX, 'elections', 'resultats-definitifs-par-commune.csv'),
    resource: 'europeennes-2024',
    ...quiet,
  });
  await runSource('budgets', { file: path.join(FIX, 'budgets', 'ofgl-base-communes-consolidee.csv'), resource: 'ofgl', ...quiet });
  // Synthetic births and deaths for Rennes (the état civil fixtures hold other communes): the chart reads the table.
  await pool().query(
    `insert into etat_civil (millesime, code_commune, type, annee, naissances, deces, codes_sources)
     select '2024', '35238', 'commune-actuelle', y, 2500 + y - 2019, 1500 + 2 * (y - 2019), '{35238}' from generate_series(2019, 2023) y`,
  );
  // Synthetic census populations for Rennes (recensement, variables P<yy>_POP): with the population légale, a series to chart.
  await pool().query(
    `insert into recensement_valeur (millesime, code_commune, type, variable, annee, valeur)
     values ('2022', '35238', 'commune-actuelle', 'P11_POP', 2011, 207178), ('2022', '35238', 'commune-actuelle', 'P16_POP', 2016, 216815),
            ('2022', '35238', 'commune-actuelle', 'P22_POP', 2022, 227830)`,
  );
  const r = await buildPacks({ communes: ['35238', '69123', '2A004', '76351'], log: () => undefined });
  expect(r.built).toBe(4);
  invalidateReferential();
  resetDataStamp();
  app = await buildServer();
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await db?.cleanup();
});

/** Inline scripts and style attributes would be refused by a strict Content-Security-Policy. */
function expectNoInlineCode(body: string): void {
  expect(body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  expect(body).not.toMatch(/\sstyle="/);
  expect(body).not.toMatch(/<style/);
  expect(body).not.toMatch(/\son[a-z]+="/);
}

describe('home and search (without JavaScript)', () => {
  test('the home page is French, on the DSFR served locally, with a search form', async () => {
    const res = await get('/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('<html lang="fr"');
    expect(res.body).toMatch(/<link rel="stylesheet" href="\/static\/dsfr-[0-9.]+\/dsfr\.min\.css"/);
    expect(res.body).not.toMatch(/(href|src)="https?:\/\/(?!www\.etalab|www\.data\.gouv|www\.insee|schema\.data)/);
    expect(res.body).toContain('<form action="/recherche" method="get" role="search"');
    expect(res.body).toContain('name="q"');
    expect(res.body).toContain('class="fr-header"');
    expect(res.body).toContain('href="/mentions-legales"');
    expect(res.body).toContain('href="/accessibilite"');
    expectNoInlineCode(res.body);
    // The http layer's Content-Security-Policy allows only this server's scripts and styles: the pages need no more.
    expect(res.headers['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
    expect(res.headers['content-security-policy']).toMatch(/style-src 'self'(;|$)/);
    // The DSFR, Chart.js and the site's files come from this server.
    for (const m of res.body.matchAll(/(?:href|src)="(\/static\/[^"]+)"/g)) {
      const a = await get(m[1]);
      expect([m[1], a.statusCode]).toEqual([m[1], 200]);
    }
  });

  test('results page: a name ranked as geo.api with boost=population, a postcode, an INSEE code, an empty query', async () => {
    const renn = await get('/recherche?q=renn');
    expect(renn.statusCode).toBe(200);
    const first = /<ol class="resultats"[^>]*>\s*<li><a href="([^"]+)">([^<]+)<\/a>/.exec(renn.body);
    expect(first?.slice(1)).toEqual(['/communes/35238/page', 'Rennes']);
    const cp = await get('/recherche?q=35000');
    expect(cp.body).toContain('href="/communes/35238/page">Rennes</a>');
    expect(cp.body).toContain('code postal 35000');
    const insee = await get('/recherche?q=2a004');
    expect(insee.body).toContain('href="/communes/2A004/page">Ajaccio</a>');
    const empty = await get('/recherche?q=');
    expect(empty.body).toContain('Saisissez le nom d’une commune');
    const none = await get('/recherche?q=zzzzzz');
    expect(none.body).toContain('Aucune commune trouvée');
  });
});

describe('the commune page', () => {
  let body: string;
  beforeAll(async () => {
    const res = await get('/communes/35238/page');
    expect(res.statusCode).toBe(200);
    body = flat(res.body);
  });

  test('DSFR header and footer, title with the right article, download button', () => {
    expect(body).toContain('<h1>Données ouvertes de Rennes</h1>');
    expect(body).toContain('class="fr-header"');
    expect(body).toContain('class="fr-footer"');
    expect(body).toMatch(
      /<a class="fr-btn[^"]*" id="telecharger" href="\/communes\/35238\/pack\.zip" download\s*>\s*Télécharger le dossier de Rennes \(ZIP, [0-9,]+ Ko\)/,
    );
    expectNoInlineCode(body);
  });

  test('key figures: population with its vintage, area from the contour, EPCI, postcodes', () => {
    expect(body).toMatch(
      />\d[\d\s\u202f]* habitants<\/span>\s*<span class="fr-text--sm">population municipale, populations légales 2021 \(en vigueur au 1er janvier 2024\), INSEE/,
    );
    expect(body).toMatch(/[0-9]+,[0-9] km²/);
    expect(body).toContain('Rennes Métropole');
    expect(body).toContain('35000, 35200, 35700');
  });

  test('the contour drawn server-side as SVG, with the neighbours', () => {
    expect(body).toMatch(/<svg class="carte" viewBox="-?\d+ -?\d+ \d+ \d+" role="img"/);
    expect(body).toMatch(/<path class="carte__commune" d="M -?\d+ -?\d+/);
    expect(body).toContain('class="carte__voisine"');
    expect(body).toContain('href="/communes/35281/page">Saint-Jacques-de-la-Lande</a>');
  });

  test('population over time: censuses and the population légale, one point per year', () => {
    expect(body).toMatch(/<figure class="graphique fr-mb-6w" id="graphique-population" data-graphique="line"/);
    const fig = body.slice(body.indexOf('id="graphique-population"'), body.indexOf('</figure>', body.indexOf('id="graphique-population"')));
    expect([...fig.matchAll(/<th scope="row">(\d{4})<\/th>/g)].map((m) => m[1])).toEqual(['2011', '2016', '2021', '2022']);
    expect(fig).toContain('data-valeur="207178"');
  });

  test('charts from the database, each with its data table: budget, births and deaths', () => {
    expect(body).toContain('data-graphique="barh"');
    expect(body).toMatch(/<figcaption[^>]*>Budget principal 2023 : principaux agrégats, en euros par habitant<\/figcaption>/);
    expect(body).toMatch(/<figcaption[^>]*>Naissances et décès des habitants, par année<\/figcaption>/);
    expect(body).toContain('<th scope="row">2023</th>');
    expect(body).toContain('data-valeur="2504"');
    expect(body).toContain('src="/static/chartjs-');
  });

  test('files with plain-French labels, no raw source id or millésime key; empty files not listed as data', () => {
    expect(body).toContain('<a href="/communes/35238/fichiers/population.csv">Populations légales</a>');
    expect(body).toContain('Contour de la commune');
    // The page's own text (the LISEZMOI below it is the pack's text, written by src/packs/content.ts).
    const own = body.slice(0, body.indexOf('id="lisezmoi-titre"'));
    expect(own).not.toMatch(/>contours</);
    expect(own).not.toMatch(/millésime europeennes|europeennes-2024/);
    expect(own).not.toContain('0 ligne');
    // Rennes has no row in the elections fixture (Ain, Rhône): not a file of its dossier, but a reason.
    const files = body.slice(body.indexOf('id="fichiers-titre"'), body.indexOf('id="absent-titre"'));
    expect(files).not.toContain('elections_resultats.csv');
  });

  test('"Non disponible pour votre commune" names each absent source and why', () => {
    const absent = body.slice(body.indexOf('id="absent-titre"'), body.indexOf('id="sources-titre"'));
    expect(absent).toContain('Non disponible pour votre commune');
    expect(absent).toMatch(
      /<strong>Résultats des élections par commune<\/strong> \(Ministère de l&#39;Intérieur\) : l’édition chargée \(Européennes 2024\) ne couvre pas le département Ille-et-Vilaine \(35\)/,
    );
    expect(absent).toMatch(/<strong>Base Adresse Nationale<\/strong> [^:]+: non chargée sur ce service/);
    expect(absent).toContain('Naissances et décès domiciliés par commune');
  });

  test('LISEZMOI rendered as HTML under the page headings', () => {
    const lz = body.slice(body.indexOf('id="lisezmoi-titre"'));
    expect(lz).toMatch(/<h3>Données ouvertes de Rennes \(35238\)<\/h3>/);
    expect(lz).toMatch(/<h4>Contenu<\/h4>/);
    expect(lz).toContain('<table>');
    expect(lz).not.toMatch(/^#+ /m);
  });

  test('a page with elections: the chart names the scrutin in plain French', async () => {
    const lyon = flat((await get('/communes/69123/page')).body);
    expect(lyon).toContain('<h1>Données ouvertes de Lyon</h1>');
    expect(lyon).toContain('Européennes 2024 : voix par candidat ou liste');
    expect(lyon).not.toContain('europeennes-2024<');
  });

  test('names take the article of their TNCC: d’Ajaccio, du Havre, des Abymes', async () => {
    expect((await get('/communes/2A004/page')).body).toContain('<h1>Données ouvertes d&#39;Ajaccio</h1>');
    expect((await get('/communes/76351/page')).body).toContain('<h1>Données ouvertes du Havre</h1>');
    const abymes = (await get('/communes/97101/page')).body;
    expect(abymes).toContain('<h1>Données ouvertes des Abymes</h1>');
    // No pack built for it here: said so, no broken button.
    expect(abymes).toContain('n’est pas encore construit');
  });

  test('rendered once, then served from the cache with an ETag (304)', async () => {
    const a = await get('/communes/35238/page');
    expect(a.headers.etag).toBeTruthy();
    const b = await get('/communes/35238/page', { 'if-none-match': String(a.headers.etag) });
    expect(b.statusCode).toBe(304);
  });
});

describe('postcodes and codes that are not a current commune', () => {
  test('a postcode of one commune opens it with a notice; the API keeps its 404', async () => {
    const res = await get('/communes/35000/page');
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/communes/35238/page?cp=35000');
    const page = await get('/communes/35238/page?cp=35000');
    expect(page.body).toContain('Le code postal 35000 est celui de Rennes (code INSEE 35238).');
    expect((await get('/communes/35000')).statusCode).toBe(404);
  });

  test('a postcode shared by several communes: a choice page', async () => {
    const res = await get('/communes/35760/page');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Code postal 35760 : 2 communes');
    expect(res.body).toContain('href="/communes/35189/page">Montgermont</a>');
    expect(res.body).toContain('href="/communes/35278/page">Saint-Grégoire</a>');
  });

  test('a commune code that is also another commune’s postcode: the page, with a notice', async () => {
    const res = await get('/communes/69001/page');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<h1>Données ouvertes d&#39;Affoux</h1>');
    expect(flat(res.body)).toMatch(
      /69001 est aussi le code postal de <a href="\/communes\/69381\/page">Lyon 1er Arrondissement<\/a> \(69381\) : cherchiez-vous cette commune \?/,
    );
  });

  test('13001 opens Aix-en-Provence with a notice naming Marseille 1er', async () => {
    const res = await get('/communes/13001/page');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<h1>Données ouvertes d&#39;Aix-en-Provence</h1>');
    expect(flat(res.body)).toContain(
      '13001 est aussi le code postal de <a href="/communes/13201/page">Marseille 1er Arrondissement</a> (13201)',
    );
  });

  test('an old code: a notice on the page, the 301 stays on the API', async () => {
    const res = await get('/communes/35112/page');
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/35112 était le code/);
    expect(res.body).toContain('href="/communes/35062/page"');
    const api = await get('/communes/35112');
    expect(api.statusCode).toBe(301);
    expect(api.headers.location).toBe('/communes/35062');
    expect((await get('/communes/35112/pack.zip')).statusCode).toBe(301);
  });

  test('French 404 pages for browsers; JSON for API clients', async () => {
    const unknown = await get('/communes/99999/page');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toContain('<h1>Page introuvable</h1>');
    expect(unknown.body).toContain('Aucune commune n’a le code 99999');
    const bad = await get('/communes/abc/page');
    expect(bad.statusCode).toBe(404);
    expect(bad.body).toContain('n’est pas un code de commune');
    const html = await get('/nulle-part', { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
    expect(html.statusCode).toBe(404);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.body).toContain('Aucune page n’existe à l’adresse /nulle-part.');
    const json = await get('/nulle-part', { accept: 'application/json' });
    expect(json.statusCode).toBe(404);
    expect(json.json()).toEqual({ message: 'aucune ressource à cette adresse : GET /nulle-part' });
  });
});

describe('legal pages and static files', () => {
  test('mentions légales, accessibility statement, personal data', async () => {
    for (const [url, h1] of [
      ['/mentions-legales', 'Mentions légales'],
      ['/accessibilite', 'Déclaration d’accessibilité'],
      ['/donnees-personnelles', 'Données personnelles et cookies'],
    ]) {
      const res = await get(url);
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain(`<h1>${h1}</h1>`);
      expectNoInlineCode(res.body);
    }
    expect((await get('/accessibilite')).body).toContain('<strong>non conforme</strong>');
  });

  test('static files under one prefix, long-cached; nothing outside their folders', async () => {
    const js = await get('/static/site/site.js');
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect(js.headers['cache-control']).toMatch(/immutable/);
    expect((await get('/static/site/../../../package.json')).statusCode).toBe(404);
    expect((await get('/static/site/%2e%2e/%2e%2e/%2e%2e/package.json')).statusCode).toBe(404);
    expect((await get('/static/nothing/x.js')).statusCode).toBe(404);
  });
});

describeRealData('historical codes with the genuine INSEE movements table', () => {
  beforeAll(async () => {
    await runSource('cog', { file: sharedFile('cog', 'mouvements-communes.csv'), resource: 'mouvements', force: true, ...quiet });
    invalidateReferential();
    resetDataStamp();
  });

  test('75012: "était le code de Boulogne-Billancourt avant 1968 ; cherchiez-vous Paris 12e ?"', async () => {
    const res = await get('/communes/75012/page');
    expect(res.statusCode).toBe(200);
    expect(flat(res.body)).toMatch(
      /75012 était le code de Boulogne-Billancourt avant 1968 \(code actuel : <a href="\/communes\/92012\/page">92012<\/a>\) ; cherchiez-vous <a href="\/communes\/75112\/page">Paris 12e Arrondissement<\/a> \(75112\) \?/,
    );
    // The API keeps its contract: a 301 to the current commune.
    const api = await get('/communes/75012');
    expect(api.statusCode).toBe(301);
    expect(api.headers.location).toBe('/communes/92012');
  });

  test('every Paris postcode leads to its arrondissement, never silently elsewhere', async () => {
    for (let n = 1; n <= 20; n++) {
      const cp = `750${String(n).padStart(2, '0')}`;
      const res = await get(`/communes/${cp}/page`);
      const arr = `751${String(n).padStart(2, '0')}`;
      if (res.statusCode === 303) expect(res.headers.location).toBe(`/communes/${arr}/page?cp=${cp}`);
      else {
        expect(res.statusCode).toBe(200);
        expect(res.body).toContain(`href="/communes/${arr}/page"`);
      }
    }
  });
});
