import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Files the pages load, all served by this app under one prefix (no CDN, no inline script or
 * style, so a strict Content-Security-Policy holds): the DSFR's dist, Chart.js and the site's own
 * script and stylesheet. URLs carry the package version or the file's hash, so they can be cached
 * for a long time and change when the file does.
 */
export const STATIC_PREFIX = '/static';

/** Root folder of an installed package (chart.js does not export its package.json: walk up from its entry). */
function packageDir(name: string): string {
  try {
    return path.dirname(require.resolve(`${name}/package.json`));
  } catch {
    // not exported: below
  }
  let dir = path.dirname(require.resolve(name));
  while (!fs.existsSync(path.join(dir, 'package.json')) || path.basename(dir) === 'dist') dir = path.dirname(dir);
  return dir;
}
function packageVersion(dir: string): string {
  return (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

const dsfrDir = packageDir('@gouvfr/dsfr');
const chartDir = packageDir('chart.js');

/** Directories served under STATIC_PREFIX: `/static/<name>/<path>`. */
export const STATIC_ROOTS = [
  { name: `dsfr-${packageVersion(dsfrDir)}`, dir: path.join(dsfrDir, 'dist') },
  { name: `chartjs-${packageVersion(chartDir)}`, dir: path.join(chartDir, 'dist') },
  { name: 'site', dir: path.join(__dirname, 'assets') },
];

const DSFR = `${STATIC_PREFIX}/${STATIC_ROOTS[0].name}`;
const CHARTJS = `${STATIC_PREFIX}/${STATIC_ROOTS[1].name}`;

const hashes = new Map<string, string>();
function siteAsset(file: string): string {
  let h = hashes.get(file);
  if (!h) {
    h = crypto
      .createHash('sha1')
      .update(fs.readFileSync(path.join(__dirname, 'assets', file)))
      .digest('hex')
      .slice(0, 10);
    hashes.set(file, h);
  }
  return `${STATIC_PREFIX}/site/${file}?v=${h}`;
}

export const assets = {
  dsfrCss: `${DSFR}/dsfr.min.css`,
  iconsCss: `${DSFR}/utility/icons/icons.min.css`,
  dsfrModule: `${DSFR}/dsfr.module.min.js`,
  dsfrNomodule: `${DSFR}/dsfr.nomodule.min.js`,
  favicon: `${DSFR}/favicon/favicon.svg`,
  faviconIco: `${DSFR}/favicon/favicon.ico`,
  appleTouch: `${DSFR}/favicon/apple-touch-icon.png`,
  chartjs: `${CHARTJS}/chart.umd.min.js`,
  siteCss: () => siteAsset('site.css'),
  siteJs: () => siteAsset('site.js'),
  /** The operator console's progress script (src/server/console). */
  consoleJs: () => siteAsset('console.js'),
};
