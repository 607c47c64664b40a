import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Chromium from the Debian package (`apt-get install chromium`; scripts/services.sh installs it
 * when root), driven by playwright-core: nothing is downloaded at install time.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const hasChromium = fs.existsSync(CHROMIUM);

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
