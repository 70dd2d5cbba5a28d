import type { MetricPoint } from './metric-point.schema.js';
import type { PointScope, PointSink } from './point-builder.js';
import {
  type DriftPolicy,
  type LiveQuality,
  liveQuality,
  type RawColumn,
  type ReferenceInput,
  toMetricPoints,
  windowDrift,
} from './stats/index.js';

/*
 * Drift and live quality of one version's window through the stats library: inputs against a
 * reference under the monitor's policy (their drift share), outputs (prediction, score) tested the
 * same way but kept out of the inputs' share. Every point names the reference it was measured against.
 */

export interface Comparison {
  kind: 'drift' | 'skew';
  /** Named in each point's details: `training credit@3`, `previous window (200 rows)`. */
  label: string;
  inputs: { reference: Map<string, ReferenceInput>; current: Map<string, RawColumn> };
  outputs: { reference: Map<string, ReferenceInput>; current: Map<string, RawColumn> };
}

/** Writes `<kind>.<test>` and `<kind>.psi` per feature and output, and `<kind>.share` over the inputs. */
export function measureComparison(
  sink: PointSink,
  scope: PointScope,
  c: Comparison,
  policy: DriftPolicy,
): void {
  const ctx = { ...scope, comparison: c.kind };
  const inputs = windowDrift(c.inputs.reference, c.inputs.current, policy);
  sink.push(toMetricPoints({ drift: inputs }, ctx), { reference: c.label });
  if (c.outputs.current.size === 0) return;
  const outputs = windowDrift(c.outputs.reference, c.outputs.current, policy);
  const share = `${c.kind}.share`;
  sink.push(
    toMetricPoints({ drift: outputs }, ctx).filter((p: MetricPoint) => p.metric !== share),
    { reference: c.label, output: true },
  );
}

/** Writes the `quality.*` points of the features that have a reference. */
export function measureQuality(
  sink: PointSink,
  scope: PointScope,
  reference: Map<string, ReferenceInput>,
  current: Map<string, RawColumn>,
): void {
  const quality: LiveQuality[] = [];
  for (const [name, values] of current) {
    const ref = reference.get(name);
    if (ref !== undefined) quality.push(liveQuality(ref, values, name));
  }
  sink.push(toMetricPoints({ quality }, { ...scope, comparison: 'skew' }));
}
