import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app/index.js';
import {
  gcBodySchema,
  gcReportSchema,
  lineageGraphSchema,
  lineageQuerySchema,
  openLineageExportSchema,
} from '../../governance/index.js';
import { runIdSchema } from '../../tracking/index.js';
import { route } from '../route.js';

/** Lineage (/api/v1/lineage), OpenLineage export of a run, and blob garbage collection (/api/v1/gc). */
export function registerGovernanceRoutes(app: FastifyInstance, s: Services): void {
  route(app, {
    method: 'GET',
    url: '/api/v1/lineage',
    permission: 'read',
    summary: 'Upstream and downstream lineage of a dataset version, run or model version',
    tags: ['lineage'],
    querystring: lineageQuerySchema,
    response: { 200: lineageGraphSchema },
    handler: async (req) => s.governance.lineage.graph(req.query),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/lineage/runs/:id/openlineage',
    permission: 'read',
    summary: 'A run with its inputs and outputs as OpenLineage RunEvents',
    tags: ['lineage'],
    params: z.strictObject({ id: runIdSchema }),
    querystring: z.strictObject({ namespace: z.string().trim().min(1).max(500).optional() }),
    response: { 200: openLineageExportSchema },
    handler: async (req) =>
      s.governance.openLineage.exportRun({
        runId: req.params.id,
        ...(req.query.namespace ? { namespace: req.query.namespace } : {}),
      }),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/gc',
    permission: 'admin',
    summary: 'Find (and with delete: true, remove) blobs nothing references; deleting is audited',
    tags: ['governance'],
    body: gcBodySchema.optional(),
    response: { 200: gcReportSchema },
    handler: async (req) => s.governance.gc.run({ actor: req.principal.name, ...(req.body ?? {}) }),
  });
}
