import { Client } from 'pg';
import { ADMIN_URL } from './helpers/env';

export default async function globalTeardown(): Promise<void> {
  const tpl = process.env.DOTATION_TEST_TEMPLATE;
  if (!tpl) return;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const suffix = tpl.replace('dotation_tpl_', '');
  const { rows } = await admin.query(`select datname from pg_database where datname = $1 or datname like $2`, [
    tpl,
    `dotation_t_${suffix}_%`,
  ]);
  for (const r of rows) await admin.query(`drop database if exists "${r.datname}" with (force)`);
  await admin.end();
}
