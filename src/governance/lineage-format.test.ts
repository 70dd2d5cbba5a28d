import { describe, expect, it } from 'vitest';
import type { LineageGraph } from './lineage.schema.js';
import { formatLineageDot, formatLineageMermaid, formatLineageText } from './lineage-format.js';

const node = (id: string, kind: LineageGraph['nodes'][number]['kind'], label: string, depth: number) => ({
  id,
  kind,
  ref: id,
  label,
  depth,
  attributes: {},
});

/** raw -> prep -> clean (root) -> train -> model, plus raw -derived-> clean. */
const graph: LineageGraph = {
  root: 'dataset_version:c',
  direction: 'both',
  depth: 10,
  truncated: false,
  nodes: [
    node('dataset_version:c', 'dataset_version', 'dataset clean@1 (aaaa)', 0),
    node('dataset_version:r', 'dataset_version', 'dataset raw@1 "quoted" <x>', 1),
    node('run:p', 'run', 'run prep (run_p) FINISHED', 1),
    node('run:t', 'run', 'run train (run_t) RUNNING', 1),
    node('model_version:m', 'model_version', 'model churn@2', 2),
  ],
  edges: [
    { from: 'dataset_version:r', to: 'dataset_version:c', kind: 'derived' },
    { from: 'run:p', to: 'dataset_version:c', kind: 'produced' },
    { from: 'dataset_version:r', to: 'run:p', kind: 'input' },
    { from: 'dataset_version:c', to: 'run:t', kind: 'input' },
    { from: 'run:t', to: 'model_version:m', kind: 'trained' },
  ],
};

describe('lineage output', () => {
  it('text: the root, then an upstream and a downstream tree; a node met twice says so', () => {
    expect(formatLineageText(graph)).toBe(
      [
        'dataset clean@1 (aaaa)',
        'upstream',
        '├─ derived from: dataset raw@1 "quoted" <x>',
        '└─ produced by: run prep (run_p) FINISHED',
        '   └─ input: dataset raw@1 "quoted" <x> (see above)',
        'downstream',
        '└─ input to: run train (run_t) RUNNING',
        '   └─ trained: model churn@2',
      ].join('\n'),
    );
    expect(formatLineageText({ ...graph, direction: 'downstream' })).not.toContain('upstream');
  });

  it('mermaid: a flowchart with one shape per kind, labelled edges, escaped quotes and the root marked', () => {
    const m = formatLineageMermaid(graph).split('\n');
    expect(m[0]).toBe('flowchart LR');
    expect(m).toContain('  n0[("dataset clean@1 (aaaa)")]');
    expect(m).toContain('  n1[("dataset raw@1 #quot;quoted#quot; #lt;x#gt;")]');
    expect(m).toContain('  n2(["run prep (run_p) FINISHED"])');
    expect(m).toContain('  n4{{"model churn@2"}}');
    expect(m).toContain('  n1 -->|derived| n0');
    expect(m).toContain('  n3 -->|trained| n4');
    expect(m.filter((l) => l.includes('-->'))).toHaveLength(5);
    expect(m.at(-1)).toBe('  class n0 root');
  });

  it('dot: a digraph whose ids and labels are quoted and escaped', () => {
    const d = formatLineageDot(graph);
    expect(d.startsWith('digraph lineage {\n  rankdir=LR;')).toBe(true);
    expect(d.endsWith('}')).toBe(true);
    expect(d).toContain('"dataset_version:c" [label="dataset clean@1 (aaaa)", shape=cylinder, style=bold];');
    expect(d).toContain('"dataset_version:r" [label="dataset raw@1 \\"quoted\\" <x>", shape=cylinder];');
    expect(d).toContain('"run:t" -> "model_version:m" [label="trained"];');
    expect(d.match(/->/g)).toHaveLength(5);
  });
});
