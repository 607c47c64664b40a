import type { FastifyInstance } from 'fastify';
import { requireOperator } from '../http/operator-auth';
import { metricsText } from '../metrics';

/**
 * `GET /metrics`: the Prometheus exposition (src/server/metrics.ts), behind the operator's bearer
 * token like the operator API (Prometheus: `authorization: { credentials: <OPERATOR_TOKEN> }`).
 * METRICS_PORT serves the same text without a token on a second, private listener.
 */
export default async function metrics(app: FastifyInstance): Promise<void> {
  app.addHook('preHandler', requireOperator);
  app.get('/metrics', { compress: false }, async (_req, reply) => {
    const { contentType, body } = await metricsText();
    return reply.header('cache-control', 'no-store').type(contentType).send(body);
  });
}
