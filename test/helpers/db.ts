import crypto from 'node:crypto';
import { Client } from 'pg';
import { ADMIN_URL, baseTestEnv, dbUrl } from './env';
import { resetSettings } from '../../config/settings';
import { closePools } from '../../src/db/pool';

/**
 * Gives the calling test file its own database, copied from the run's template (migrations
 * applied, referential loaded), and points DATABASE_URL and the other settings at it.
 * Call in beforeAll; call the returned cleanup in afterAll.
 */
export async function freshDatabase(
  extraEnv: Record<string, string> = {},
): Promise<{ url: string; env: Record<string, string>; cleanup: () => Promise<void> }> {
  const tpl = process.env.DOTATION_TEST_TEMPLATE;
  if (!tpl) throw new Error('DOTATION_TEST_TEMPLATE is not set: run the tests with jest (test/global-setup.ts)');
  const name = `dotation_t_${tpl.replace('dotation_tpl_', '')}_${crypto.randomBytes(3).toString('hex')}`;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.query(`create database ${name} template ${tpl}`);
      break;
    } catch (err) {
      // Two files copying the template at the same instant: wait and retry.
      if (attempt > 20 || !/being accessed by other users/.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, 250 + Math.random() * 500));
    }
  }
  await admin.end();
  const url = dbUrl(name);
  const env = { ...baseTestEnv(), DATABASE_URL: url, ...extraEnv };
  Object.assign(process.env, env);
  resetSettings();
  return {
    url,
    env,
    cleanup: async () => {
      await closePools();
      const a = new Client({ connectionString: ADMIN_URL });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}
