import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { freshDatabase } from './helpers/db';
import { hasChromium, launchChromium, CHROMIUM } from './helpers/browser';
import { runSource } from '../src/engine/runner';
import { pool } from '../src/db/pool';
import { buildServer } from '../src/server/app';
import { closeQueues, runsQueue } from '../src/queue/queue';
import { closePacksQueue } from '../src/queue/packs';
import { closePublicationsQueue } from '../src/queue/publications';
import { closeRedisConnections } from '../src/queue/connection';
import { RunWorker, startWorker } from '../src/queue/worker';

/**
 * The operator console in a real browser: Chromium (Debian package) driven by playwright-core,
 * against the whole app and a real worker of the queue. Sign in, see a run, open its quarantine,
 * start a run (run now → confirmation → the new run appears and ends, without reloading the page),
 * sign out; axe-core reports no serious or critical violation on any console page; the pages'
 * Content-Security-Policy is enforced (no bypass) and any console error fails. Bull Board loads
 * behind the same sign-in. Under CI (CI=true) a missing Chromium fails the suite.
 */
const describeBrowser: jest.Describe = hasChromium
  ? describe
  : process.env.CI
    ? describe
    : (((name: string, fn: () => void) => {
        console.warn(`skipping browser suite "${name}": no Chromium at ${CHROMIUM} (apt-get install chromium)`);
        return describe.skip(name, fn);
      }) as unknown as jest.Describe);

const TOKEN = 'browser-console-token-0123456789';
/** What the functions run in the page use (this project's TypeScript has no DOM library). */
declare const document: {
  querySelector(selector: string): { getAttribute(name: string): string | null; textContent: string | null } | null;
};
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let db: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;
let worker: RunWorker;
let base = '';
let browser: Browser;
let context: BrowserContext;
/** A populations run with two rejected rows (lines 2 and 4 of its file). */
let badRun: number;

beforeAll(async () => {
  if (!hasChromium && !process.env.CI) return;
  db = await freshDatabase({ OPERATOR_TOKEN: TOKEN });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-browser-'));
  const lines = fs.readFileSync(path.join(__dirname, 'fixtures', 'populations', 'donnees_communes.csv'), 'utf8').split('\n');
  for (const i of [1, 3]) {
    const v = lines[i].split(';');
    v[5] = 'x1';
    lines[i] = v.join(';');
  }
  fs.writeFileSync(path.join(dir, 'donnees_communes.csv'), lines.join('\n'));
  const r = await runSource('populations', { file: path.join(dir, 'donnees_communes.csv'), trigger: 'test', log: () => undefined });
  expect(r.rejected).toBe(2);
  badRun = r.runId;
  worker = await startWorker({ concurrency: 1, packs: false, publications: false, handleSignals: false, log: () => undefined });
  app = await buildServer();
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  browser = await launchChromium();
  context = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1280, height: 900 } });
});
afterAll(async () => {
  await context?.close();
  await browser?.close();
  await app?.close();
  await worker?.close();
  await runsQueue()
    .obliterate({ force: true })
    .catch(() => undefined);
  await Promise.all([closeQueues(), closePacksQueue(), closePublicationsQueue()]);
  await closeRedisConnections();
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

/** A page that records every script error and console error (a CSP violation is one). */
async function watchedPage(ctx = context): Promise<{ page: Page; errors: string[] }> {
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  return { page, errors };
}

/** Checks axe on the page now, naming the page in the failure. */
async function expectAccessible(page: Page, checked: string[]): Promise<void> {
  const url = new URL(page.url());
  checked.push(url.pathname + url.search);
  expect({ page: url.pathname, violations: await seriousViolations(page) }).toEqual({ page: url.pathname, violations: [] });
}

describeBrowser('the operator console in Chromium', () => {
  test('sign in, see a run, open its quarantine, run now → confirmation → the new run appears and ends, sign out; axe on each page', async () => {
    const { page, errors } = await watchedPage();
    const checked: string[] = [];

    // Signed out: /operator leads to the sign-in form, which says why a token is wrong.
    await page.goto(`${base}/operator`);
    await page.waitForURL(/\/operator\/console\/connexion\?suite=/);
    await expect(page.locator('h1').textContent()).resolves.toBe('Connexion à la console d’exploitation');
    await expectAccessible(page, checked);
    await page.locator('#jeton').fill('pas-le-bon-jeton-0000000000');
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await expect(page.locator('#jeton-erreur').textContent()).resolves.toContain('Jeton incorrect');
    await expect(page.locator('#jeton').getAttribute('aria-invalid')).resolves.toBe('true');
    expect(page.url()).not.toContain('pas-le-bon-jeton');
    await expectAccessible(page, checked);

    // Signed in: the sources page, then the runs by the main navigation.
    await page.locator('#jeton').fill(TOKEN);
    await Promise.all([page.waitForURL(`${base}/operator/console`), page.getByRole('button', { name: 'Se connecter' }).click()]);
    expect(page.url()).not.toContain(TOKEN);
    await expect(page.locator('h1').textContent()).resolves.toBe('Sources');
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'dotation_console')).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/operator' });
    await expectAccessible(page, checked);

    await Promise.all([
      page.waitForURL(`${base}/operator/console/passages`),
      page.getByRole('link', { name: 'Passages', exact: true }).click(),
    ]);
    const row = page.locator(`tr[data-passage="${badRun}"]`);
    await expect(row.locator('td').nth(1).textContent()).resolves.toBe('populations');
    await expect(row.locator('[data-champ="status"]').textContent()).resolves.toContain('Réussi');
    await expect(row.locator('[data-champ="rejected"]').textContent()).resolves.toContain('2');
    await expectAccessible(page, checked);

    // Its quarantine: the two rejected lines, with their line numbers and reasons.
    await Promise.all([
      page.waitForURL(`${base}/operator/console/passages/${badRun}/quarantaine`),
      row.locator('[data-champ="rejected"] a').click(),
    ]);
    const rejected = page.locator('table tbody tr');
    await expect(rejected.count()).resolves.toBe(2);
    await expect(rejected.nth(0).locator('td').nth(1).textContent()).resolves.toBe('2');
    await expect(rejected.nth(1).locator('td').nth(1).textContent()).resolves.toBe('4');
    await expect(rejected.nth(0).locator('td').nth(2).textContent()).resolves.toMatch(/CODCOM.*x1/);
    await expectAccessible(page, checked);

    // Run now: the sources page → the confirmation page → POST (with its CSRF token) → the runs page.
    await page.getByRole('link', { name: 'Sources', exact: true }).click();
    await Promise.all([
      page.waitForURL(`${base}/operator/console/sources/populations/lancer`),
      page.locator('a[href="/operator/console/sources/populations/lancer"]').click(),
    ]);
    await expect(page.locator('h1').textContent()).resolves.toMatch(/^Lancer maintenant le passage de « .+ » \?$/);
    await expectAccessible(page, checked);
    const before = Number((await pool().query(`select max(id) as id from runs`)).rows[0].id);
    await Promise.all([
      page.waitForURL(/\/operator\/console\/passages\?lance=populations&travail=/),
      page.getByRole('button', { name: 'Confirmer le lancement' }).click(),
    ]);
    await expect(page.locator('.fr-alert--success .fr-alert__title').textContent()).resolves.toBe(
      'Passage de populations mis en file d’attente',
    );
    await expectAccessible(page, checked);

    // The worker takes the job; the page's script shows the new run and its end without a reload.
    const navigations: string[] = [];
    page.on('framenavigated', (f) => f === page.mainFrame() && navigations.push(f.url()));
    const fresh = page.locator('#passages tr[data-passage]').first();
    await page.waitForFunction(
      (n) => Number(document.querySelector('#passages tr[data-passage]')?.getAttribute('data-passage')) > n,
      before,
      { timeout: 60_000 },
    );
    const newId = Number(await fresh.getAttribute('data-passage'));
    expect(newId).toBeGreaterThan(before);
    await expect(fresh.locator('td').nth(1).textContent()).resolves.toBe('populations');
    await page.waitForFunction(
      (id) => /Réussi/.test(document.querySelector(`tr[data-passage="${id}"] [data-champ="status"]`)?.textContent ?? ''),
      newId,
      { timeout: 60_000 },
    );
    expect(navigations).toEqual([]);
    await expect(page.locator('#passages-annonce').textContent()).resolves.toMatch(/nouveau passage|Passage n° \d+ : réussi/);
    const {
      rows: [run],
    } = await pool().query(`select status, rows_read, rows_loaded, rows_rejected from runs where id = $1`, [newId]);
    expect(run.status).toBe('succeeded');
    await expect(fresh.locator('[data-champ="read"]').textContent()).resolves.toBe(
      new Intl.NumberFormat('fr-FR').format(Number(run.rows_read)),
    );
    await expectAccessible(page, checked);

    // Sign out: back to the sign-in form; the console is closed again.
    await Promise.all([
      page.waitForURL(`${base}/operator/console/connexion?deconnecte=1`),
      page.getByRole('button', { name: 'Se déconnecter' }).click(),
    ]);
    await expect(page.locator('.fr-alert--success .fr-alert__title').textContent()).resolves.toBe('Vous êtes déconnecté.');
    await expectAccessible(page, checked);
    await page.goto(`${base}/operator/console/passages`);
    await page.waitForURL(/\/operator\/console\/connexion\?suite=/);
    expect((await context.cookies()).find((c) => c.name === 'dotation_console' && c.value.length > 200)).toBeUndefined();

    // The one failed load is the wrong token's answer (401, on purpose).
    expect(errors).toEqual(['Failed to load resource: the server responded with a status of 401 (Unauthorized)']);
    expect(checked.length).toBeGreaterThanOrEqual(9);
    await page.close();
  });

  test('axe reports no serious or critical violation on the other console pages', async () => {
    const own = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1280, height: 900 } });
    const { page, errors } = await watchedPage(own);
    const checked: string[] = [];
    await page.goto(`${base}/operator/console/connexion`);
    await page.locator('#jeton').fill(TOKEN);
    await Promise.all([page.waitForURL(`${base}/operator/console`), page.getByRole('button', { name: 'Se connecter' }).click()]);
    for (const url of [
      `/operator/console/passages/${badRun}`,
      '/operator/console/passages?source=populations&statut=succeeded',
      '/operator/console/dossiers',
      '/operator/console/dossiers/construire',
      '/operator/console/publications',
      '/operator/console/sources/verification',
      '/operator/console/passages/99999999',
    ]) {
      await page.goto(`${base}${url}`);
      await expectAccessible(page, checked);
    }
    // The confirmation of a pack build refuses a bad département code with a message tied to the field.
    await page.goto(`${base}/operator/console/dossiers/construire`);
    await page.locator('#departements').fill('999x');
    await page.getByRole('button', { name: 'Confirmer la construction' }).click();
    await expect(page.locator('#departements-erreur').textContent()).resolves.toContain('999X');
    await expectAccessible(page, checked);
    // Small screens: the navigation is in the DSFR menu.
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(`${base}/operator/console`);
    await page.getByRole('button', { name: 'Menu' }).click();
    await expect(page.locator('#menu-principal').getByRole('link', { name: 'Passages', exact: true }).isVisible()).resolves.toBe(true);
    await expectAccessible(page, checked);
    // The 404 page and the refused département code (400) are reached on purpose: their failed loads are the only errors allowed.
    expect(errors.filter((e) => !/status of (404|400)/.test(e))).toEqual([]);
    await own.close();
  });

  test('Bull Board loads at /operator/queues behind the same sign-in, under the CSP', async () => {
    const fresh = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1280, height: 900 } });
    const { page, errors } = await watchedPage(fresh);
    await page.goto(`${base}/operator/queues`);
    await page.waitForURL(/\/operator\/console\/connexion\?suite=%2Foperator%2Fqueues/);
    await page.locator('#jeton').fill(TOKEN);
    await Promise.all([page.waitForURL(`${base}/operator/queues`), page.getByRole('button', { name: 'Se connecter' }).click()]);
    // Its React app ran (scripts from 'self') and listed the three queues from its API.
    await page.getByText('publications', { exact: true }).first().waitFor({ timeout: 30_000 });
    await expect(page.getByText('runs', { exact: true }).count()).resolves.toBeGreaterThan(0);
    // Only its Google Fonts stylesheet is blocked (the console calls no third party).
    expect(errors.filter((e) => !/fonts\.googleapis\.com/.test(e))).toEqual([]);
    await fresh.close();
  });

  test('without JavaScript, sign-in and run now still work (plain forms and redirects)', async () => {
    const noJs = await browser.newContext({ locale: 'fr-FR', javaScriptEnabled: false });
    try {
      const { page } = await watchedPage(noJs);
      await page.goto(`${base}/operator/console/sources/cog/lancer`);
      await page.locator('#jeton').fill(TOKEN);
      await Promise.all([
        page.waitForURL(`${base}/operator/console/sources/cog/lancer`),
        page.getByRole('button', { name: 'Se connecter' }).click(),
      ]);
      await Promise.all([
        page.waitForURL(/\/operator\/console\/passages\?lance=cog/),
        page.getByRole('button', { name: 'Confirmer le lancement' }).click(),
      ]);
      await expect(page.locator('.fr-alert--success .fr-alert__title').textContent()).resolves.toBe('Passage de cog mis en file d’attente');
    } finally {
      await noJs.close();
    }
  });
});
