import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resetSettings } from '../../config/settings';
import { runSource, type RunReport } from '../../src/engine/runner';

/** The seven socle commun sources of issue 14, in `dotation start` order of the registry. */
export const SOCLE_SOURCES = ['associations', 'marches-publics', 'urbanisme', 'permis-construire', 'sante', 'education', 'elus'] as const;

const FIXTURES = path.join(__dirname, '..', 'fixtures');

/**
 * Runs each socle source on its fixture folder used as MIRROR_DIR, as test/helpers/conformance.ts does
 * (real/ when it holds the only files: education's are all genuine). Returns each run's report and
 * restores MIRROR_DIR.
 */
export async function loadSocleFixtures(): Promise<Map<string, RunReport>> {
  const saved = process.env.MIRROR_DIR;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-socle-'));
  const reports = new Map<string, RunReport>();
  try {
    for (const id of SOCLE_SOURCES) {
      const root = path.join(FIXTURES, id);
      const top = fs.readdirSync(root).some((f) => !['README.md', 'real', 'make-fixtures.ts'].includes(f));
      const mirror = path.join(work, id);
      fs.mkdirSync(mirror);
      fs.symlinkSync(top ? root : path.join(root, 'real'), path.join(mirror, id));
      process.env.MIRROR_DIR = mirror;
      resetSettings();
      reports.set(id, await runSource(id, { trigger: 'test', log: () => undefined }));
    }
  } finally {
    if (saved === undefined) delete process.env.MIRROR_DIR;
    else process.env.MIRROR_DIR = saved;
    resetSettings();
    fs.rmSync(work, { recursive: true, force: true });
  }
  return reports;
}
