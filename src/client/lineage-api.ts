import type { GcInput, GcReport } from '../governance/gc.schema.js';
import type { LineageGraph, LineageQuery } from '../governance/lineage.schema.js';
import type { OpenLineageExport } from '../governance/openlineage.schema.js';
import type { HttpTransport } from './http-transport.js';

/** Lineage, OpenLineage export and blob gc: the governance part of SextantApi. */
export interface LineageApi {
  /** The graph around `ref` (a dataset version, run id or model version), upstream and/or downstream. */
  graph(query: LineageQuery): Promise<LineageGraph>;
  /** The run as OpenLineage RunEvents (START, then COMPLETE/FAIL/ABORT by its status). */
  exportOpenLineage(runId: string, options?: { namespace?: string }): Promise<OpenLineageExport>;
  /** Unreferenced blobs: reported, or with `delete: true` removed (admin; audited). */
  gc(input?: GcInput): Promise<GcReport>;
}

/** LineageApi over HTTP. */
export function lineageHttpApi(t: HttpTransport): LineageApi {
  return {
    graph: (query) => t.call('GET', '/api/v1/lineage', { query: { ...query } }),
    exportOpenLineage: (runId, options = {}) =>
      t.call('GET', `/api/v1/lineage/runs/${encodeURIComponent(runId)}/openlineage`, {
        query: { ...options },
      }),
    gc: (input = {}) => t.call('POST', '/api/v1/gc', { json: input }),
  };
}
