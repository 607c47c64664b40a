/**
 * Screenshots of the public site for review, at 1280 and 390 px wide (desktop and phone), full
 * page, in Chromium (test/helpers/browser.ts):
 *
 *   npx tsx test/browser/screenshots.ts [BASE_URL] [OUT_DIR]
 *
 * BASE_URL defaults to http://127.0.0.1:$PORT (a running `dotation serve`), OUT_DIR to
 * var/screenshots. Pages: home, home with suggestions open, search results, a commune page
 * (Rennes; CODE=… for another), a historical code's notice, a shared postcode, the 404, the legal notice.
 */
import fs from 'node:fs';
import path from 'node:path';
import { launchChromium } from '../helpers/browser';

const base = (process.argv[2] ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`).replace(/\/+$/, '');
const out = path.resolve(process.argv[3] ?? path.join(__dirname, '..', '..', 'var', 'screenshots'));
const code = process.env.CODE ?? '35238';

const PAGES: { name: string; path: string; suggest?: string }[] = [
  { name: 'accueil', path: '/' },
  { name: 'accueil-suggestions', path: '/', suggest: 'renn' },
  { name: 'recherche', path: '/recherche?q=saint-malo' },
  { name: `commune-${code}`, path: `/communes/${code}/page` },
  { name: 'commune-69123', path: '/communes/69123/page' },
  { name: 'ancien-code-75012', path: '/communes/75012/page' },
  { name: 'code-postal-69001', path: '/communes/69001/page' },
  { name: 'erreur-404', path: '/communes/99999/page' },
  { name: 'mentions-legales', path: '/mentions-legales' },
];

async function main(): Promise<void> {
  fs.mkdirSync(out, { recursive: true });
  const browser = await launchChromium();
  try {
    for (const width of [1280, 390]) {
      const height = width > 500 ? 900 : 844;
      const page = await browser.newPage({ viewport: { width, height }, locale: 'fr-FR' });
      for (const p of PAGES) {
        const res = await page.goto(base + p.path, { waitUntil: 'networkidle' });
        if (p.suggest) {
          await page.locator('#recherche').pressSequentially(p.suggest, { delay: 40 });
          await page.locator('#recherche-suggestions [role="option"]').first().waitFor();
          await page.keyboard.press('ArrowDown');
        }
        const file = path.join(out, `${p.name}-${width}.png`);
        if (!p.suggest) {
          // A full-page capture resizes the viewport, which makes Chart.js redraw after the capture: grow the
          // viewport to the page's height first and let the charts settle.
          const h = (await page.evaluate('document.documentElement.scrollHeight')) as number;
          await page.setViewportSize({ width, height: h });
          await page.waitForTimeout(400);
        }
        await page.screenshot({ path: file });
        await page.setViewportSize({ width, height });
        console.log(`${res?.status() ?? '?'} ${p.path} → ${path.relative(process.cwd(), file)}`);
      }
      await page.close();
    }
  } finally {
    await browser.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
