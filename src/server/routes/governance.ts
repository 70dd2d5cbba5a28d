import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app/index.js';
import {
  attributeList,
  complianceReportQuerySchema,
  complianceReportSchema,
  gcBodySchema,
  gcReportSchema,
  lineageGraphSchema,
  lineageQuerySchema,
  openLineageExportSchema,
  renderComplianceHtml,
} from '../../governance/index.js';
import { modelNameSchema } from '../../registry/index.js';
import { runIdSchema } from '../../tracking/index.js';
import { route } from '../route.js';

/**
 * Lineage (/api/v1/lineage), OpenLineage export of a run, blob garbage collection (/api/v1/gc) and the
 * compliance report of a model version.
 */
export function registerGovernanceRoutes(app: FastifyInstance, s: Services): void {
  route(app, {
    method: 'GET',
    url: '/api/v1/models/:name/versions/:ref/compliance-report',
    permission: 'read',
    summary:
      'The compliance report of a version (number, alias or "latest"): JSON, or ?format=html for one self-contained document; ?from=&to= ISO times bound the production period',
    tags: ['governance'],
    params: z.strictObject({ name: modelNameSchema, ref: z.string().min(1).max(64) }),
    querystring: complianceReportQuerySchema,
    response: { 200: complianceReportSchema },
    handler: async (req, reply) => {
      const { format, reproducedNow, slices, ...period } = req.query;
      const report = await s.compliance.report(
        {
          model: req.params.name,
          ref: req.params.ref,
          ...period,
          ...(slices ? { slices: attributeList(slices) } : {}),
          reproducedNow: reproducedNow === 'true',
        },
        req.principal.name,
      );
      if (format === 'json') return report;
      return (
        reply
          .header('content-type', 'text/html; charset=utf-8')
          // Self-contained: nothing in it may be fetched from anywhere, and no script ever runs.
          .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
          .send(renderComplianceHtml(report))
      );
    },
  });
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
