import { deCommune } from '../communes/names';
import type { CommuneRec, Referential } from '../communes/referential';
import { SafeHtml, html } from './html';
import { formatInt } from './labels';
import { SERVICE_NAME, page } from './layout';
import type { CodeMeanings, SearchHit } from './resolve';
import { untilLabel } from './resolve';

/**
 * The other public pages: home with the search field, results, the notice for historical codes
 * and shared postcodes, the 404, and the legal pages (mentions légales, accessibilité,
 * données personnelles).
 */

/** The search form. On the home page, assets/site.js turns the field into an ARIA combobox. */
function searchForm(q = '', error?: string): SafeHtml {
  return html`<form action="/recherche" method="get" role="search" class="recherche" id="recherche-form" novalidate>
    <div class="fr-input-group ${error ? 'fr-input-group--error' : ''}">
      <label class="fr-label" for="recherche">
        Nom de la commune, code postal ou code INSEE
        <span class="fr-hint-text"
          >Par exemple : Rennes, 35000 ou 2A004. Des suggestions s’affichent pendant la saisie ; flèches haut et bas pour les parcourir,
          Entrée pour choisir.</span
        >
      </label>
      <div class="recherche__ligne">
        <div class="recherche__champ">
          <input
            class="fr-input ${error ? 'fr-input--error' : ''}"
            type="search"
            id="recherche"
            name="q"
            value="${q}"
            autocomplete="off"
            spellcheck="false"
            ${error ? html`aria-describedby="recherche-erreur"` : ''}
          />
          <ul id="recherche-suggestions" class="recherche__suggestions" role="listbox" aria-label="Communes suggérées" hidden></ul>
        </div>
        <button class="fr-btn fr-btn--icon-left fr-icon-search-line" type="submit">Rechercher</button>
      </div>
      ${error ? html`<p id="recherche-erreur" class="fr-error-text">${error}</p>` : ''}
      <p id="recherche-statut" class="fr-sr-only" role="status" aria-live="polite"></p>
    </div>
  </form>`;
}

export function homePage(): string {
  return page({
    title: 'Accueil',
    description: 'Trouvez votre commune et téléchargez ses données ouvertes, prêtes à publier.',
    hideHeaderSearch: true,
    path: '/',
    main: html`<div class="fr-grid-row fr-grid-row--center">
      <div class="fr-col-12 fr-col-lg-9">
        <h1>Les données ouvertes de votre commune, prêtes à publier</h1>
        <p class="fr-text--lead">
          Pour chaque commune, ${SERVICE_NAME} rassemble les données publiques nationales qui la concernent — population, contour,
          élections, comptes, équipements… — dans un dossier à télécharger, avec un mode d’emploi pour les publier.
        </p>
        ${searchForm()}
        <div class="fr-grid-row fr-grid-row--gutters fr-mt-4w">
          <div class="fr-col-12 fr-col-md-4">
            <h2 class="fr-h5">1. Trouvez votre commune</h2>
            <p class="fr-text--sm">
              Par son nom, un code postal ou son code INSEE. Les anciens codes des communes fusionnées sont reconnus.
            </p>
          </div>
          <div class="fr-col-12 fr-col-md-4">
            <h2 class="fr-h5">2. Téléchargez le dossier</h2>
            <p class="fr-text--sm">Un fichier ZIP : tableaux CSV, cartes GeoJSON, description des fichiers et catalogue au format SCDL.</p>
          </div>
          <div class="fr-col-12 fr-col-md-4">
            <h2 class="fr-h5">3. Publiez-le</h2>
            <p class="fr-text--sm">Le fichier LISEZMOI explique comment publier chaque fichier sur data.gouv.fr ou sur votre portail.</p>
          </div>
        </div>
      </div>
    </div>`,
  });
}

function communeLine(ref: Referential, c: CommuneRec): SafeHtml {
  const dep = c.departement ? ref.departements.get(c.departement) : undefined;
  const parent = c.type === 'arrondissement-municipal' && c.parent ? ref.current.get(c.parent) : undefined;
  const details = [
    parent ? `arrondissement de ${parent.nom}` : '',
    dep ? `${dep.nom} (${dep.code})` : '',
    c.codesPostaux.length
      ? `${c.codesPostaux.length > 1 ? 'codes postaux' : 'code postal'} ${c.codesPostaux.slice(0, 6).join(', ')}${c.codesPostaux.length > 6 ? '…' : ''}`
      : '',
    c.population ? `${formatInt(c.population)} habitants` : '',
  ].filter(Boolean);
  return html`<a href="/communes/${c.code}/page">${c.nom}</a>
    <span class="fr-text--sm">— ${details.join(' · ')} · code INSEE ${c.code}</span>`;
}

export function resultsPage(ref: Referential, q: string, r: { hits: SearchHit[]; meanings: CodeMeanings | null; total: number }): string {
  const error = q.trim() ? undefined : 'Saisissez le nom d’une commune, un code postal ou un code INSEE.';
  const notice = r.meanings ? codeNoticeText(r.meanings) : null;
  return page({
    title: q.trim() ? `Recherche « ${q.trim()} »` : 'Recherche',
    hideHeaderSearch: true,
    noindex: true,
    breadcrumb: [{ label: 'Accueil', href: '/' }, { label: 'Recherche' }],
    main: html`<h1>Rechercher une commune</h1>
      ${searchForm(q, error)}
      ${
        error
          ? ''
          : html`<h2 class="fr-mt-4w" id="resultats-titre">
                ${r.total === 0 ? 'Aucune commune trouvée' : `${formatInt(r.total)} commune${r.total > 1 ? 's' : ''} trouvée${r.total > 1 ? 's' : ''}`}
                pour « ${q.trim()} »
              </h2>
              ${notice ? html`<p>${notice}</p>` : ''}
              ${
                r.hits.length
                  ? html`<ol class="resultats" aria-labelledby="resultats-titre">
                        ${r.hits.map((h) => html`<li>${communeLine(ref, h.rec)}${h.raison ? html` <span class="fr-badge fr-badge--sm fr-badge--info fr-badge--no-icon">${h.raison}</span>` : ''}</li>`)}
                      </ol>
                      ${r.total > r.hits.length ? html`<p class="fr-text--sm">Seules les ${String(r.hits.length)} premières sont affichées : précisez la recherche.</p>` : ''}`
                  : html`<p>Vérifiez l’orthographe, ou essayez le code postal ou le code INSEE de la commune.</p>`
              }`
      }`,
  });
}

/** One sentence per meaning of a code: "75012 était le code de Boulogne-Billancourt avant 1968 ; cherchiez-vous Paris 12e Arrondissement (75112) ?" */
function codeNoticeText(m: CodeMeanings): SafeHtml | null {
  const links = (cs: CommuneRec[]) =>
    cs.map((c, i) => html`${i ? (i === cs.length - 1 ? ' ou ' : ', ') : ''}<a href="/communes/${c.code}/page">${c.nom}</a> (${c.code})`);
  const parts: SafeHtml[] = [];
  let question = false;
  if (m.ancien) {
    const now = m.ancien.successeurs;
    const today =
      now.length !== 1
        ? ''
        : now[0].nom !== m.ancien.nom
          ? html` (aujourd’hui ${links(now)})`
          : html` (code actuel : <a href="/communes/${now[0].code}/page">${now[0].code}</a>)`;
    parts.push(html`${m.code} était le code${m.ancien.nom ? ` de ${m.ancien.nom}` : ''} ${untilLabel(m.ancien.fin)}${today}`);
  }
  if (m.postal.length) {
    question = true;
    if (m.ancien) parts.push(html`cherchiez-vous ${links(m.postal)} ?`);
    else if (m.commune)
      parts.push(
        html`${m.code} est aussi le code postal de ${links(m.postal)} : cherchiez-vous
        ${m.postal.length > 1 ? 'l’une de ces communes' : 'cette commune'} ?`,
      );
    else {
      parts.push(html`${m.code} est le code postal de ${links(m.postal)}`);
      question = false;
    }
  }
  if (!parts.length) return null;
  return html`${parts.map((p, i) => html`${i ? ' ; ' : ''}${p}`)}${question ? '' : '.'}`;
}

/** The notice above a commune page whose code is also a postcode of other communes. */
export function sharedPostcodeNotice(ref: Referential, m: CodeMeanings): SafeHtml | null {
  if (!m.commune || !m.postal.length) return null;
  return notice(html`Vous êtes sur la page ${deCommune(m.commune.nom, m.commune.tncc)}, code INSEE ${m.code}. ${codeNoticeText(m)}`);
}

/** The notice above a commune page reached from a postcode. */
export function fromPostcodeNotice(cp: string, c: CommuneRec): SafeHtml {
  return notice(html`Le code postal ${cp} est celui ${deCommune(c.nom, c.tncc)} (code INSEE ${c.code}).`);
}

function notice(content: SafeHtml): SafeHtml {
  return html`<div class="fr-notice fr-notice--info fr-mb-4w">
    <div class="fr-container">
      <div class="fr-notice__body">
        <p class="fr-notice__title">${content}</p>
      </div>
    </div>
  </div>`;
}

/** /communes/{code}/page for a code that is not a current commune: every meaning, no silent redirect. */
export function codeNoticePage(ref: Referential, m: CodeMeanings): string {
  const text = codeNoticeText(m)!;
  const choices = [...(m.ancien?.successeurs ?? []), ...m.postal].filter((c, i, a) => a.indexOf(c) === i);
  return page({
    title: `Code ${m.code}`,
    noindex: true,
    breadcrumb: [{ label: 'Accueil', href: '/' }, { label: `Code ${m.code}` }],
    main: html`<h1>Le code ${m.code} ne désigne plus une commune</h1>
      <div class="fr-alert fr-alert--info fr-mb-4w">
        <h2 class="fr-alert__title">À quelle commune pensiez-vous ?</h2>
        <p>${text}</p>
      </div>
      <h2 class="fr-h4">Communes correspondantes</h2>
      <ul class="resultats">
        ${choices.map(
          (c) =>
            html`<li>
              ${communeLine(ref, c)}
              <span class="fr-badge fr-badge--sm fr-badge--info fr-badge--no-icon"
                >${m.postal.includes(c) ? `code postal ${m.code}` : `ancien code ${m.code}`}</span
              >
            </li>`,
        )}
      </ul>
      <p class="fr-mt-4w"><a class="fr-link fr-icon-arrow-left-line fr-link--icon-left" href="/">Faire une autre recherche</a></p>`,
  });
}

/** The choice page of a postcode shared by several communes. */
export function postcodeChoicePage(ref: Referential, m: CodeMeanings): string {
  return page({
    title: `Code postal ${m.code}`,
    noindex: true,
    breadcrumb: [{ label: 'Accueil', href: '/' }, { label: `Code postal ${m.code}` }],
    main: html`<h1>Code postal ${m.code} : ${String(m.postal.length)} communes</h1>
      <p>${m.code} est un code postal, partagé par plusieurs communes. Choisissez la vôtre :</p>
      <ul class="resultats">
        ${m.postal.map((c) => html`<li>${communeLine(ref, c)}</li>`)}
      </ul>`,
  });
}

export function notFoundPage(message: string): string {
  return page({
    title: 'Page introuvable',
    noindex: true,
    main: html`<div class="fr-grid-row fr-grid-row--gutters fr-my-4w">
      <div class="fr-col-12 fr-col-md-8">
        <h1>Page introuvable</h1>
        <p class="fr-text--sm fr-mb-3w">Erreur 404</p>
        <p class="fr-text--lead">${message}</p>
        <p>Si vous avez tapé l’adresse, vérifiez-la. Vous pouvez aussi chercher votre commune :</p>
        ${searchForm()}
        <p class="fr-mt-4w"><a class="fr-btn fr-btn--secondary" href="/">Page d’accueil</a></p>
      </div>
    </div>`,
  });
}

export interface Publisher {
  name: string;
  contact: string | null;
}

export function legalPage(p: Publisher): string {
  return page({
    title: 'Mentions légales',
    path: '/mentions-legales',
    breadcrumb: [{ label: 'Accueil', href: '/' }, { label: 'Mentions légales' }],
    main: html`<h1>Mentions légales</h1>
      <h2>Éditeur</h2>
      <p>Ce service est édité par ${p.name}.</p>
      <p>Contact : ${p.contact ?? 'non renseigné par l’éditeur (réglage PUBLISHER_CONTACT du service).'}</p>
      <h2>Données</h2>
      <p>
        Les données proposées viennent de producteurs publics nationaux (INSEE, IGN, ministère de l’Intérieur, DGFiP, OFGL…). Chaque dossier
        nomme, pour chaque fichier, son producteur, son édition et sa licence, le plus souvent la Licence Ouverte 2.0 ; la Base Adresse
        Nationale et les indices ATMO sont sous licence ODbL. Les données sont reproduites sans modification de sens : découpées par
        commune, recodées dans la géographie en vigueur et, pour les communes fusionnées, additionnées.
      </p>
      <h2>Logiciel</h2>
      <p>Le logiciel du service est libre (licence MIT). Il utilise le Système de Design de l’État (DSFR).</p>
      <h2>Responsabilité</h2>
      <p>
        Les données sont fournies telles que publiées par leurs producteurs. Signalez une erreur à l’éditeur du service ; une erreur dans
        une donnée nationale est à signaler à son producteur.
      </p>`,
  });
}

export function accessibilityPage(p: Publisher): string {
  return page({
    title: 'Déclaration d’accessibilité',
    path: '/accessibilite',
    breadcrumb: [{ label: 'Accueil', href: '/' }, { label: 'Accessibilité' }],
    main: html`<h1>Déclaration d’accessibilité</h1>
      <p>${p.name} s’engage à rendre ce service accessible, conformément à l’article 47 de la loi n° 2005-102 du 11 février 2005.</p>
      <h2>État de conformité</h2>
      <p>
        Ce site est <strong>non conforme</strong> au référentiel général d’amélioration de l’accessibilité (RGAA) : aucun audit de
        conformité n’a encore été réalisé.
      </p>
      <h2>Ce qui est vérifié</h2>
      <ul>
        <li>Les pages utilisent le Système de Design de l’État (DSFR).</li>
        <li>
          La page d’accueil, une page de commune, la page d’un ancien code et la page d’erreur sont contrôlées automatiquement (outil
          axe-core, dans le navigateur Chromium) à chaque version du logiciel : aucune erreur grave ou critique n’y est admise.
        </li>
        <li>La recherche de commune fonctionne au clavier seul (suggestions parcourues avec les flèches) et sans JavaScript.</li>
        <li>
          Chaque graphique est accompagné du tableau de ses données ; la carte est décrite par un texte et la liste des communes voisines.
        </li>
      </ul>
      <h2>Retour d’information et contact</h2>
      <p>
        Si vous n’arrivez pas à accéder à un contenu ou à un service, contactez l’éditeur (${p.contact ?? 'contact non renseigné'}) pour
        être orienté vers une alternative accessible ou obtenir le contenu sous une autre forme.
      </p>
      <h2>Voies de recours</h2>
      <p>
        Si vous avez signalé un défaut d’accessibilité qui vous empêche d’accéder à un contenu et que vous n’avez pas obtenu de réponse
        satisfaisante, vous pouvez écrire au Défenseur des droits, contacter son délégué dans votre région ou lui écrire par courrier
        gratuit : Défenseur des droits, Libre réponse 71120, 75342 Paris CEDEX 07.
      </p>`,
  });
}

export function privacyPage(p: Publisher): string {
  return page({
    title: 'Données personnelles et cookies',
    path: '/donnees-personnelles',
    breadcrumb: [{ label: 'Accueil', href: '/' }, { label: 'Données personnelles et cookies' }],
    main: html`<h1>Données personnelles et cookies</h1>
      <p>
        Ce service ne demande aucun compte et ne dépose aucun cookie. Il n’utilise aucun outil de mesure d’audience ni aucun service tiers :
        toutes les ressources des pages (styles, polices, scripts) sont servies par le service lui-même.
      </p>
      <p>
        Comme tout serveur web, il peut journaliser les requêtes reçues (adresse IP, page demandée, date) pour sa sécurité et son bon
        fonctionnement. Pour toute question : ${p.name}${p.contact ? html`, ${p.contact}` : ''}.
      </p>`,
  });
}
