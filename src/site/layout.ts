import { assets } from './assets';
import { SafeHtml, html } from './html';

/**
 * The DSFR page shell shared by every public page (and meant for the operator console): head,
 * skip links, header with the bloc marque and the service name, optional breadcrumb, main,
 * footer with the mandatory links. Only local files are loaded; no inline script or style.
 */
export const SERVICE_NAME = 'Dotation de données communales';
const SERVICE_TAGLINE = 'Les données ouvertes de votre commune, prêtes à publier';

interface Crumb {
  label: string;
  href?: string;
}

export interface PageOptions {
  /** <title>, without the service name (added after a dash). */
  title: string;
  main: SafeHtml;
  description?: string;
  breadcrumb?: Crumb[];
  /** Keep the search field out of the header (the home page has its own). */
  hideHeaderSearch?: boolean;
  /** Load Chart.js (pages with charts). */
  charts?: boolean;
  /** Notices, errors: not worth indexing. */
  noindex?: boolean;
  /** Current path, for aria-current in the footer links. */
  path?: string;
  /** Under the service name (default: the public site's tagline; the operator console says what it is). */
  tagline?: string;
  /** Links or buttons of the header's tool area (the console's sign-out), instead of the public search. */
  headerTools?: SafeHtml;
  /** Main navigation (`<nav class="fr-nav">` items) under the header, with its mobile menu button. */
  navigation?: SafeHtml;
  /** More local scripts (URLs under /static), loaded deferred after the site's. */
  scripts?: string[];
}

function headerSearch(): SafeHtml {
  return html`<div class="fr-header__search fr-modal" id="modal-recherche">
    <div class="fr-container fr-container-lg--fluid">
      <button class="fr-btn--close fr-btn" aria-controls="modal-recherche" title="Fermer">Fermer</button>
      <form action="/recherche" method="get" role="search" class="fr-search-bar" id="recherche-entete">
        <label class="fr-label" for="recherche-entete-champ">Rechercher une commune</label>
        <input
          class="fr-input"
          placeholder="Nom, code postal ou code INSEE"
          type="search"
          id="recherche-entete-champ"
          name="q"
          autocomplete="off"
        />
        <button class="fr-btn" type="submit" title="Rechercher">Rechercher</button>
      </form>
    </div>
  </div>`;
}

function header(opts: PageOptions): SafeHtml {
  return html`<header role="banner" class="fr-header">
    <div class="fr-header__body">
      <div class="fr-container">
        <div class="fr-header__body-row">
          <div class="fr-header__brand fr-enlarge-link">
            <div class="fr-header__brand-top">
              <div class="fr-header__logo">
                <p class="fr-logo">République<br />Française</p>
              </div>
              ${
                opts.navigation
                  ? html`<div class="fr-header__navbar">
                      <button
                        class="fr-btn--menu fr-btn"
                        data-fr-opened="false"
                        aria-controls="menu-principal"
                        title="Menu"
                        type="button"
                        id="bouton-menu"
                      >
                        Menu
                      </button>
                    </div>`
                  : opts.hideHeaderSearch
                    ? ''
                    : html`<div class="fr-header__navbar">
                        <button
                          class="fr-btn--search fr-btn"
                          data-fr-opened="false"
                          aria-controls="modal-recherche"
                          title="Rechercher une commune"
                          type="button"
                        >
                          Rechercher
                        </button>
                      </div>`
              }
            </div>
            <div class="fr-header__service">
              <a href="/" title="Accueil - ${SERVICE_NAME}">
                <p class="fr-header__service-title">${SERVICE_NAME}</p>
              </a>
              <p class="fr-header__service-tagline">${opts.tagline ?? SERVICE_TAGLINE}</p>
            </div>
          </div>
          ${
            opts.headerTools
              ? html`<div class="fr-header__tools"><div class="fr-header__tools-links">${opts.headerTools}</div></div>`
              : opts.hideHeaderSearch
                ? ''
                : html`<div class="fr-header__tools">${headerSearch()}</div>`
          }
        </div>
      </div>
    </div>
    ${
      opts.navigation
        ? html`<div class="fr-header__menu fr-modal" id="menu-principal" aria-labelledby="bouton-menu">
            <div class="fr-container">
              <button class="fr-btn--close fr-btn" aria-controls="menu-principal" title="Fermer" type="button">Fermer</button>
              <!-- the DSFR's script copies the header's tool links here for small screens -->
              <div class="fr-header__menu-links"></div>
              <nav class="fr-nav" id="navigation-principale" role="navigation" aria-label="Menu principal">${opts.navigation}</nav>
            </div>
          </div>`
        : ''
    }
  </header>`;
}

function breadcrumb(crumbs: Crumb[]): SafeHtml {
  return html`<nav role="navigation" class="fr-breadcrumb" aria-label="vous êtes ici :">
    <button class="fr-breadcrumb__button" aria-expanded="false" aria-controls="fil-ariane">Voir le fil d’Ariane</button>
    <div class="fr-collapse" id="fil-ariane">
      <ol class="fr-breadcrumb__list">
        ${crumbs.map((c, i) =>
          c.href && i < crumbs.length - 1
            ? html`<li><a class="fr-breadcrumb__link" href="${c.href}">${c.label}</a></li>`
            : html`<li><a class="fr-breadcrumb__link" aria-current="page">${c.label}</a></li>`,
        )}
      </ol>
    </div>
  </nav>`;
}

const FOOTER_LINKS: { href: string; label: string }[] = [
  { href: '/accessibilite', label: 'Accessibilité : non conforme' },
  { href: '/mentions-legales', label: 'Mentions légales' },
  { href: '/donnees-personnelles', label: 'Données personnelles et cookies' },
  { href: '/openapi.json', label: 'API (OpenAPI)' },
  { href: '/catalog.jsonld', label: 'Catalogue DCAT' },
];

function footer(path: string | undefined): SafeHtml {
  return html`<footer class="fr-footer" role="contentinfo" id="pied-de-page">
    <div class="fr-container">
      <div class="fr-footer__body">
        <div class="fr-footer__brand fr-enlarge-link">
          <a href="/" title="Retour à l’accueil du site - ${SERVICE_NAME}">
            <p class="fr-logo">République<br />Française</p>
          </a>
        </div>
        <div class="fr-footer__content">
          <p class="fr-footer__content-desc">
            ${SERVICE_NAME} rassemble, pour chaque commune, les données publiques nationales qui la concernent (INSEE, IGN, ministère de
            l’Intérieur et autres producteurs), dans un dossier prêt à publier sur data.gouv.fr ou sur le portail de la commune.
          </p>
          <ul class="fr-footer__content-list">
            <li class="fr-footer__content-item">
              <a
                class="fr-footer__content-link"
                href="https://www.data.gouv.fr"
                rel="noopener external"
                target="_blank"
                title="data.gouv.fr - nouvelle fenêtre"
                >data.gouv.fr</a
              >
            </li>
            <li class="fr-footer__content-item">
              <a
                class="fr-footer__content-link"
                href="https://www.insee.fr"
                rel="noopener external"
                target="_blank"
                title="insee.fr - nouvelle fenêtre"
                >insee.fr</a
              >
            </li>
            <li class="fr-footer__content-item">
              <a
                class="fr-footer__content-link"
                href="https://schema.data.gouv.fr"
                rel="noopener external"
                target="_blank"
                title="schema.data.gouv.fr - nouvelle fenêtre"
                >schema.data.gouv.fr</a
              >
            </li>
          </ul>
        </div>
      </div>
      <div class="fr-footer__bottom">
        <ul class="fr-footer__bottom-list">
          ${FOOTER_LINKS.map(
            (l) =>
              html`<li class="fr-footer__bottom-item">
                <a class="fr-footer__bottom-link" href="${l.href}" ${l.href === path ? html`aria-current="page"` : ''}>${l.label}</a>
              </li>`,
          )}
        </ul>
        <div class="fr-footer__bottom-copy">
          <p>
            Sauf mention contraire, les données sont publiées par leurs producteurs sous leurs licences, nommées dans chaque dossier. Les
            textes de ce site sont sous
            <a
              href="https://www.etalab.gouv.fr/licence-ouverte-open-licence"
              rel="noopener external"
              target="_blank"
              title="Licence Ouverte 2.0 - nouvelle fenêtre"
              >Licence Ouverte 2.0</a
            >.
          </p>
        </div>
      </div>
    </div>
  </footer>`;
}

/** A whole page. */
export function page(opts: PageOptions): string {
  const title = `${opts.title} - ${SERVICE_NAME}`;
  return `<!doctype html>\n${html`<html lang="fr" data-fr-scheme="light">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1, shrink-to-fit=no" />
      <meta name="format-detection" content="telephone=no,date=no,address=no,email=no,url=no" />
      <title>${title}</title>
      ${opts.description ? html`<meta name="description" content="${opts.description}" />` : ''}
      ${opts.noindex ? html`<meta name="robots" content="noindex" />` : ''}
      <meta name="theme-color" content="#000091" />
      <link rel="icon" href="${assets.favicon}" type="image/svg+xml" />
      <link rel="shortcut icon" href="${assets.faviconIco}" type="image/x-icon" />
      <link rel="apple-touch-icon" href="${assets.appleTouch}" />
      <link rel="stylesheet" href="${assets.dsfrCss}" />
      <link rel="stylesheet" href="${assets.iconsCss}" />
      <link rel="stylesheet" href="${assets.siteCss()}" />
    </head>
    <body>
      <div class="fr-skiplinks">
        <nav role="navigation" aria-label="Accès rapide" class="fr-container">
          <ul class="fr-skiplinks__list">
            <li><a class="fr-link" href="#contenu">Contenu</a></li>
            <li><a class="fr-link" href="#pied-de-page">Pied de page</a></li>
          </ul>
        </nav>
      </div>
      ${header(opts)}
      <main role="main" id="contenu" tabindex="-1">
        <div class="fr-container fr-mb-8w">
          ${opts.breadcrumb ? breadcrumb(opts.breadcrumb) : html`<div class="fr-mt-4w"></div>`} ${opts.main}
        </div>
      </main>
      ${footer(opts.path)}
      <script type="module" src="${assets.dsfrModule}"></script>
      <script nomodule src="${assets.dsfrNomodule}"></script>
      ${opts.charts ? html`<script defer src="${assets.chartjs}"></script>` : ''}
      <script defer src="${assets.siteJs()}"></script>
      ${(opts.scripts ?? []).map((src) => html`<script defer src="${src}"></script>`)}
    </body>
  </html>`}\n`;
}
