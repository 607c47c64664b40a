import type { PackVersion } from '../packs/store';
import { deCommune } from '../communes/names';
import type { CommuneRec } from '../communes/referential';
import type { CommunePageData, SourceStatus } from './commune-data';
import { chart, mapSvg } from './charts';
import { SafeHtml, html } from './html';
import { electionLabel, fileLabel, formatBytes, formatDate, formatInt, formatNumber, formatOf, lignes, millesimeLabel } from './labels';
import { page } from './layout';
import { elusSection, socleSection } from './socle-page';

/**
 * The commune page: what the pack is and the button to download it, key figures, the contour,
 * charts of what is better seen than read, every file with a plain-French label, what is not
 * available for this commune and why, sources and licences, and the LISEZMOI as HTML.
 */
export interface CommunePageInput {
  data: CommunePageData;
  version: PackVersion | null;
  lisezmoi: SafeHtml | null;
  /** Notices to show above the title (historical code, shared postcode). */
  notices: SafeHtml[];
}

const TYPE_LABELS: Record<string, string> = {
  'commune-actuelle': 'Commune',
  'arrondissement-municipal': 'Arrondissement municipal',
};

function communeTitle(rec: CommuneRec): string {
  return `Données ouvertes ${deCommune(rec.nom, rec.tncc)}`;
}

/**
 * The population of the key-figures card: the one figure a person compares with commune.json and
 * population.csv (issue 12). A function of its own so that a test renders it for every commune.
 */
export function populationFigure(p: CommunePageData['population']): SafeHtml {
  return p
    ? html`<span class="chiffres-cles__valeur">${formatInt(p.pmun)} habitants</span>
        <span class="fr-text--sm">population municipale, ${millesimeLabel('populations', p.millesime)}, INSEE</span>`
    : html`<span class="fr-text--sm">Non disponible : les populations légales ne sont pas chargées sur ce service.</span>`;
}

function keyFigures(d: CommunePageData): SafeHtml {
  const c = d.rec;
  return html`<section class="chiffres-cles fr-p-3w" aria-labelledby="chiffres-titre">
    <h2 id="chiffres-titre" class="fr-h4">Chiffres clés</h2>
    <dl>
      <div>
        <dt>Population</dt>
        <dd>${populationFigure(d.population)}</dd>
      </div>
      <div>
        <dt>Superficie</dt>
        <dd>
          ${
            d.surfaceKm2 !== null
              ? html`<span class="chiffres-cles__valeur">${formatNumber(d.surfaceKm2, d.surfaceKm2 < 10 ? 2 : 1)} km²</span>
                  <span class="fr-text--sm">calculée sur le contour de l’IGN (géographie ${String(d.surfaceCog)})</span>`
              : html`<span class="fr-text--sm">Non disponible : pas de contour chargé pour cette commune.</span>`
          }
        </dd>
      </div>
      <div>
        <dt>Intercommunalité</dt>
        <dd>
          ${d.epci ? html`${d.epci.nom} <span class="fr-text--sm">SIREN ${d.epci.code}</span>` : 'Aucune (commune isolée ou non renseignée)'}
        </dd>
      </div>
      <div>
        <dt>Code${c.codesPostaux.length > 1 ? 's' : ''} postal${c.codesPostaux.length > 1 ? 'aux' : ''}</dt>
        <dd>${c.codesPostaux.length ? c.codesPostaux.join(', ') : 'Non renseigné'}</dd>
      </div>
      <div>
        <dt>Code INSEE</dt>
        <dd>${c.code}</dd>
      </div>
      ${
        c.siren
          ? html`<div>
              <dt>SIREN de la commune</dt>
              <dd>${c.siren}</dd>
            </div>`
          : ''
      }
    </dl>
  </section>`;
}

function mapSection(d: CommunePageData): SafeHtml {
  if (!d.map)
    return html`<section class="carte-bloc fr-p-3w" aria-labelledby="carte-bloc-titre">
      <h2 id="carte-bloc-titre" class="fr-h4">Carte</h2>
      <p class="fr-text--sm">Le contour de cette commune n’est pas chargé sur ce service.</p>
    </section>`;
  return html`<section class="carte-bloc fr-p-3w" aria-labelledby="carte-bloc-titre">
    <h2 id="carte-bloc-titre" class="fr-h4">Carte</h2>
    ${mapSvg(d.map, d.rec.nom)}
    <p class="fr-text--xs fr-mb-1w">
      Contour : IGN, ADMIN EXPRESS (géographie ${String(d.map.cog)}), tracé simplifié. En gris, les communes voisines.
    </p>
    ${
      d.map.neighbours.length
        ? html`<details class="fr-text--sm">
            <summary>Communes voisines (${String(d.map.neighbours.length)})</summary>
            <ul class="voisines">
              ${d.map.neighbours.map((n) => html`<li><a href="/communes/${n.code}/page">${n.nom ?? n.code}</a></li>`)}
            </ul>
          </details>`
        : ''
    }
  </section>`;
}

function charts(d: CommunePageData): SafeHtml[] {
  const out: SafeHtml[] = [];
  if (d.populationSeries.length >= 2)
    out.push(
      chart({
        id: 'graphique-population',
        title: 'Population au fil des recensements',
        kind: 'line',
        labelHeader: 'Année',
        series: [{ name: 'Population municipale', unit: 'habitants' }],
        rows: d.populationSeries.map((p) => ({ label: p.label, values: [p.value] })),
        source: 'INSEE, recensements de la population et populations légales',
      }),
    );
  for (const e of d.elections.slice(0, 2))
    if (e.candidats.length)
      out.push(
        chart({
          id: `graphique-${e.election}-t${e.tour}`,
          title: `${electionLabel(e.election, e.tour)} : voix par candidat ou liste`,
          kind: 'barh',
          labelHeader: 'Candidat ou liste',
          series: [{ name: 'Part des suffrages exprimés', unit: '%', digits: 2 }],
          rows: e.candidats.slice(0, 15).map((c) => ({ label: c.nom, values: [c.pct] })),
          source: `ministère de l’Intérieur${e.participation !== null ? ` ; participation : ${formatNumber(e.participation, 2)} % des inscrits` : ''}${e.exprimes !== null ? ` ; ${formatInt(e.exprimes)} suffrages exprimés` : ''}`,
        }),
      );
  if (d.budget && d.budget.postes.some((p) => p.parHabitant !== null))
    out.push(
      chart({
        id: 'graphique-budget',
        title: `Budget principal ${d.budget.exercice} : principaux agrégats, en euros par habitant`,
        kind: 'barh',
        labelHeader: 'Agrégat',
        series: [{ name: 'Euros par habitant', unit: '€', digits: 0 }],
        rows: d.budget.postes.filter((p) => p.parHabitant !== null).map((p) => ({ label: p.agregat, values: [p.parHabitant] })),
        source: 'Observatoire des finances et de la gestion publique locales (OFGL), comptes consolidés des communes',
      }),
    );
  if (d.etatCivil.length)
    out.push(
      chart({
        id: 'graphique-naissances-deces',
        title: 'Naissances et décès des habitants, par année',
        kind: 'bar',
        labelHeader: 'Année',
        series: [
          { name: 'Naissances', unit: '' },
          { name: 'Décès', unit: '' },
        ],
        rows: d.etatCivil.map((r) => ({ label: String(r.annee), values: [r.naissances, r.deces] })),
        source: 'INSEE, état civil (naissances et décès domiciliés)',
      }),
    );
  return out;
}

function filesTable(code: string, v: PackVersion, d: CommunePageData): SafeHtml {
  const rowsOf = new Map<string, number>();
  for (const s of Object.values(d.donnees)) for (const [f, n] of Object.entries(s.lignes)) rowsOf.set(f, n);
  // An empty file is not a dataset for this commune: it is listed under "Non disponible" instead.
  const files = v.files.filter((f) => rowsOf.get(f.name) !== 0);
  return html`<div class="fr-table fr-table--no-caption fichiers">
    <div class="fr-table__wrapper">
      <div class="fr-table__container" tabindex="0" role="region" aria-label="Fichiers du dossier">
        <div class="fr-table__content">
          <table>
            <caption>
              Fichiers du dossier
            </caption>
            <thead>
              <tr>
                <th scope="col">Contenu</th>
                <th scope="col" class="fichiers__col">Fichier</th>
                <th scope="col" class="fichiers__col">Format</th>
                <th scope="col" class="fichiers__col">Taille</th>
              </tr>
            </thead>
            <tbody>
              ${files.map((f) => {
                const l = fileLabel(f.name);
                const n = rowsOf.get(f.name);
                const count = n !== undefined && f.name.endsWith('.csv') ? lignes(n) : '';
                // On a phone only the first column shows (site.css): it carries the link and, on its second line, the rest.
                return html`<tr>
                  <td>
                    <a href="/communes/${code}/fichiers/${encodeURIComponent(f.name)}">${l.title}</a>
                    <span class="fichiers__resume fr-text--xs"
                      >${[f.name, formatOf(f.name), formatBytes(f.bytes), count].filter(Boolean).join(' · ')}</span
                    >
                    ${count ? html`<span class="fichiers__lignes fr-text--xs">${count}</span>` : ''}
                  </td>
                  <td class="fichiers__col">${f.name}</td>
                  <td class="fichiers__col">${formatOf(f.name)}</td>
                  <td class="fichiers__col">${formatBytes(f.bytes)}</td>
                </tr>`;
              })}
            </tbody>
          </table>
        </div>
      </div>
    </div>
  </div>`;
}

/** Why a source gives nothing for this commune, in plain French. */
function absentReason(s: SourceStatus, d: CommunePageData): string {
  if (!s.millesime)
    return s.lastError
      ? 'non chargée sur ce service (le fichier national n’a pas été trouvé au dernier chargement).'
      : 'non chargée sur ce service.';
  const edition = millesimeLabel(s.id, s.millesime);
  if (s.departementCovered === false)
    return `l’édition chargée (${edition}) ne couvre pas le département ${d.departement ? `${d.departement.nom} (${d.departement.code})` : 'de la commune'} sur ce service.`;
  return `l’édition chargée (${edition}) ne contient aucune ligne pour cette commune.`;
}

function unavailable(d: CommunePageData): SafeHtml {
  const absent = d.sources.filter((s) => !s.millesime || Object.values(s.lignes ?? {}).every((n) => n === 0));
  const partial = d.sources.filter(
    (s) => s.millesime && s.lignes && Object.values(s.lignes).some((n) => n > 0) && Object.values(s.lignes).some((n) => n === 0),
  );
  if (!absent.length && !partial.length) return html``;
  return html`<section class="fr-mt-6w" aria-labelledby="absent-titre">
    <h2 id="absent-titre">Non disponible pour votre commune</h2>
    <p>Ces données ne sont pas dans le dossier de la commune. La raison est donnée pour chacune.</p>
    <ul>
      ${absent.map((s) => html`<li><strong>${s.title}</strong> (${s.producer}) : ${absentReason(s, d)}</li>`)}
      ${partial.map((s) => {
        const empty = Object.entries(s.lignes!)
          .filter(([, n]) => n === 0)
          .map(([f]) => fileLabel(f).title);
        return html`<li>
          <strong>${s.title}</strong> (${s.producer}) : l’édition chargée (${millesimeLabel(s.id, s.millesime!)}) n’a pas de ligne pour
          cette commune dans : ${empty.join(', ')}.
        </li>`;
      })}
    </ul>
  </section>`;
}

function sourcesList(d: CommunePageData): SafeHtml {
  const loaded = d.sources.filter((s) => s.millesime && Object.values(s.lignes ?? {}).some((n) => n > 0));
  if (!loaded.length) return html``;
  return html`<section class="fr-mt-6w" aria-labelledby="sources-titre">
    <h2 id="sources-titre">Sources et licences</h2>
    <ul>
      ${loaded.map(
        (s) =>
          html`<li>
            <strong>${s.title}</strong> : ${s.producer}, ${millesimeLabel(s.id, s.millesime!)} ; licence
            <a href="${s.licence.url}" rel="noopener external" target="_blank" title="${s.licence.title} - nouvelle fenêtre"
              >${s.licence.title}</a
            >.
          </li>`,
      )}
    </ul>
  </section>`;
}

export function communePage(input: CommunePageInput): string {
  const { data: d, version: v } = input;
  const c = d.rec;
  const title = communeTitle(c);
  const where = [
    TYPE_LABELS[c.type] ?? 'Commune',
    d.parent ? html`de <a href="/communes/${d.parent.code}/page">${d.parent.nom}</a>` : '',
    d.departement ? `${d.departement.nom} (${d.departement.code})` : '',
    d.region ? d.region.nom : '',
  ].filter((x) => x !== '');
  const graphs = charts(d);
  const main = html`${input.notices}
    <h1>${title}</h1>
    <p class="fr-text--lead">${where.map((w, i) => html`${i ? ' · ' : ''}${w}`)}</p>
    <div class="fr-callout fr-icon-download-line fr-mb-6w">
      <h2 class="fr-callout__title">Le dossier de données de la commune</h2>
      <p class="fr-callout__text">
        Ce dossier rassemble les données publiques nationales qui concernent ${c.nom} (INSEE, IGN, ministère de l’Intérieur…), découpées
        pour la commune et prêtes à être publiées sur data.gouv.fr ou sur le portail de données de la commune. Le mode d’emploi est dans le
        fichier LISEZMOI, reproduit en bas de cette page.
      </p>
      ${
        v
          ? html`<a
                class="fr-btn fr-btn--lg fr-btn--icon-left fr-icon-download-line"
                id="telecharger"
                href="/communes/${c.code}/pack.zip"
                download
              >
                Télécharger le dossier ${deCommune(c.nom, c.tncc)} (ZIP, ${formatBytes(v.bytes)})
              </a>
              <p class="fr-text--sm fr-mt-2w fr-mb-0">
                Version ${v.version}, construite le ${formatDate(v.createdAt)} · ${String(v.files.length)} fichiers ·
                <a href="/communes/${c.code}/pack">liste technique des versions (JSON)</a>
              </p>`
          : html`<p class="fr-callout__text">
              <strong>Le dossier de cette commune n’est pas encore construit.</strong> Revenez plus tard.
            </p>`
      }
    </div>
    ${elusSection(d)}
    <div class="fr-grid-row fr-grid-row--gutters">
      <div class="fr-col-12 fr-col-md-6">${keyFigures(d)}</div>
      <div class="fr-col-12 fr-col-md-6">${mapSection(d)}</div>
    </div>
    ${
      graphs.length
        ? html`<section class="fr-mt-6w" aria-labelledby="graphiques-titre">
            <h2 id="graphiques-titre">En un coup d’œil</h2>
            ${graphs}
          </section>`
        : ''
    }
    ${socleSection(d)}
    ${
      v
        ? html`<section class="fr-mt-6w" aria-labelledby="fichiers-titre">
            <h2 id="fichiers-titre">Les fichiers du dossier</h2>
            <p>
              Chaque fichier peut aussi être ouvert seul. Les tableaux (CSV) s’ouvrent dans un tableur ; les cartes (GeoJSON) dans QGIS ou
              sur geojson.io.
            </p>
            ${filesTable(c.code, v, d)}
          </section>`
        : ''
    }
    ${unavailable(d)} ${sourcesList(d)}
    ${
      input.lisezmoi
        ? html`<section class="fr-mt-6w lisezmoi" aria-labelledby="lisezmoi-titre">
            <h2 id="lisezmoi-titre">Mode d’emploi du dossier (LISEZMOI)</h2>
            ${input.lisezmoi}
          </section>`
        : ''
    }`;
  return page({
    title: `${title} (${c.code})`,
    description: `${title} : élus, population, carte, élections, budget, associations, marchés publics, urbanisme, santé, écoles et dossier de données ouvertes à télécharger.`,
    breadcrumb: [{ label: 'Accueil', href: '/' }, { label: c.nom }],
    charts: graphs.length > 0,
    main,
  });
}
