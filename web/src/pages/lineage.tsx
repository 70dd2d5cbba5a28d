import { Graph, layout } from '@dagrejs/dagre';
import { type FormEvent, type PointerEvent, useMemo, useRef, useState, type WheelEvent } from 'react';
import type { LineageGraph, LineageNode } from '../../../src/governance/lineage.schema.js';
import { api } from '../api';
import { ArrowMarker } from '../components/arrow-marker';
import { Show } from '../components/status';
import { navigate, seg, useLocation } from '../router';
import { useAsync } from '../use-async';

const NODE_W = 220;
const NODE_H = 44;

/** The page of the object a lineage node stands for. */
function hrefOf(n: LineageNode): string {
  if (n.kind === 'run') return `/runs/${seg(n.ref)}`;
  const at = n.ref.lastIndexOf('@');
  const [name, version] = [n.ref.slice(0, at), n.ref.slice(at + 1)];
  return n.kind === 'model_version'
    ? `/models/${seg(name)}/versions/${seg(version)}`
    : `/datasets/${seg(name)}/versions/${seg(version)}`;
}

function laidOut(g: LineageGraph) {
  const d = new Graph();
  d.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 70, marginx: 20, marginy: 20 });
  d.setDefaultEdgeLabel(() => ({}));
  for (const n of g.nodes) d.setNode(n.id, { width: NODE_W, height: NODE_H });
  for (const e of g.edges) if (d.hasNode(e.from) && d.hasNode(e.to)) d.setEdge(e.from, e.to);
  layout(d);
  const size = d.graph();
  return {
    width: (size.width ?? 400) + 40,
    height: (size.height ?? 200) + 40,
    nodes: g.nodes.map((n) => ({ n, x: d.node(n.id).x, y: d.node(n.id).y })),
    edges: g.edges
      .filter((e) => d.hasEdge(e.from, e.to))
      .map((e) => ({ e, points: d.edge(e.from, e.to).points ?? [] })),
  };
}

/** The graph: drag to pan, wheel to zoom, click a node to open it. */
function GraphView({ graph }: { graph: LineageGraph }) {
  const view = useMemo(() => laidOut(graph), [graph]);
  const [box, setBox] = useState({ x: 0, y: 0, w: view.width, h: view.height });
  const drag = useRef<{ x: number; y: number } | null>(null);
  const svg = useRef<SVGSVGElement>(null);
  const scale = () => box.w / (svg.current?.clientWidth || box.w);
  const onWheel = (e: WheelEvent) => {
    const f = e.deltaY > 0 ? 1.15 : 1 / 1.15;
    setBox((b) => ({ x: b.x + (b.w * (1 - f)) / 2, y: b.y + (b.h * (1 - f)) / 2, w: b.w * f, h: b.h * f }));
  };
  const onDown = (e: PointerEvent) => {
    drag.current = { x: e.clientX, y: e.clientY };
  };
  const onMove = (e: PointerEvent) => {
    if (!drag.current) return;
    const s = scale();
    const dx = (e.clientX - drag.current.x) * s;
    const dy = (e.clientY - drag.current.y) * s;
    drag.current = { x: e.clientX, y: e.clientY };
    setBox((b) => ({ ...b, x: b.x - dx, y: b.y - dy }));
  };
  return (
    <svg
      ref={svg}
      className="lineage"
      data-testid="lineage-graph"
      viewBox={`${box.x} ${box.y} ${box.w} ${box.h}`}
      height={Math.min(640, view.height)}
      onWheel={onWheel}
      onPointerDown={onDown}
      onPointerMove={onMove}
      onPointerUp={() => {
        drag.current = null;
      }}
      onPointerLeave={() => {
        drag.current = null;
      }}
      aria-label={`lineage graph of ${graph.root}: ${graph.nodes.length} nodes`}
    >
      <ArrowMarker id="arrow" />
      {view.edges.map(({ e, points }) => (
        <g key={`${e.from}-${e.to}`} className={`edge edge-${e.kind}`}>
          <polyline
            points={points.map((p: { x: number; y: number }) => `${p.x},${p.y}`).join(' ')}
            fill="none"
            markerEnd="url(#arrow)"
          />
          {points.length > 1 ? (
            <text
              x={points[Math.floor(points.length / 2)]!.x}
              y={points[Math.floor(points.length / 2)]!.y - 4}
            >
              {e.kind}
            </text>
          ) : null}
        </g>
      ))}
      {view.nodes.map(({ n, x, y }) => (
        // biome-ignore lint/a11y/useSemanticElements: an SVG node cannot be a <button>; it has the role and the keys
        <g
          key={n.id}
          className={`node node-${n.kind}${n.id === graph.root ? ' root' : ''}`}
          transform={`translate(${x - NODE_W / 2},${y - NODE_H / 2})`}
          onClick={() => navigate(hrefOf(n))}
          onKeyDown={(e) => {
            if (e.key === 'Enter') navigate(hrefOf(n));
          }}
          tabIndex={0}
          role="button"
        >
          <rect width={NODE_W} height={NODE_H} rx={6} />
          <text x={8} y={17} className="kind">
            {n.kind.replace('_', ' ')}
          </text>
          <text x={8} y={34}>
            {n.ref.length > 30 ? `${n.ref.slice(0, 29)}…` : n.ref}
          </text>
        </g>
      ))}
    </svg>
  );
}

/** Lineage around a dataset version, run or model version, upstream and downstream. */
export function LineagePage() {
  const { query } = useLocation();
  const ref = query.get('ref') ?? '';
  const direction = (query.get('direction') ?? 'both') as 'both' | 'upstream' | 'downstream';
  const [draft, setDraft] = useState(ref);
  const graph = useAsync(
    () => (ref ? api().lineage.graph({ ref, direction, depth: 10 }) : Promise.resolve(null)),
    [ref, direction],
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    navigate(`/lineage?ref=${seg(draft.trim())}&direction=${direction}`);
  };
  return (
    <section>
      <h1>Lineage</h1>
      <form className="toolbar" onSubmit={submit}>
        <label htmlFor="lineage-ref">Start from</label>
        <input
          id="lineage-ref"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          placeholder="credit-train@1, a run id, or model@champion"
        />
        <label>
          Direction{' '}
          <select
            value={direction}
            onChange={(e) =>
              navigate(`/lineage?ref=${seg(ref)}&direction=${e.target.value}`, { replace: true })
            }
          >
            <option value="both">both</option>
            <option value="upstream">upstream</option>
            <option value="downstream">downstream</option>
          </select>
        </label>
        <button type="submit">Show</button>
      </form>
      {ref ? (
        <Show value={graph} what="the lineage">
          {(g) =>
            g === null ? null : (
              <>
                <p className="muted">
                  {g.nodes.length} nodes, {g.edges.length} edges
                  {g.truncated ? ' (truncated at the node limit)' : ''}. Drag to pan, scroll to zoom, click a
                  node to open it.
                </p>
                <GraphView graph={g} />
              </>
            )
          }
        </Show>
      ) : (
        <p className="empty">
          Name a dataset version, a run or a model version to see what it came from and what it fed.
        </p>
      )}
    </section>
  );
}
