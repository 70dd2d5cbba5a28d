/*
 * The demo's data chapter: a synthetic training set becomes dataset `credit-train`, a later, drifted
 * production sample becomes `credit-prod`, and the two are compared column by column from their
 * stored profiles. Validation and the drift verdict come from the data-quality part when it is there.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SextantApi } from '../src/client/index.js';
import { addPath } from '../src/data/index.js';
import { compareProfiles } from '../src/data/stats/index.js';
import { diffTables, type TableDiff } from '../src/data/tables/index.js';
import { writeCreditCsv } from '../src/ml/synthetic.js';

const fmt = (v: unknown) =>
  typeof v === 'number'
    ? Number.isInteger(v)
      ? String(v)
      : v.toPrecision(4)
    : v === undefined
      ? ''
      : String(v);

/** The few columns whose move tells the story: the production applicants are younger and poorer. */
function driftLines(diff: TableDiff): string[] {
  const lines = [`  rows ${diff.rowCount.a} -> ${diff.rowCount.b}`];
  for (const c of diff.columns.filter((x) =>
    ['age', 'income', 'debt_ratio', 'late_payments'].includes(x.name),
  )) {
    lines.push(`  ${c.name.padEnd(14)} mean ${fmt(c.a.mean).padStart(9)} -> ${fmt(c.b.mean).padStart(9)}`);
  }
  return lines;
}

/** Adds the training set and a drifted production sample, compares them, returns both refs. */
export async function dataChapter(
  api: SextantApi,
  opts: { workDir: string },
): Promise<{ trainRef: string; prodRef: string }> {
  const trainDir = path.join(opts.workDir, 'credit-train');
  const prodDir = path.join(opts.workDir, 'credit-prod');
  fs.mkdirSync(trainDir, { recursive: true });
  fs.mkdirSync(prodDir, { recursive: true });
  const train = writeCreditCsv(path.join(trainDir, 'train.csv'), { rows: 5000, seed: 7 });
  const prod = writeCreditCsv(path.join(prodDir, 'prod.csv'), { rows: 2000, seed: 8, covariateDrift: 0.6 });

  const t = await addPath(api.data, trainDir, {
    dataset: 'credit-train',
    source: 'synthetic://credit?seed=7',
    description: 'synthetic credit applications, reference population',
    owner: 'risk-team',
    license: 'CC0-1.0',
    pii: true,
  });
  const trainRef = `credit-train@${t.version.number}`;
  const table = t.version.tables[0];
  console.log(
    `  ${t.created ? 'added' : 'already there:'} ${trainRef} (digest ${t.version.digest.slice(0, 12)}): ${train.rows} rows, ${table?.schema.columns.length ?? 0} columns, ${train.positives} defaults`,
  );
  await api.data.tag(trainRef, 'training');

  const p = await addPath(api.data, prodDir, {
    dataset: 'credit-prod',
    source: 'synthetic://credit?seed=8&covariateDrift=0.6',
    description: 'a later sample of production applications',
    owner: 'risk-team',
    pii: true,
  });
  const prodRef = `credit-prod@${p.version.number}`;
  console.log(`  ${p.created ? 'added' : 'already there:'} ${prodRef}: ${prod.rows} rows`);

  // The table sits under a different file name in each dataset: compare the stored profiles directly,
  // never the raw rows (this is how monitoring will use a training profile as its drift reference).
  const [a, b] = [t.version.tables[0], p.version.tables[0]];
  if (a && b) {
    console.log(`  ${trainRef} vs ${prodRef}, from the stored profiles:`);
    for (const line of driftLines(diffTables(a, b))) console.log(line);
    const report = compareProfiles(a.profile, b.profile);
    const drifted = report.columns.filter((c) => c.drifted).map((c) => c.name);
    console.log(
      `  drift: ${report.drift ? 'YES' : 'no'} - ${report.driftedColumns} of ${report.testedColumns} columns drifted${drifted.length ? ` (${drifted.join(', ')})` : ''}`,
    );
  }
  return { trainRef, prodRef };
}
