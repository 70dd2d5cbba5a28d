import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ValidationError } from '../core/errors.js';
import type {
  CompareBody,
  ComparisonResult,
  ExpectationResult,
  ValidationResult,
} from '../data/quality/index.js';
import type { DriftTest } from '../data/stats/index.js';
import { detectTableFormat, profileTableFile, type TableProfile } from '../data/tables/index.js';
import type { CliContext } from './context.js';
import { CliOutcome } from './exit-codes.js';
import { parseNullValues } from './options.js';
import { details, formatNumber, painter, table } from './output.js';
import { progressLine } from './progress.js';

type Ctx = () => CliContext;

function show(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Columns of a failing row shown when the expectation names none (a row count, a custom SQL check). */
const EXAMPLE_COLUMNS = 6;

/**
 * A failing row as `age=17, income=-5`: the columns the expectation is about, not the whole row
 * (`--json` keeps every column).
 */
function exampleText(row: Record<string, unknown>, columns: string[]): string {
  const keys = columns.length ? columns.filter((c) => c in row) : Object.keys(row).slice(0, EXAMPLE_COLUMNS);
  const more = Object.keys(row).length - keys.length;
  const text = keys.map((k) => `${k}=${show(row[k])}`).join(', ');
  return columns.length || more <= 0 ? text : `${text}, ... (${more} more columns; --json has every one)`;
}

function renderValidation(r: ValidationResult, paint: (word: string) => string): string {
  const rows = r.results.map((x: ExpectationResult) => [
    x.index + 1,
    x.kind,
    x.columns.join(', '),
    x.expected,
    show(x.observed),
    x.passed ? paint('pass') : paint('FAIL'),
  ]);
  const parts = [
    `suite ${r.suite} on ${r.dataset}@${r.version} (${r.table}), result ${r.id}`,
    table(['#', 'EXPECTATION', 'COLUMNS', 'EXPECTED', 'OBSERVED', 'RESULT'], rows),
  ];
  for (const x of r.results.filter((y) => !y.passed && y.examples?.length)) {
    parts.push(`examples failing #${x.index + 1} ${x.kind} (${x.failingRows} rows):`);
    for (const e of x.examples ?? []) parts.push(`  ${exampleText(e, x.columns)}`);
  }
  parts.push(
    r.passed
      ? `${paint('PASSED')}: ${r.total} of ${r.total} expectations`
      : `${paint('FAILED')}: ${r.failed} of ${r.total} expectations failed`,
  );
  return parts.join('\n');
}

function renderComparison(r: ComparisonResult, paint: (word: string) => string): string {
  const rows = r.columns.map((c) => [
    c.name,
    c.type,
    c.test ?? '-',
    c.pValue !== undefined
      ? `p=${formatNumber(c.pValue)}`
      : c.distance !== undefined
        ? formatNumber(c.distance)
        : '-',
    c.threshold !== undefined ? formatNumber(c.threshold) : '-',
    c.psi !== undefined ? formatNumber(c.psi) : '-',
    paint(
      c.skipped ? (c.drifted ? `DRIFT (${c.skipped})` : `skipped: ${c.skipped}`) : c.drifted ? 'DRIFT' : 'ok',
    ),
  ]);
  const s = r.schema;
  const schemaLines = [
    ...s.added.map((c) => `  + ${c.name} (${c.type})`),
    ...s.removed.map((c) => `  - ${c.name} (${c.type})`),
    ...s.typeChanged.map((c) => `  ~ ${c.name}: ${c.a} -> ${c.b}`),
    ...s.nullabilityChanged.map(
      (c) => `  ~ ${c.name}: ${c.a ? 'nullable' : 'not null'} -> ${c.b ? 'nullable' : 'not null'}`,
    ),
  ];
  return [
    details([
      ['reference', `${r.reference} (${r.referenceRows} rows)`],
      ['current', `${r.current} (${r.currentRows} rows)`],
    ]),
    schemaLines.length ? `schema changes:\n${schemaLines.join('\n')}` : 'schema: same columns and types',
    table(['COLUMN', 'TYPE', 'TEST', 'STATISTIC', 'THRESHOLD', 'PSI', 'VERDICT'], rows),
    `${r.drift ? paint('DATASET DRIFT') : paint('NO DATASET DRIFT')}: ${r.driftedColumns} of ${r.testedColumns} columns drifted (share ${formatNumber(Number(r.driftShare.toFixed(3)))}, threshold ${r.shareThreshold})`,
    'Statistics come from stored profiles (quantile sketches), so KS and Wasserstein are approximate.',
  ].join('\n');
}

/** A compare side: a local table file is profiled here; anything else is a dataset ref. */
async function sideOf(c: CliContext, arg: string): Promise<CompareBody['reference']> {
  const format = detectTableFormat(arg);
  if (format && existsSync(arg) && statSync(arg).isFile()) {
    const bar = progressLine(c);
    const { profile } = await profileTableFile(arg, format, {
      onProgress: (rows, fraction = 0) => bar.share('profiling', fraction, `~${formatNumber(rows)} rows`),
    });
    bar.end();
    return { profile: profile as TableProfile, label: arg };
  }
  return { ref: arg };
}

function parseTests(pairs: string[] | undefined): Record<string, DriftTest> | undefined {
  if (!pairs?.length) return undefined;
  const known = ['ks', 'chi_squared', 'z_test', 'wasserstein', 'jensen_shannon', 'psi'];
  const out: Record<string, DriftTest> = {};
  for (const p of pairs) {
    const i = p.lastIndexOf('=');
    const test = p.slice(i + 1);
    if (i <= 0 || !known.includes(test)) {
      throw new ValidationError(`--test: expected column=<${known.join('|')}> but got '${p}'`, {
        field: 'test',
      });
    }
    out[p.slice(0, i)] = test as DriftTest;
  }
  return out;
}

/** Adds the table commands (validate, validations, suggest, compare, profile) to `sextant data`. */
export function registerDataQualityCommands(data: Command, ctx: Ctx): void {
  data
    .command('validate <ref>')
    .description(
      'run a quality suite (YAML) over a version table; stores the result; exits non-zero when it fails',
    )
    .requiredOption('--suite <file>', 'the suite YAML')
    .option('--table <path>', 'which table of a version holding several')
    .action(async (ref: string, o: { suite: string; table?: string }) => {
      const c = ctx();
      if (!existsSync(o.suite))
        throw new ValidationError(`--suite: file '${o.suite}' does not exist`, { field: 'suite' });
      const text = readFileSync(o.suite, 'utf8');
      const r = await (await c.api()).dataQuality.validate(ref, text, o.table ? { table: o.table } : {});
      c.output.out(c.json ? JSON.stringify(r, null, 2) : renderValidation(r, painter(c.output)));
      if (!r.passed) {
        throw new CliOutcome(
          'CHECK_FAILED',
          `suite '${r.suite}' failed on ${r.dataset}@${r.version}: ${r.failed} of ${r.total} expectations`,
          { result: r.id },
        );
      }
    });
  data
    .command('validations <ref>')
    .description('stored validation results of a version, newest first')
    .option('--suite <name>', 'only this suite')
    .action(async (ref: string, o: { suite?: string }) => {
      const c = ctx();
      const list = await (await c.api()).dataQuality.results(ref, o.suite ? { suite: o.suite } : {});
      if (c.json) return c.output.out(JSON.stringify(list, null, 2));
      c.output.out(
        table(
          ['RESULT', 'SUITE', 'TABLE', 'PASSED', 'FAILED', 'AT', 'BY'],
          list.map((r) => [
            r.id,
            r.suite,
            r.table,
            r.passed ? 'yes' : 'NO',
            `${r.failed}/${r.total}`,
            r.createdAt,
            r.createdBy,
          ]),
        ),
      );
    });
  data
    .command('suggest <ref>')
    .description("draft a quality suite from a version table's stored profile")
    .option('--table <path>', 'which table of a version holding several')
    .option('-o, --output <file>', 'write the YAML here instead of printing it')
    .action(async (ref: string, o: { table?: string; output?: string }) => {
      const c = ctx();
      const { yaml } = await (await c.api()).dataQuality.suggest(ref, o.table ? { table: o.table } : {});
      if (o.output) {
        writeFileSync(o.output, yaml);
        c.output.out(c.json ? JSON.stringify({ written: o.output }) : `wrote ${o.output}`);
      } else c.output.out(c.json ? JSON.stringify({ yaml }) : yaml);
    });
  data
    .command('compare <reference> <current>')
    .description(
      'compare two tables (dataset refs or local table files): schema and per-column drift, with a verdict',
    )
    .option('--table <path>', 'which table of versions holding several')
    .option(
      '--test <column=test...>',
      'override the test of a column: ks, chi_squared, z_test, wasserstein, jensen_shannon, psi',
    )
    .option('--drift-share <x>', 'share of drifted columns that means dataset drift', '0.5')
    .action(
      async (
        reference: string,
        current: string,
        o: { table?: string; test?: string[]; driftShare: string },
      ) => {
        const c = ctx();
        const share = Number(o.driftShare);
        if (!(share >= 0 && share <= 1))
          throw new ValidationError('--drift-share: must be between 0 and 1', { field: 'drift-share' });
        const tests = parseTests(o.test);
        const [ref, cur] = [await sideOf(c, reference), await sideOf(c, current)];
        const r = await (await c.api()).dataQuality.compare({
          reference: ref,
          current: cur,
          driftShare: share,
          ...(o.table ? { table: o.table } : {}),
          ...(tests ? { tests } : {}),
        });
        c.output.out(c.json ? JSON.stringify(r, null, 2) : renderComparison(r, painter(c.output)));
      },
    );
  data
    .command('profile <file>')
    .description('schema and profile of a local CSV, Parquet or JSON Lines file (nothing is stored)')
    .option(
      '--null-values <list>',
      "CSV cell texts read as null, comma-separated (e.g. 'NA,-,?'), instead of the usual list",
    )
    .action(async (file: string, o: { nullValues?: string }) => {
      const c = ctx();
      const format = detectTableFormat(file);
      if (!format)
        throw new ValidationError(`'${file}' is not a .csv, .parquet or .jsonl file`, { field: 'file' });
      const bar = progressLine(c);
      const p = await profileTableFile(file, format, {
        ...(o.nullValues !== undefined ? { nullValues: parseNullValues(o.nullValues) } : {}),
        onProgress: (rows, fraction = 0) => bar.share('profiling', fraction, `~${formatNumber(rows)} rows`),
      }).finally(() => bar.end());
      if (c.json) return c.output.out(JSON.stringify(p, null, 2));
      c.output.out(`${file}: ${p.rowCount} rows, ${p.schema.columns.length} columns`);
      for (const note of p.profile.notes ?? []) c.output.out(`note: ${note}`);
      c.output.out(
        table(
          ['COLUMN', 'TYPE', 'NULLS', 'DISTINCT~', 'MIN', 'MAX', 'MEAN', 'STD', 'P50', 'TOP'],
          p.profile.columns.map((col) => [
            col.name,
            col.type,
            col.nulls,
            col.distinct,
            show(col.min),
            show(col.max),
            show(col.mean),
            show(col.std),
            show(col.quantiles?.p50),
            (col.topK ?? [])
              .slice(0, 3)
              .map((t) => `${t.value}:${t.count}`)
              .join(' '),
          ]),
        ),
      );
    });
}
