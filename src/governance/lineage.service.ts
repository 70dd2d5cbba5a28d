import { toIso } from '../core/clock.js';
import { parseOrThrow } from '../core/validate.js';
import type { GovernanceDeps } from './governance-deps.js';
import * as repo from './lineage.repo.js';
import {
  LINEAGE_LIMITS,
  type LineageEdge,
  type LineageGraph,
  type LineageNode,
  type LineageNodeKind,
  type LineageQuery,
  lineageQuerySchema,
} from './lineage.schema.js';
import { resolveLineageRef } from './lineage-ref.js';

type Side = 'upstream' | 'downstream';

const key = (kind: LineageNodeKind, id: string) => `${kind}:${id}`;
const parseKey = (k: string): { kind: LineageNodeKind; id: string } => {
  const i = k.indexOf(':');
  return { kind: k.slice(0, i) as LineageNodeKind, id: k.slice(i + 1) };
};
const edge = (
  fromKind: LineageNodeKind,
  from: string,
  toKind: LineageNodeKind,
  to: string,
  kind: LineageEdge['kind'],
) => ({
  from: key(fromKind, from),
  to: key(toKind, to),
  kind,
});

/**
 * The lineage graph around one dataset version, run or model version: a breadth-first walk upstream
 * (what it came from) and/or downstream (what came of it), `depth` hops each way, over dataset version
 * parents, producing runs, run inputs and outputs, and the runs model versions were registered from.
 */
export function createLineageService(deps: GovernanceDeps) {
  const { db } = deps;

  /** Edges one hop from the given nodes, on one side. */
  async function expand(frontier: string[], side: Side): Promise<LineageEdge[]> {
    const ids = (kind: LineageNodeKind) =>
      frontier
        .map(parseKey)
        .filter((n) => n.kind === kind)
        .map((n) => n.id);
    const versions = ids('dataset_version');
    const runs = ids('run');
    const models = ids('model_version');
    const out: LineageEdge[] = [];
    if (side === 'upstream') {
      const [parents, rows, outputs, inputs, mvs] = await Promise.all([
        repo.findParentLinks({ tx: db, ids: versions, side: 'child' }),
        repo.findVersions({ tx: db, ids: versions }),
        repo.findRunLinks({ tx: db, versionIds: versions, direction: 'output' }),
        repo.findRunLinks({ tx: db, runIds: runs, direction: 'input' }),
        repo.findModelVersions({ tx: db, ids: models }),
      ]);
      for (const p of parents)
        out.push(edge('dataset_version', p.parent_id, 'dataset_version', p.version_id, 'derived'));
      for (const v of rows)
        if (v.produced_by_run_id)
          out.push(edge('run', v.produced_by_run_id, 'dataset_version', v.id, 'produced'));
      for (const o of outputs)
        out.push(edge('run', o.run_id, 'dataset_version', o.dataset_version_id!, 'produced'));
      for (const i of inputs)
        out.push(edge('dataset_version', i.dataset_version_id!, 'run', i.run_id, 'input'));
      for (const mv of mvs) {
        if (mv.run_id) out.push(edge('run', mv.run_id, 'model_version', mv.id, 'trained'));
        // A version registered from a file has no run; the datasets it names are its direct inputs.
        else
          for (const v of repo.parseIds(mv.dataset_version_ids))
            out.push(edge('dataset_version', v, 'model_version', mv.id, 'input'));
      }
    } else {
      const [children, reads, runless, outputs, produced, mvs] = await Promise.all([
        repo.findParentLinks({ tx: db, ids: versions, side: 'parent' }),
        repo.findRunLinks({ tx: db, versionIds: versions, direction: 'input' }),
        repo.findRunlessModelVersionsOf({ tx: db, versionIds: versions }),
        repo.findRunLinks({ tx: db, runIds: runs, direction: 'output' }),
        repo.findVersionsProducedBy({ tx: db, runIds: runs }),
        repo.findModelVersions({ tx: db, runIds: runs }),
      ]);
      for (const c of children)
        out.push(edge('dataset_version', c.parent_id, 'dataset_version', c.version_id, 'derived'));
      for (const r of reads)
        out.push(edge('dataset_version', r.dataset_version_id!, 'run', r.run_id, 'input'));
      for (const m of runless) out.push(edge('dataset_version', m.versionId, 'model_version', m.id, 'input'));
      for (const o of outputs)
        out.push(edge('run', o.run_id, 'dataset_version', o.dataset_version_id!, 'produced'));
      for (const v of produced)
        out.push(edge('run', v.produced_by_run_id!, 'dataset_version', v.id, 'produced'));
      for (const mv of mvs) out.push(edge('run', mv.run_id!, 'model_version', mv.id, 'trained'));
    }
    return out;
  }

  /** Labels, refs and attributes for every node key, read in one batch per kind. */
  async function describe(depths: Map<string, number>): Promise<LineageNode[]> {
    const all = [...depths.keys()].map(parseKey);
    const of = (kind: LineageNodeKind) => all.filter((n) => n.kind === kind).map((n) => n.id);
    const [versions, runs, models] = await Promise.all([
      repo.findVersions({ tx: db, ids: of('dataset_version') }),
      repo.findRuns({ tx: db, ids: of('run') }),
      repo.findModelVersions({ tx: db, ids: of('model_version') }),
    ]);
    const nodes = new Map<string, Omit<LineageNode, 'depth'>>();
    for (const v of versions) {
      const ref = `${v.dataset}@${v.number}`;
      nodes.set(key('dataset_version', v.id), {
        id: key('dataset_version', v.id),
        kind: 'dataset_version',
        ref,
        label: `dataset ${ref} (${v.digest.slice(0, 12)})${v.deleted_at ? ' [deleted]' : ''}`,
        attributes: {
          dataset: v.dataset,
          number: v.number,
          digest: v.digest,
          createdAt: toIso(v.created_at),
          source: v.source,
          producedByRunId: v.produced_by_run_id,
          deleted: v.deleted_at !== null,
        },
      });
    }
    for (const r of runs) {
      nodes.set(key('run', r.id), {
        id: key('run', r.id),
        kind: 'run',
        ref: r.id,
        label: `run ${r.name} (${r.id}) ${r.status}${r.lifecycle_stage === 'deleted' ? ' [deleted]' : ''}`,
        attributes: {
          name: r.name,
          status: r.status,
          experimentId: String(r.experiment_id),
          experiment: r.experiment,
          startTime: toIso(r.start_time),
          endTime: r.end_time === null ? null : toIso(r.end_time),
          deleted: r.lifecycle_stage === 'deleted',
        },
      });
    }
    for (const m of models) {
      const ref = `${m.model}@${m.version}`;
      nodes.set(key('model_version', m.id), {
        id: key('model_version', m.id),
        kind: 'model_version',
        ref,
        label: `model ${ref}${m.deleted_at ? ' [deleted]' : ''}`,
        attributes: {
          model: m.model,
          version: m.version,
          runId: m.run_id,
          sha256: m.sha256,
          format: m.format,
          createdAt: toIso(m.created_at),
          deleted: m.deleted_at !== null,
        },
      });
    }
    // A link to a row that is gone (never expected: rows are soft-deleted) still shows, marked missing.
    return [...depths].map(([k, depth]) => {
      const found = nodes.get(k);
      if (found) return { ...found, depth };
      const { kind, id } = parseKey(k);
      return {
        id: k,
        kind,
        ref: id,
        label: `${kind.replace('_', ' ')} ${id} [missing]`,
        depth,
        attributes: { missing: true },
      };
    });
  }

  /** The graph around `ref` (see LineageQuery): nodes in walk order, root first; edges deduplicated. */
  async function graph(query: LineageQuery): Promise<LineageGraph> {
    const q = parseOrThrow(lineageQuerySchema, query);
    const root = await resolveLineageRef(deps, db, q.ref);
    const rootKey = key(root.kind, root.id);
    const depths = new Map([[rootKey, 0]]);
    const edges = new Map<string, LineageEdge>();
    let truncated = false;
    const sides: Side[] = q.direction === 'both' ? ['upstream', 'downstream'] : [q.direction];
    for (const side of sides) {
      // Each side walks on its own: "both" is ancestors plus descendants, not every relative.
      const seen = new Set([rootKey]);
      let frontier = [rootKey];
      for (let hop = 1; hop <= q.depth && frontier.length > 0 && !truncated; hop++) {
        const next: string[] = [];
        for (const e of await expand(frontier, side)) {
          const other = side === 'upstream' ? e.from : e.to;
          if (!seen.has(other)) {
            if (depths.size >= LINEAGE_LIMITS.maxNodes && !depths.has(other)) {
              truncated = true;
              continue;
            }
            seen.add(other);
            next.push(other);
            depths.set(other, Math.min(depths.get(other) ?? hop, hop));
          }
          edges.set(`${e.from}|${e.to}|${e.kind}`, e);
        }
        frontier = next;
      }
    }
    const kept = [...edges.values()].filter((e) => depths.has(e.from) && depths.has(e.to));
    return {
      root: rootKey,
      direction: q.direction,
      depth: q.depth,
      nodes: await describe(depths),
      edges: kept,
      truncated,
    };
  }

  return { graph };
}

export type LineageService = ReturnType<typeof createLineageService>;
