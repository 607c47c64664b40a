import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { freshDatabase } from './helpers/db';
import { hasChromium, launchChromium, CHROMIUM } from './helpers/browser';
import { hasSharedData, sharedFile } from './helpers/shared-data';
import { runSource } from '../src/engine/runner';
import { buildPacks } from '../src/packs/build';
import { pool } from '../src/db/pool';
import { buildServer } from '../src/server/app';
import { invalidateReferential } from '../src/communes/referential';
import { resetDataStamp } from '../src/server/http/cache';
import { settings } from '../config/settings';
import { readManifest } from '../src/packs/store';
import { loadSocleFixtures } from './helpers/socle';

/**
 * The public site in a real browser: Chromium (Debian package) driven by playwright-core, against
 * the whole app on a local port. The flow search → page → download with the keyboard alone and
 * without JavaScript, and axe-core (0 serious or critical violation) on the home page, a commune
 * page, a historical code's notice and the 404. Under CI (CI=true) a missing Chromium fails the
 * suite; elsewhere it is skipped with a message (scripts/services.sh installs it when root).
 */
const describeBrowser: jest.Describe = hasChromium
  ? describe
  : process.env.CI
    ? describe
    : (((name: string, fn: () => void) => {
        console.warn(`skipping browser suite "${name}": no Chromium at ${CHROMIUM} (apt-get install chromium)`);
        return describe.skip(name, fn);
      }) as unknown as jest.Describe);

const FIX = path.join(__dirname, 'fixtures');
const quiet = { trigger: 'test' as const, log: () => undefined };
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let db: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;
let base = '';
let browser: Browser;
let context: BrowserContext;
/** The historical code whose notice is checked: 75012 with the genuine INSEE movements, else 35112 (the package's own history). */
let oldCode = '35112';

beforeAll(async () => {
  if (!hasChromium && !process.env.CI) return;
  db = await freshDatabase();
  await runSource('populations', { file: path.join(FIX, 'packs', 'donnees_communes.csv'), ...quiet });
  await runSource('contours', {
    file: path.join(FIX, 'contours', 'communes-35-ille-et-vilaine.geojson'),
    resource: 'communes',
    millesime: '2018',
    ...quiet,
  });
  await runSource('budgets', { file: path.join(FIX, 'budgets', 'ofgl-base-communes-consolidee.csv'), resource: 'ofgl', ...quiet });
  // Synthetic births and deaths for Rennes, so the page has a multi-series chart.
  await pool().query(
    `insert into etat_civil (millesime, code_commune, type, annee, naissances, deces, codes_sources)
     select '2024', '35238', 'commune-actuelle', y, 2500 + y - 2019, 1500 + 2 * (y - 2019), '{35238}' from generate_series(2019, 2023) y`,
  );
  if (hasSharedData) {
    await runSource('cog', { file: sharedFile('cog', 'mouvements-communes.csv'), resource: 'mouvements', force: true, ...quiet });
    oldCode = '75012';
  }
  // The socle sources (élus, associations, marchés, urbanisme, permis, santé, écoles): Rennes has rows in each, so axe sees every block.
  await loadSocleFixtures();
  await buildPacks({ communes: ['35238'], log: () => undefined });
  invalidateReferential();
  resetDataStamp();
  app = await buildServer();
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  browser = await launchChromium();
  // The pages' Content-Security-Policy is enforced (no bypass): a blocked script or style shows up as a console error.
  context = await browser.newContext({ locale: 'fr-FR', acceptDownloads: true, viewport: { width: 1280, height: 900 } });
});
afterAll(async () => {
  await context?.close();
  await browser?.close();
  await app?.close();
  await db?.cleanup();
});

/** Violations of impact serious or critical reported by axe-core on the page as it is now. */
async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const result = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] })`)) as {
    violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
  };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

describeBrowser('the public site in Chromium', () => {
  test('typing "renn" on the home page and choosing the first suggestion opens Rennes, whose button downloads the pack', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${base}/`);
    // Keyboard alone: Tab from the top of the page to the search field.
    const field = page.locator('#recherche');
    for (let i = 0; i < 10 && !(await field.evaluate((el) => el.ownerDocument.activeElement === el)); i++) await page.keyboard.press('Tab');
    await expect(field.evaluate((el) => el.ownerDocument.activeElement === el)).resolves.toBe(true);
    await page.keyboard.type('renn', { delay: 50 });
    const first = page.locator('#recherche-suggestions [role="option"]').first();
    await first.waitFor();
    // The ARIA combobox pattern: expanded, controls the listbox, the live region counts the suggestions.
    await expect(field.getAttribute('role')).resolves.toBe('combobox');
    await expect(field.getAttribute('aria-expanded')).resolves.toBe('true');
    await expect(field.getAttribute('aria-controls')).resolves.toBe('recherche-suggestions');
    await expect(page.locator('#recherche-statut').textContent()).resolves.toMatch(/communes? suggérées?/);
    await expect(first.locator('.recherche__nom').textContent()).resolves.toBe('Rennes');
    await page.keyboard.press('ArrowDown');
    await expect(field.getAttribute('aria-activedescendant')).resolves.toBe(await first.getAttribute('id'));
    await expect(first.getAttribute('aria-selected')).resolves.toBe('true');
    await Promise.all([page.waitForURL(`${base}/communes/35238/page`), page.keyboard.press('Enter')]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Données ouvertes de Rennes');

    // The download button fetches the pack (the ZIP of the latest version).
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#telecharger').click()]);
    expect(download.suggestedFilename()).toMatch(/^dotation-35238-rennes-.+\.zip$/);
    const file = await download.path();
    const bytes = fs.readFileSync(file!);
    expect(bytes.subarray(0, 2).toString()).toBe('PK');
    const v = readManifest(settings().PACKS_DIR, '35238')!.versions[0];
    expect(bytes.length).toBe(v.bytes);

    // Charts drawn by Chart.js from their tables, the tables kept under "Voir les données".
    // Budget, births and deaths, associations by theme, housing authorised and started.
    expect(await page.locator('figure[data-graphique] canvas').count()).toBe(4);
    await expect(page.locator('figure[data-graphique] details summary').first().textContent()).resolves.toBe(
      'Voir les données du graphique',
    );
    expect(errors).toEqual([]);
    await page.close();
  });

  test('Escape closes the suggestions; a click on a suggestion opens its page too', async () => {
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.locator('#recherche').pressSequentially('35000', { delay: 30 });
    const option = page.locator('#recherche-suggestions [role="option"]').first();
    await option.waitFor();
    await page.keyboard.press('Escape');
    await expect(page.locator('#recherche').getAttribute('aria-expanded')).resolves.toBe('false');
    await expect(page.locator('#recherche-suggestions').isHidden()).resolves.toBe(true);
    await page.keyboard.press('ArrowDown');
    await expect(page.locator('#recherche-suggestions').isVisible()).resolves.toBe(true);
    await Promise.all([page.waitForURL(`${base}/communes/35238/page`), option.click()]);
    await page.close();
  });

  test('without JavaScript: the form submits to the results page, whose first result is Rennes', async () => {
    const noJs = await browser.newContext({ javaScriptEnabled: false, locale: 'fr-FR' });
    const page = await noJs.newPage();
    await page.goto(`${base}/`);
    await page.locator('#recherche').fill('renn');
    await Promise.all([page.waitForURL(/\/recherche\?q=renn$/), page.keyboard.press('Enter')]);
    const first = page.locator('ol.resultats li a').first();
    await expect(first.textContent()).resolves.toBe('Rennes');
    await Promise.all([page.waitForURL(`${base}/communes/35238/page`), first.click()]);
    await expect(page.locator('#telecharger').getAttribute('href')).resolves.toBe('/communes/35238/pack.zip');
    // The charts are plain tables.
    expect(await page.locator('figure[data-graphique] table').count()).toBe(4);
    await noJs.close();
  });

  test('axe-core: no serious or critical violation on the home page, a commune page, a historical code notice and the 404', async () => {
    const page = await context.newPage();
    const report: Record<string, string[]> = {};
    for (const url of ['/', '/communes/35238/page', `/communes/${oldCode}/page`, '/communes/99999/page', '/recherche?q=saint']) {
      const res = await page.goto(base + url, { waitUntil: 'networkidle' });
      expect([url, res?.status()]).toEqual([url, url.includes('99999') ? 404 : 200]);
      report[url] = await seriousViolations(page);
    }
    // With the suggestions open, too.
    await page.goto(`${base}/`);
    await page.locator('#recherche').pressSequentially('renn', { delay: 30 });
    await page.locator('#recherche-suggestions [role="option"]').first().waitFor();
    await page.keyboard.press('ArrowDown');
    report['/ (suggestions)'] = await seriousViolations(page);
    expect(report).toEqual(Object.fromEntries(Object.keys(report).map((k) => [k, []])));
    await page.close();
  });
});
