import { z } from 'zod';

/*
 * The lineage graph as the API, the CLI and the web see it. Nodes are dataset versions, runs and model
 * versions; edges point the way data flows (upstream -> downstream), so "upstream of X" follows edges
 * backwards and "downstream of X" follows them forwards.
 */

export const lineageNodeKindSchema = z.enum(['dataset_version', 'run', 'model_version']);
export type LineageNodeKind = z.infer<typeof lineageNodeKindSchema>;

/**
 * derived: parent version -> derived version; produced: run -> the version it wrote (its producing run or a
 * run output); input: version -> run that read it; trained: run -> model version registered from it.
 */
export const lineageEdgeKindSchema = z.enum(['derived', 'produced', 'input', 'trained']);
export type LineageEdgeKind = z.infer<typeof lineageEdgeKindSchema>;

export const lineageDirectionSchema = z.enum(['upstream', 'downstream', 'both']);
export type LineageDirection = z.infer<typeof lineageDirectionSchema>;

export const lineageNodeSchema = z.object({
  /** Graph-unique key: `<kind>:<row id>`, e.g. `run:run_01j...`, `dataset_version:dsv_01j...`. */
  id: z.string(),
  kind: lineageNodeKindSchema,
  /** What a person types to name it: `credit@3`, a run id, `churn@2`. */
  ref: z.string(),
  /** A short readable line: `dataset credit@3 (1a2b3c4d5e6f)`, `run brisk-otter-417 FINISHED`. */
  label: z.string(),
  /** Hops from the root (0 for the root itself). */
  depth: z.number().int(),
  /** Facts worth showing: digest, status, experiment, created time, ... */
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
});
export type LineageNode = z.infer<typeof lineageNodeSchema>;

export const lineageEdgeSchema = z.object({
  from: z.string(),
  to: z.string(),
  kind: lineageEdgeKindSchema,
});
export type LineageEdge = z.infer<typeof lineageEdgeSchema>;

export const lineageGraphSchema = z.object({
  root: z.string(),
  direction: lineageDirectionSchema,
  depth: z.number().int(),
  nodes: z.array(lineageNodeSchema),
  edges: z.array(lineageEdgeSchema),
  /** True when the walk stopped at the node limit before reaching the depth asked for. */
  truncated: z.boolean(),
});
export type LineageGraph = z.infer<typeof lineageGraphSchema>;

export const LINEAGE_LIMITS = { defaultDepth: 10, maxDepth: 100, maxNodes: 2000 } as const;

export const lineageQuerySchema = z.strictObject({
  ref: z.string().trim().min(1, 'ref is required').max(600),
  direction: lineageDirectionSchema.default('both'),
  depth: z.coerce.number().int().min(1).max(LINEAGE_LIMITS.maxDepth).default(LINEAGE_LIMITS.defaultDepth),
});
/** What a caller asks: the ref, which way (default both) and how many hops (default 10). */
export interface LineageQuery {
  ref: string;
  direction?: LineageDirection;
  depth?: number;
}
