import crypto from 'node:crypto';
import { Client } from 'pg';
import { ADMIN_URL, baseTestEnv, dbUrl } from './helpers/env';

/**
 * Builds one template database for the whole test run: migrations applied and the commune
 * referential loaded from the embedded package. Each test file then gets its own copy
 * (CREATE DATABASE … TEMPLATE), so files run in parallel without seeing each other's rows.
 */
export default async function globalSetup(): Promise<void> {
  const name = `dotation_tpl_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = dbUrl(name);
  Object.assign(process.env, baseTestEnv(), { DATABASE_URL: url, DOTATION_TEST_TEMPLATE: name });
  const { resetSettings } = await import('../config/settings');
  resetSettings();
  const { migrate } = await import('../src/db/migrate');
  await migrate(url);
  const { runSource } = await import('../src/engine/runner');
  await runSource('cog', { trigger: 'test', log: () => undefined });
  const { closePools } = await import('../src/db/pool');
  await closePools();
}
