/*
 * The demo's data chapter: a synthetic training set becomes dataset `credit-train`, is validated
 * against a quality suite, a later drifted production sample becomes `credit-prod`, and the two are
 * compared column by column from their stored profiles (the raw rows are never read again).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SextantApi } from '../src/client/index.js';
import { addPath, type DatasetDiff } from '../src/data/index.js';
import { writeCreditCsv } from '../src/ml/synthetic.js';

const TABLE = 'applications.csv';

const SUITE = `name: credit-applications
table: ${TABLE}
expectations:
  - column_exists: { column: defaulted }
  - not_null: { column: age }
  - between: { column: age, min: 18, max: 100 }
  - between: { column: debt_ratio, min: 0, max: 5 }
  - in_set: { column: defaulted, values: [0, 1] }
  - null_fraction: { column: income, max: 0.01 }
  - row_count: { min: 1000 }
`;

const fmt = (v: unknown) =>
  typeof v === 'number'
    ? Number.isInteger(v)
      ? String(v)
      : v.toPrecision(4)
    : v === undefined
      ? ''
      : String(v);

/** The few columns whose move tells the story: production applicants are younger, poorer, more indebted. */
function driftLines(diff: DatasetDiff): string[] {
  const t = diff.tables.find((x) => x.path === TABLE)?.diff;
  if (!t) return [];
  const lines = [`    rows ${t.rowCount.a} -> ${t.rowCount.b}`];
  for (const c of t.columns.filter((x) =>
    ['age', 'income', 'debt_ratio', 'late_payments'].includes(x.name),
  )) {
    lines.push(`    ${c.name.padEnd(14)} mean ${fmt(c.a.mean).padStart(9)} -> ${fmt(c.b.mean).padStart(9)}`);
  }
  return lines;
}

/** Adds the training set and a drifted production sample, validates and compares them; returns both refs. */
export async function dataChapter(
  api: SextantApi,
  opts: { workDir: string },
): Promise<{ trainRef: string; prodRef: string }> {
  const trainDir = path.join(opts.workDir, 'credit-train');
  const prodDir = path.join(opts.workDir, 'credit-prod');
  fs.mkdirSync(trainDir, { recursive: true });
  fs.mkdirSync(prodDir, { recursive: true });
  const train = writeCreditCsv(path.join(trainDir, TABLE), { rows: 5000, seed: 7 });
  const prod = writeCreditCsv(path.join(prodDir, TABLE), { rows: 2000, seed: 8, covariateDrift: 0.6 });

  const t = await addPath(api.data, trainDir, {
    dataset: 'credit-train',
    source: 'synthetic://credit?seed=7',
    description: 'synthetic credit applications, reference population',
    owner: 'risk-team',
    license: 'CC0-1.0',
    pii: true,
  });
  const trainRef = `credit-train@${t.version.number}`;
  const columns = t.version.tables[0]?.schema.columns.length ?? 0;
  console.log(
    `  ${t.created ? 'added' : 'already there:'} ${trainRef} (digest ${t.version.digest.slice(0, 12)}): ${train.rows} rows, ${columns} columns, ${train.positives} defaults`,
  );
  await api.data.tag(trainRef, 'training');

  const check = await api.dataQuality.validate(trainRef, SUITE);
  console.log(
    `  suite '${check.suite}' on ${trainRef}: ${check.passed ? 'passed' : 'FAILED'} (${check.total - check.failed}/${check.total} expectations)`,
  );

  const p = await addPath(api.data, prodDir, {
    dataset: 'credit-prod',
    source: 'synthetic://credit?seed=8&covariateDrift=0.6',
    description: 'a later sample of production applications',
    owner: 'risk-team',
    pii: true,
  });
  const prodRef = `credit-prod@${p.version.number}`;
  console.log(`  ${p.created ? 'added' : 'already there:'} ${prodRef}: ${prod.rows} rows`);

  console.log(`  ${trainRef} vs ${prodRef}, from the stored profiles:`);
  for (const line of driftLines(await api.data.diff(trainRef, prodRef))) console.log(line);
  const report = await api.dataQuality.compare({ reference: { ref: trainRef }, current: { ref: prodRef } });
  const drifted = report.columns.filter((c) => c.drifted).map((c) => c.name);
  console.log(
    `  drift: ${report.drift ? 'YES' : 'no'} - ${report.driftedColumns} of ${report.testedColumns} columns drifted${drifted.length ? ` (${drifted.join(', ')})` : ''}`,
  );
  return { trainRef, prodRef };
}
