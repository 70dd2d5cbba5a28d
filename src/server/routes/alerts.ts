import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app/index.js';
import {
  ackAlertInputSchema,
  alertIdSchema,
  alertSchema,
  listAlertsQuerySchema,
} from '../../monitoring/alerts/index.js';
import { route } from '../route.js';

const tags = ['monitoring'];
const idParams = z.strictObject({ id: alertIdSchema });
const reportQuery = z.strictObject({
  from: z.string().max(40).optional(),
  to: z.string().max(40).optional(),
});

/** Alerts under /api/v1/alerts (reading takes read, acknowledging write) and a deployment's monitoring report. */
export function registerAlertRoutes(app: FastifyInstance, s: Services): void {
  route(app, {
    method: 'GET',
    url: '/api/v1/alerts',
    permission: 'read',
    summary: 'List alerts, newest first; ?state=firing|acknowledged|resolved|open, ?deployment=<name or id>',
    tags,
    querystring: listAlertsQuerySchema,
    response: { 200: z.object({ alerts: z.array(alertSchema) }) },
    handler: async (req) => ({ alerts: await s.alerts.list(req.query) }),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/alerts/:id',
    permission: 'read',
    summary: 'Get an alert',
    tags,
    params: idParams,
    response: { 200: alertSchema },
    handler: async (req) => s.alerts.get(req.params.id),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/alerts/:id/ack',
    permission: 'write',
    summary: 'Acknowledge a firing alert (it still resolves by itself when its condition clears)',
    tags,
    params: idParams,
    body: ackAlertInputSchema,
    response: { 200: alertSchema },
    handler: async (req) =>
      s.alerts.acknowledge({ actor: req.principal.name, id: req.params.id, ...req.body }),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/deployments/:name/monitoring/report',
    permission: 'read',
    summary:
      "A deployment's monitoring report as one self-contained HTML file (inline SVG; ?from=&to= ISO times)",
    tags,
    params: z.strictObject({ name: z.string().min(1).max(200) }),
    querystring: reportQuery,
    handler: async (req, reply) =>
      reply
        .header('content-type', 'text/html; charset=utf-8')
        // The file is self-contained: nothing it shows may be fetched from anywhere, scripts never run.
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
        .send(await s.monitoringReport.html({ deployment: req.params.name, ...req.query })),
  });
}
