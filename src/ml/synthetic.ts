import fs from 'node:fs';
import { ValidationError } from '../core/errors.js';
import { seededRandom } from '../core/random.js';

/*
 * A seeded credit-risk table for the demo, tests and benchmarks (no downloads). Applicants have
 * correlated numeric features (age drives income, history length and employment; income drives loan
 * size), categoricals, a protected attribute `sex` that has no direct effect on the label but an
 * indirect one through income (so fairness work has something to find), and noisy labels.
 *
 * Three drift knobs, each changing exactly one part of the joint distribution P(x, y):
 *   covariateDrift  P(x) moves (younger, poorer, more indebted applicants); P(y | x) stays.
 *   labelDrift      P(y) moves by a log-odds shift, by rejection sampling; P(x | y) stays.
 *   conceptDrift    P(y | x) moves (debt and late payments matter less, youth and the loan's purpose
 *                   more); with the same seed the feature values are identical, only labels change.
 */

export const CREDIT_TARGET = 'defaulted';
export const CREDIT_PROTECTED = 'sex';

export interface CreditDataOptions {
  rows: number;
  seed: number;
  /** Probability that a label is flipped at random (default 0.05). */
  labelNoise?: number;
  /** 0 = reference population; 1 = markedly younger, poorer, more indebted. P(y | x) unchanged. */
  covariateDrift?: number;
  /** Log-odds shift of the default rate (1.0 multiplies the odds of default by e). P(x | y) unchanged. */
  labelDrift?: number;
  /** 0..1: moves the risk model from the reference one to a different one. Features unchanged. */
  conceptDrift?: number;
  /** Extra numeric columns x1..xk: two weakly informative, the rest noise (for wide benchmarks). */
  extraFeatures?: number;
}

export type CreditValue = number | string;
export type CreditRow = Record<string, CreditValue>;

export interface CreditData {
  columns: { name: string; type: 'integer' | 'float' | 'string' }[];
  rows: CreditRow[];
}

const BASE_COLUMNS: CreditData['columns'] = [
  { name: 'age', type: 'integer' },
  { name: 'sex', type: 'string' },
  { name: 'employment', type: 'string' },
  { name: 'employment_years', type: 'integer' },
  { name: 'income', type: 'integer' },
  { name: 'home_ownership', type: 'string' },
  { name: 'credit_history_months', type: 'integer' },
  { name: 'open_accounts', type: 'integer' },
  { name: 'debt_ratio', type: 'float' },
  { name: 'late_payments', type: 'integer' },
  { name: 'loan_amount', type: 'integer' },
  { name: 'loan_term_months', type: 'integer' },
  { name: 'purpose', type: 'string' },
];

const PURPOSES = ['car', 'home_improvement', 'education', 'business', 'debt_consolidation', 'personal'];
const PURPOSE_EFFECT: Record<string, number> = { business: 0.35, education: 0.15, debt_consolidation: 0.25 };
const TERMS = [12, 24, 36, 48, 60];

const round = (v: number, digits: number) => Number(v.toFixed(digits));
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

function checkOptions(o: CreditDataOptions): void {
  const bad = (field: string, why: string) => new ValidationError(`${field}: ${why}`, { field });
  if (!Number.isInteger(o.rows) || o.rows < 1) throw bad('rows', 'must be a positive integer');
  if (!Number.isInteger(o.seed)) throw bad('seed', 'must be an integer');
  const n = o.labelNoise ?? 0.05;
  if (!(n >= 0 && n < 0.5)) throw bad('labelNoise', 'must be in [0, 0.5)');
  for (const k of ['covariateDrift', 'labelDrift', 'conceptDrift'] as const) {
    if (o[k] !== undefined && !Number.isFinite(o[k])) throw bad(k, 'must be a finite number');
  }
  if (o.conceptDrift !== undefined && (o.conceptDrift < 0 || o.conceptDrift > 1))
    throw bad('conceptDrift', 'must be in [0, 1]');
  const x = o.extraFeatures ?? 0;
  if (!Number.isInteger(x) || x < 0 || x > 100) throw bad('extraFeatures', 'must be an integer in [0, 100]');
}

/**
 * P(defaulted = 1 | x) of the generator's risk model before label noise; `conceptDrift` in [0, 1]
 * interpolates to the drifted model. Exported so tests can check which part of P(x, y) a knob moved.
 */
export function defaultProbability(row: CreditRow, conceptDrift = 0): number {
  const c = conceptDrift;
  const num = (k: string) => Number(row[k]);
  const loanToIncome = num('loan_amount') / Math.max(1000, num('income'));
  let z =
    -1.9 +
    (1 - 1.2 * c) * 4.5 * (num('debt_ratio') - 0.3) +
    (1 - 0.9 * c) * 0.8 * num('late_payments') -
    0.9 * Math.log(Math.max(1000, num('income')) / 45_000) -
    (0.015 + 0.06 * c) * (num('age') - 40) -
    (0.004 * (num('credit_history_months') - 150)) / 10 +
    1.2 * (loanToIncome - 0.25) +
    (1 + 4 * c) * (PURPOSE_EFFECT[String(row.purpose)] ?? 0) +
    (row.employment === 'unemployed' ? 0.9 : 0) +
    (row.home_ownership === 'rent' ? 0.15 : 0);
  if (row.x1 !== undefined) z += 0.25 * num('x1') - 0.15 * num('x2');
  return sigmoid(z);
}

/** The seeded generator: the same options give the same rows on every machine. */
export function generateCreditData(opts: CreditDataOptions): CreditData {
  checkOptions(opts);
  const rand = seededRandom(opts.seed);
  const normal = () => {
    // Box-Muller; 1 - u keeps the log finite.
    const u = 1 - rand();
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const poisson = (lambda: number) => {
    // Knuth's method; lambda stays small here.
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = rand();
    while (p > limit && k < 50) {
      k++;
      p *= rand();
    }
    return k;
  };
  const cd = opts.covariateDrift ?? 0;
  const noise = opts.labelNoise ?? 0.05;
  const shift = opts.labelDrift ?? 0;
  const extra = opts.extraFeatures ?? 0;
  // Rejection sampling for prior shift: keeping a row with probability a_y multiplies the odds of
  // y = 1 by a_1 / a_0 = e^shift and leaves P(x | y) as it was.
  const accept1 = shift >= 0 ? 1 : Math.exp(shift);
  const accept0 = shift >= 0 ? Math.exp(-shift) : 1;

  const draw = (): CreditRow => {
    const sex = rand() < 0.5 ? 'female' : 'male';
    const age = Math.round(clamp(41 + 12 * normal() - 9 * cd, 18, 80));
    const e = rand();
    const employment =
      age >= 63 && e < 0.75
        ? 'retired'
        : e < 0.06 + 0.06 * cd
          ? 'unemployed'
          : e < 0.2 + 0.06 * cd
            ? 'self_employed'
            : 'employed';
    const working = employment === 'employed' || employment === 'self_employed';
    const employmentYears = working ? Math.round((age - 18) * rand() * 0.8) : 0;
    const logIncome =
      Math.log(42_000) +
      0.012 * (age - 40) -
      0.0004 * (age - 40) ** 2 +
      0.02 * employmentYears +
      (sex === 'male' ? 0.12 : 0) +
      0.35 * normal() -
      0.3 * cd;
    const incomeFactor = employment === 'unemployed' ? 0.3 : employment === 'retired' ? 0.6 : 1;
    const income = Math.round((Math.exp(logIncome) * incomeFactor) / 100) * 100;
    const h = rand();
    const home_ownership =
      h < clamp((age - 25) / 80, 0, 0.5) ? 'own' : h < 0.25 + income / 200_000 ? 'mortgage' : 'rent';
    const creditHistory = Math.round((age - 18) * 12 * (0.3 + 0.6 * rand()));
    const openAccounts = Math.round(clamp(3 + 2 * normal() + 0.03 * (age - 40), 0, 25));
    const debtRatio = round(
      clamp(0.28 + 0.12 * normal() + 0.12 * cd + (home_ownership === 'rent' ? 0.05 : 0), 0, 1.5),
      4,
    );
    const latePayments = poisson(0.2 + 1.2 * debtRatio + 0.2 * cd);
    const loanAmount =
      Math.round((Math.max(income, 8000) * (0.1 + 0.35 * rand()) * (1 + 0.3 * cd)) / 100) * 100;
    const term = TERMS[Math.floor(rand() * TERMS.length)]!;
    const purpose = PURPOSES[Math.floor(rand() * PURPOSES.length)]!;
    const row: CreditRow = {
      age,
      sex,
      employment,
      employment_years: employmentYears,
      income,
      home_ownership,
      credit_history_months: creditHistory,
      open_accounts: openAccounts,
      debt_ratio: debtRatio,
      late_payments: latePayments,
      loan_amount: loanAmount,
      loan_term_months: term,
      purpose,
    };
    for (let k = 1; k <= extra; k++) {
      // x1 and x2 lean on debt ratio a little, so they carry some signal; the rest are pure noise.
      const lean = k <= 2 ? 2 * (debtRatio - 0.3) : 0;
      row[`x${k}`] = round(normal() + lean, 4);
    }
    // Always two draws for the label, whatever the knobs, so concept drift leaves the features identical.
    const clean = rand() < defaultProbability(row, opts.conceptDrift ?? 0) ? 1 : 0;
    row[CREDIT_TARGET] = rand() < noise ? 1 - clean : clean;
    return row;
  };

  const rows: CreditRow[] = [];
  while (rows.length < opts.rows) {
    const row = draw();
    const keep = rand() < (row[CREDIT_TARGET] === 1 ? accept1 : accept0);
    if (keep) rows.push(row);
  }
  const columns = [
    ...BASE_COLUMNS,
    ...Array.from({ length: extra }, (_, i) => ({ name: `x${i + 1}`, type: 'float' as const })),
    { name: CREDIT_TARGET, type: 'integer' as const },
  ];
  return { columns, rows };
}

/** CSV text with a header row; values are plain (no commas or quotes appear in generated data). */
export function creditDataToCsv(data: CreditData): string {
  const names = data.columns.map((c) => c.name);
  const lines = [names.join(',')];
  for (const r of data.rows) lines.push(names.map((n) => String(r[n])).join(','));
  return `${lines.join('\n')}\n`;
}

/** Generates the table and writes it as CSV to `file`. */
export function writeCreditCsv(file: string, opts: CreditDataOptions): { rows: number; positives: number } {
  const data = generateCreditData(opts);
  fs.writeFileSync(file, creditDataToCsv(data));
  return {
    rows: data.rows.length,
    positives: data.rows.filter((r) => r[CREDIT_TARGET] === 1).length,
  };
}

/** The column-oriented table the trainers take (the shape data/tables' readTableFile returns). */
export function creditDataToTable(data: CreditData): {
  rowCount: number;
  columns: { name: string; type: string; values: (number | string)[] }[];
} {
  return {
    rowCount: data.rows.length,
    columns: data.columns.map((c) => ({
      name: c.name,
      type: c.type,
      values: data.rows.map((r) => r[c.name]!),
    })),
  };
}
