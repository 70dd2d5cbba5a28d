import type {
  LineageEdge,
  LineageEdgeKind,
  LineageGraph,
  LineageNode,
  LineageNodeKind,
} from './lineage.schema.js';

/*
 * Three renderings of one lineage graph: an indented text tree for the terminal, Mermaid (renders in
 * GitHub and most Markdown viewers) and Graphviz DOT. Pure functions over the graph JSON, so the CLI
 * renders the same way whether the graph came from the local workspace or a server.
 */

export type LineageFormat = 'text' | 'mermaid' | 'dot';

const upstreamPhrase: Record<LineageEdgeKind, string> = {
  derived: 'derived from',
  produced: 'produced by',
  input: 'input',
  trained: 'trained by',
};
const downstreamPhrase: Record<LineageEdgeKind, string> = {
  derived: 'derived into',
  produced: 'produced',
  input: 'input to',
  trained: 'trained',
};

/** The graph as an indented tree: the root, then what it came from, then what came of it. */
export function formatLineageText(graph: LineageGraph): string {
  const nodes = new Map(graph.nodes.map((n) => [n.id, n]));
  const root = nodes.get(graph.root);
  if (!root) return '';
  const lines = [root.label];
  const walk = (side: 'upstream' | 'downstream') => {
    const next = (id: string) =>
      graph.edges
        .filter((e) => (side === 'upstream' ? e.to === id : e.from === id))
        .map((e) => ({ edge: e, node: nodes.get(side === 'upstream' ? e.from : e.to) }))
        .filter((x): x is { edge: LineageEdge; node: LineageNode } => x.node !== undefined)
        .sort((a, b) => a.node.label.localeCompare(b.node.label));
    const first = next(root.id);
    if (first.length === 0) return;
    lines.push(side);
    const seen = new Set([root.id]);
    const phrase = side === 'upstream' ? upstreamPhrase : downstreamPhrase;
    const visit = (items: ReturnType<typeof next>, indent: string) => {
      items.forEach(({ edge, node }, i) => {
        const last = i === items.length - 1;
        const again = seen.has(node.id);
        lines.push(
          `${indent}${last ? '└─ ' : '├─ '}${phrase[edge.kind]}: ${node.label}${again ? ' (see above)' : ''}`,
        );
        if (again) return;
        seen.add(node.id);
        visit(next(node.id), indent + (last ? '   ' : '│  '));
      });
    };
    visit(first, '');
  };
  if (graph.direction !== 'downstream') walk('upstream');
  if (graph.direction !== 'upstream') walk('downstream');
  if (graph.truncated) lines.push(`(stopped at ${graph.nodes.length} nodes; narrow it with --depth)`);
  return lines.join('\n');
}

const mermaidShape: Record<LineageNodeKind, [string, string]> = {
  dataset_version: ['[(', ')]'],
  run: ['([', '])'],
  model_version: ['{{', '}}'],
};

// Mermaid reads entity codes inside quoted labels; a raw quote would end the label.
const mermaidText = (s: string) =>
  s.replace(/&/g, '#amp;').replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');

/** The graph as a Mermaid flowchart, left to right; the root is drawn with a thick border. */
export function formatLineageMermaid(graph: LineageGraph): string {
  const ids = new Map(graph.nodes.map((n, i) => [n.id, `n${i}`]));
  const lines = ['flowchart LR'];
  for (const n of graph.nodes) {
    const [open, close] = mermaidShape[n.kind];
    lines.push(`  ${ids.get(n.id)}${open}"${mermaidText(n.label)}"${close}`);
  }
  for (const e of graph.edges) {
    const from = ids.get(e.from);
    const to = ids.get(e.to);
    if (from && to) lines.push(`  ${from} -->|${e.kind}| ${to}`);
  }
  lines.push('  classDef root stroke-width:3px');
  const root = ids.get(graph.root);
  if (root) lines.push(`  class ${root} root`);
  return lines.join('\n');
}

const dotShape: Record<LineageNodeKind, string> = {
  dataset_version: 'cylinder',
  run: 'box',
  model_version: 'hexagon',
};

const dotString = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

/** The graph as a Graphviz digraph (`dot -Tsvg`), left to right; the root is drawn bold. */
export function formatLineageDot(graph: LineageGraph): string {
  const lines = ['digraph lineage {', '  rankdir=LR;', '  node [fontname="Helvetica"];'];
  for (const n of graph.nodes) {
    const bold = n.id === graph.root ? ', style=bold' : '';
    lines.push(`  ${dotString(n.id)} [label=${dotString(n.label)}, shape=${dotShape[n.kind]}${bold}];`);
  }
  for (const e of graph.edges)
    lines.push(`  ${dotString(e.from)} -> ${dotString(e.to)} [label=${dotString(e.kind)}];`);
  lines.push('}');
  return lines.join('\n');
}

/** One of the three renderings by name. */
export function formatLineage(graph: LineageGraph, format: LineageFormat): string {
  switch (format) {
    case 'text':
      return formatLineageText(graph);
    case 'mermaid':
      return formatLineageMermaid(graph);
    case 'dot':
      return formatLineageDot(graph);
  }
}
