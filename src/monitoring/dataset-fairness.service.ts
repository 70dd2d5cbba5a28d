import { ValidationError } from '../core/errors.js';
import { readStoredTable } from '../data/index.js';
import type { DatasetFairness, DatasetFairnessQuery } from './dataset-fairness.schema.js';
import { type FacetValue, preTrainingBias } from './fairness/index.js';
import type { MonitoringDeps } from './monitoring-deps.js';

/*
 * Clarify's pre-training bias (CI, DPL) of a labelled dataset version (issue 12, item 7): read from
 * the stored table (the two columns only), per value of the protected attribute against the rest,
 * with the group sizes; a group (or its rest) under minGroupSize answers insufficient_data.
 */

/** Pre-training fairness of `<dataset>@<n>[:<table>]` on an attribute and a label column. */
export async function datasetFairness(
  deps: Pick<MonitoringDeps, 'datasets' | 'blobs'>,
  q: DatasetFairnessQuery,
): Promise<DatasetFairness> {
  const at = q.dataset.indexOf('@');
  const colon = q.dataset.indexOf(':', at);
  const ref = colon < 0 ? q.dataset : q.dataset.slice(0, colon);
  const wanted = colon < 0 ? undefined : q.dataset.slice(colon + 1);
  const dv = await deps.datasets.resolve(ref);
  const name = `${dv.dataset}@${dv.number}`;
  const tables = wanted ? dv.tables.filter((t) => t.path === wanted) : dv.tables;
  if (tables.length !== 1)
    throw new ValidationError(
      tables.length === 0
        ? `dataset: ${name} has no table ${wanted ? `'${wanted}'` : '(csv, parquet or jsonl)'}`
        : `dataset: ${name} holds ${tables.length} tables; name one as ${name}:<path>`,
      { field: 'dataset' },
    );
  const table = tables[0]!;
  const file = dv.files.find((f) => f.path === table.path)!;
  for (const [field, column] of [
    ['attribute', q.attribute],
    ['label', q.label],
  ] as const) {
    if (!table.schema.columns.some((c) => c.name === column))
      throw new ValidationError(`${field}: column '${column}' is not in ${name}:${table.path}`, { field });
  }
  const data = await readStoredTable(deps.blobs, file, table.format, {
    columns: [q.attribute, q.label],
    nullValues: table.schema.nullValues,
  });
  const facet = data.columns[0]!.values as FacetValue[];
  const raw = data.columns[1]!.values;
  // A positive label given as text compares with the column's values as text (1 matches 1.0 too).
  const labels =
    q.positive === undefined
      ? (raw as (string | number | boolean)[])
      : raw.map((v) => (typeof v === 'number' && Number(q.positive) === v ? q.positive : String(v)));
  const report = preTrainingBias({
    attribute: q.attribute,
    facet,
    labels: labels as (string | number | boolean)[],
    ...(q.positive !== undefined ? { positiveLabel: q.positive } : {}),
    ...(q.minGroupSize !== undefined ? { minGroupSize: q.minGroupSize } : {}),
  });
  return {
    dataset: name,
    table: table.path,
    attribute: q.attribute,
    label: q.label,
    rows: report.rows,
    excludedRows: report.excludedRows,
    minGroupSize: report.minGroupSize,
    groups: report.groups.map((g) => ({
      value: g.value,
      slice: g.slice,
      size: g.size,
      restSize: g.restSize,
      positives: g.facet.positives,
      restPositives: g.rest.positives,
      metrics: { CI: g.metrics.CI, DPL: g.metrics.DPL },
    })),
  };
}
