import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { pool } from '../../db/pool';
import { COMMUNE_CODE } from '../../communes/codes';
import { listTargets, registerTarget, Registration, removeTarget } from '../../publish/publish';
import { PublicationKeyMissingError } from '../../publish/secret';
import { enqueuePendingPublications, enqueuePublication } from '../../queue/publications';
import { HttpError, parseOr400 } from '../http/errors';
import { requireOperator } from '../http/operator-auth';

/**
 * The operator's side of publication to data.gouv.fr (the `requireOperator` hook: bearer OPERATOR_TOKEN):
 *   GET    /operator/publications               registered communes: state, published version, last error
 *   GET    /operator/publications/:code/runs    the attempts of one commune (what each did, its error)
 *   PUT    /operator/publications/:code         register or replace { organization, apiKey, apiUrl? }
 *   DELETE /operator/publications/:code         stop publishing (the datasets stay on data.gouv.fr)
 *   POST   /operator/publications/:code/run     publish the latest version now (enqueued)
 * The API key is accepted, encrypted and never given back: no answer or log line holds it.
 */
const Code = z.object({ code: z.string().regex(COMMUNE_CODE, 'code de commune attendu (par exemple 75112 ou 2A004)') });

export default async function publications(app: FastifyInstance): Promise<void> {
  app.addHook('preHandler', requireOperator);

  app.get('/operator/publications', async () => listTargets());

  app.get('/operator/publications/:code/runs', async (req) => {
    const { code } = parseOr400(Code, req.params, 'chemin');
    const { rows } = await pool().query(
      `select id, version, status, trigger, job_id, attempt, writes, error, started_at, finished_at
         from publication_runs where code = $1 order by id desc limit 100`,
      [code],
    );
    return rows;
  });

  app.put('/operator/publications/:code', async (req) => {
    const { code } = parseOr400(Code, req.params, 'chemin');
    // zod messages name the field, never its value: the key does not come back in an error.
    const body = parseOr400(Registration, req.body, 'corps');
    try {
      const r = await registerTarget(code, body, 'operateur');
      const queued = await enqueuePendingPublications([code]).catch(() => 0);
      return { ...r, publicationMiseEnFile: queued > 0 };
    } catch (err) {
      if (err instanceof PublicationKeyMissingError) throw new HttpError(503, err.message);
      if (/^aucune commune/.test((err as Error).message)) throw new HttpError(404, (err as Error).message);
      throw err;
    }
  });

  app.delete('/operator/publications/:code', async (req, reply) => {
    const { code } = parseOr400(Code, req.params, 'chemin');
    if (!(await removeTarget(code))) throw new HttpError(404, `${code} n'est pas inscrite pour la publication`);
    return reply.code(204).send();
  });

  app.post('/operator/publications/:code/run', async (req, reply) => {
    const { code } = parseOr400(Code, req.params, 'chemin');
    const [t] = await listTargets(undefined, code);
    if (!t) throw new HttpError(404, `${code} n'est pas inscrite pour la publication`);
    if (!t.latestVersion) throw new HttpError(409, `aucun dossier de données construit pour ${t.nom ?? code}`);
    const job = await enqueuePublication(code, t.latestVersion, { trigger: 'api', fresh: true });
    return reply.code(202).send({ job, code, version: t.latestVersion });
  });
}
