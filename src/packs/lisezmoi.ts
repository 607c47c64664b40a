import MarkdownIt from 'markdown-it';
import { deCommune } from '../communes/names';
import type { CommuneRow, PackPlan, Shipped, SourceMeta, Unavailable } from './content';
import { historySentences } from './facts';
import type { PackFile } from './zip';

/**
 * LISEZMOI.md, in French, for the mairie: what the commune is (population with its millésime, a
 * commune nouvelle and the communes it was made from), how to open the files, what each file holds,
 * what is not available for the commune and why, the one licence of each dataset, how to cite and
 * publish. LISEZMOI.html is the same text for a double-click in a browser.
 */
const nombre = (n: number) => n.toLocaleString('fr-FR');
const MAX_HISTORY = 5;

function lieuOf(c: CommuneRow): string {
  return c.type === 'arrondissement-municipal' ? `l'arrondissement municipal ${c.nom}` : `la commune ${deCommune(c.nom, c.tncc)}`;
}

/** The one licence of a source, as the line every section of LISEZMOI ends with. */
function licenceLine(s: SourceMeta): string {
  const l = s.facts.licence;
  return `- Licence : ${l.title} (<${l.url}>)`;
}

function communeSection(c: CommuneRow, plan: PackPlan): string[] {
  const out: string[] = ['## La commune', ''];
  const facts: string[] = [];
  facts.push(`- Code INSEE : ${c.code}${c.siren ? ` ; SIREN : ${c.siren}` : ''}`);
  if (c.type === 'arrondissement-municipal' && c.parent_nom)
    facts.push(`- Arrondissement municipal de ${c.parent_nom} (${c.commune_parent})`);
  if (c.dep_nom) facts.push(`- Département : ${c.dep_nom} (${c.departement})`);
  if (c.reg_nom) facts.push(`- Région : ${c.reg_nom} (${c.region})`);
  if (c.epci_nom) facts.push(`- Intercommunalité : ${c.epci_nom} (SIREN ${c.epci})`);
  if (c.codes_postaux?.length)
    facts.push(`- ${c.codes_postaux.length > 1 ? 'Codes postaux' : 'Code postal'} : ${c.codes_postaux.join(', ')}`);
  const p = c.facts?.population;
  if (p)
    facts.push(
      `- Population municipale : ${nombre(p.municipale)} habitants (INSEE, populations légales millésime ${p.millesime}${
        p.anneeRecensement ? `, recensement de ${p.anneeRecensement}` : ''
      }) : le chiffre de population.csv`,
    );
  else {
    const pops = plan.sources.find((s) => s.id === 'populations');
    const why =
      plan.missing.get('populations')?.get(c.code) ??
      (pops ? `absente du millésime ${pops.millesime}` : "populations légales de l'INSEE non chargées");
    facts.push(`- Population : non disponible (${why})`);
  }
  if (c.deleguees?.length)
    facts.push(
      `- Communes déléguées ou associées : ${c.deleguees.map((d) => `${d.nom} (${d.code}, ${d.type === 'commune-associee' ? 'associée' : 'déléguée'})`).join(', ')}`,
    );
  out.push(...facts, '');
  const history = historySentences(c.nom, (c.facts?.history ?? []).slice(0, MAX_HISTORY));
  if (history.length) out.push(...history, '');
  if (plan.cog)
    out.push(
      `Source : ${plan.cog.pipeline.source.producer}, ${plan.cog.pipeline.source.title}, millésime ${plan.cog.millesime} ; historique : table des mouvements des communes du COG de l'INSEE. Ces informations sont dans commune.json.`,
      '',
    );
  return out;
}

export function lisezmoi(c: CommuneRow, plan: PackPlan, present: Shipped[], unavailable: Unavailable[]): string {
  const out: string[] = [];
  const de = deCommune(c.nom, c.tncc);
  out.push(`# Données ouvertes ${de} (${c.code})`, '');
  out.push(
    `Ce dossier est la « dotation de données » de ${lieuOf(c)} (code INSEE ${c.code}${c.dep_nom ? `, ${c.dep_nom}` : ''}${c.reg_nom ? `, ${c.reg_nom}` : ''}). ` +
      `Il rassemble des données ouvertes publiées au niveau national et découpées pour votre territoire, prêtes à être publiées sur le portail de données de la commune ou sur data.gouv.fr.` +
      (plan.cog ? ` Les communes sont celles du code officiel géographique (COG) ${plan.cog.millesime}.` : ''),
    '',
  );
  out.push('## Comment ouvrir les fichiers', '');
  out.push(
    '- LISEZMOI.html : ce texte, à ouvrir d’un double-clic dans votre navigateur (LISEZMOI.md est le même texte, au format Markdown).',
    '- Fichiers .csv : tableaux, à ouvrir d’un double-clic dans Excel ou LibreOffice Calc. Ils sont encodés en UTF-8 avec une marque d’ordre des octets (BOM) en tête, pour qu’Excel affiche les accents correctement, et utilisent le point-virgule comme séparateur. La première ligne donne le nom des colonnes ; leur signification est décrite plus bas et dans datapackage.json.',
    '- Fichiers .geojson : cartes, à ouvrir dans un logiciel de cartographie (QGIS) ou sur <https://geojson.io>.',
    '- Fichiers .json (commune.json, datapackage.json, changes.json) : texte structuré, lisible dans un navigateur ou un éditeur de texte.',
    '',
  );
  if (plan.cog) out.push(...communeSection(c, plan));
  out.push('## Contenu', '');
  out.push('| Fichier | Contenu | Source | Millésime | Lignes |', '|---|---|---|---|---|');
  if (plan.cog)
    out.push(`| commune.json | Fiche d'identité de la commune | ${plan.cog.pipeline.source.producer} | ${plan.cog.millesime} | |`);
  for (const p of present)
    for (const f of p.files)
      out.push(`| ${f.name} | ${f.title} | ${p.source.pipeline.source.producer} | ${p.source.millesime} | ${nombre(f.rows)} |`);
  out.push(
    '| datapackage.json | Description technique de tous les fichiers (format Frictionless Data Package : colonnes, types, tailles, empreintes SHA-256) | dotation | | |',
    '| catalogue.csv | Catalogue des jeux de données au format SCDL « catalogue » (OpenDataFrance) | dotation | | |',
    '| changes.json | Ce qui a changé depuis la version précédente de ce dossier | dotation | | |',
    '| LISEZMOI.html, LISEZMOI.md | Ce texte | dotation | | |',
    '',
  );
  for (const p of present) {
    const s = p.source;
    if (!s.section) continue;
    out.push(s.section.readme({ millesime: s.millesime, publishedAt: s.publishedAt, details: s.details }).trim());
    out.push(licenceLine(s), '');
  }
  out.push('## Non disponible pour votre commune', '');
  if (unavailable.length) {
    out.push(
      'Ces données nationales ne sont pas dans ce dossier. Vous pouvez les consulter chez leur producteur, à l’adresse indiquée :',
      '',
    );
    for (const u of unavailable) out.push(`- ${u.title} (${u.producer}) : ${u.reason} ; <${u.landingPage}>`);
  } else out.push('Toutes les sources de données de ce service ont des données pour votre commune.');
  out.push('');
  out.push('## Licences', '');
  out.push('Chaque jeu de données garde la licence de sa source :');
  for (const s of [...(plan.cog ? [plan.cog] : []), ...present.map((p) => p.source)]) {
    const l = s.facts.licence;
    out.push(`- ${s.pipeline.source.title} : ${l.title} (<${l.url}>)`);
  }
  out.push('');
  out.push('## Comment citer', '');
  out.push('Citez le producteur et le millésime de chaque donnée réutilisée, par exemple :');
  for (const s of [...(plan.cog ? [plan.cog] : []), ...present.map((p) => p.source)])
    out.push(`- « Source : ${s.pipeline.source.producer}, ${s.pipeline.source.title}, millésime ${s.millesime} »`);
  out.push('');
  out.push('## Publier ces données', '');
  out.push('Sur data.gouv.fr :');
  out.push(
    "1. Créez un compte sur <https://www.data.gouv.fr> et rattachez-le à l'organisation de la commune (ou créez-la avec le SIRET de la mairie).",
    '2. Pour chaque ligne de catalogue.csv, cliquez sur « Publier sur data.gouv.fr » > « Un jeu de données » ; reprenez le titre, la description, la licence et la fréquence de mise à jour indiqués.',
    '3. Déposez le ou les fichiers correspondants (colonne FORMAT_RESSOURCES) comme ressources ; indiquez la commune comme couverture spatiale et le millésime comme couverture temporelle.',
    "4. Mentionnez la source d'origine (producteur et lien) dans la description.",
    '',
  );
  const sansDate = [...(plan.cog ? [plan.cog] : []), ...present.map((p) => p.source)].filter((s) => !s.facts.producerDate);
  const sansSiret = present.map((p) => p.source).filter((s) => !s.section?.producerSiret);
  out.push(
    "Sur un portail local (plateforme régionale, départementale ou de l'intercommunalité) : catalogue.csv suit le schéma SCDL « catalogue » 0.1.3 qu'acceptent la plupart de ces portails ; importez-le avec les fichiers. " +
      'Avant de le publier, complétez la colonne COLL_SIRET avec le SIRET de la mairie (14 chiffres) : il ne figure dans aucune donnée nationale chargée par ce service.' +
      (sansSiret.length
        ? ` Complétez aussi PRODUCTEUR_SIRET pour ${sansSiret.map((s) => s.pipeline.source.producer).join(', ')} : leur SIRET n'a pas été vérifié.`
        : ' Les SIRET des producteurs (PRODUCTEUR_SIRET) sont ceux que data.gouv.fr indique pour leur organisation.') +
      (sansDate.length
        ? ` DATE_PUBL et DATE_MAJ sont vides pour ${sansDate.map((s) => s.pipeline.source.title).join(', ')} : aucune source n'indique la date de publication par le producteur ; reprenez-la sur sa page.`
        : ' DATE_PUBL et DATE_MAJ sont les dates de publication par le producteur.'),
    '',
  );
  out.push('## Mises à jour', '');
  out.push(
    `La dernière version de ce dossier est toujours disponible à l'adresse <${plan.baseUrl}/communes/${c.code}/pack.zip>, et la page de la commune à l'adresse <${plan.baseUrl}/communes/${c.code}/page>.`,
    '',
  );
  return out.join('\n');
}

// No linkify (it triples the rendering time over 35,000 packs): the text writes its links as <https://…>.
const md = new MarkdownIt({ html: false, linkify: false, typographer: false });

/** Rendered sections, by their Markdown: most of a LISEZMOI (a source's description, licences) is the same in every pack. */
const rendered = new Map<string, string>();
const RENDERED_MAX = 4000;

/**
 * The Markdown rendered section by section (split before each `## ` heading line), each section's
 * HTML kept by its text: the same HTML as rendering the whole text at once, because a heading
 * ends every block before it and the text defines no link reference (`[x]: url`) that a section
 * could use from another; test/unit/lisezmoi-render.test.ts checks both on a whole pack's text.
 */
export function renderSections(markdown: string): string {
  let out = '';
  for (const section of markdown.split(/^(?=## )/m)) {
    let html = rendered.get(section);
    if (html === undefined) {
      html = md.render(section);
      if (rendered.size >= RENDERED_MAX) rendered.clear(); // bounded: a build's sections are far fewer
      rendered.set(section, html);
    }
    out += html;
  }
  return out;
}

/** The whole text rendered at once (what renderSections must equal). */
export const renderWhole = (markdown: string): string => md.render(markdown);

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * Adds LISEZMOI.html after LISEZMOI.md. Called only when a new version is written: the HTML is a
 * function of the Markdown, which the data hash already covers, so unchanged packs never render it.
 */
export function withLisezmoiHtml(files: PackFile[], c: CommuneRow): PackFile[] {
  const i = files.findIndex((f) => f.name === 'LISEZMOI.md');
  if (i < 0) return files;
  const html: PackFile = { name: 'LISEZMOI.html', data: Buffer.from(lisezmoiHtml(files[i].data.toString('utf8'), c), 'utf8') };
  return [...files.slice(0, i + 1), html, ...files.slice(i + 1)];
}

/**
 * LISEZMOI.html: the same text rendered by markdown-it (raw HTML disabled: the text's markup is
 * escaped), a complete page with no external resource, readable offline on a double-click.
 */
function lisezmoiHtml(markdown: string, c: CommuneRow): string {
  return `<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`Données ouvertes ${deCommune(c.nom, c.tncc)} (${c.code})`)}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#161616}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f0f0f0}a{color:#000091}code{background:#f4f4f4;padding:0 .2rem}
</style>
</head>
<body>
<main>
${renderSections(markdown)}</main>
</body>
</html>
`;
}
