import { PayloadTooLargeError, ValidationError } from '../../core/errors.js';
import { recordMaker } from '../../core/record-maker.js';
import { CsvBody } from './csv-body.js';
import { type FeatureMatrix, newFeatureMatrix, rememberFeatureMatrix } from './model-io.js';
import type { ModelPlan } from './model-plan.js';
import { NumericRecords } from './numeric-records.js';
import { type BodySource, describe, type RowSource, readBody } from './request-body.js';

/*
 * Checks request rows against the model's signature, on the hot path: the feature list is compiled
 * once per model, each value is checked by one switch, records that arrive keyed by name are passed
 * on as they are (no copy), and error paths are only built for a row that fails. For a model fed one
 * float tensor, the same pass writes each checked value into the tensor's typed array (model-io's
 * feature matrix), so building the run's input is a copy, not a second walk over the records.
 *
 * The rules:
 *  - every feature must be present; a field the model does not take is refused (no silent drops);
 *  - a float feature takes a finite number or a boolean (true = 1, the trainers' encoding); strings,
 *    even "3.5" or "NaN", objects and lists are refused; an int input also needs a whole number;
 *  - a string feature takes a string;
 *  - null means "value unknown". It is accepted for models that impute (Sextant's trainers: a missing
 *    number becomes its training mean, a missing category encodes as none of the known ones) and
 *    refused for any other model, which has no stated rule for it. An absent field is always refused:
 *    say null explicitly.
 */

/** A batch larger than this is refused unless the caller sets its own limit. */
export const DEFAULT_MAX_RECORDS = 10_000;
/** At most this many problems are listed in one error. */
const MAX_ISSUES = 10;

/** How one feature's value is checked (precomputed per model). */
const Check = { Float: 0, Int: 1, Bool: 2, Text: 3 } as const;
type Check = (typeof Check)[keyof typeof Check];

interface CompiledFeature {
  name: string;
  check: Check;
}

export interface Issue {
  field: string;
  message: string;
}

export interface RecordChecker {
  /** Parses a request body into checked records keyed by feature name. ValidationError / PayloadTooLargeError name the field. */
  parse(body: unknown, opts?: { maxRecords?: number }): Record<string, unknown>[];
}

/** Compiles the checks of a model's features. */
export function createRecordChecker(plan: ModelPlan): RecordChecker {
  const features: CompiledFeature[] = plan.features.map((f, j) => {
    if (f.type === 'string') return { name: f.name, check: Check.Text };
    const feed = plan.kind === 'records' ? plan.recordInputs[j]!.feed : 'float32';
    const check =
      feed === 'int32' || feed === 'int64' ? Check.Int : feed === 'bool' ? Check.Bool : Check.Float;
    return { name: f.name, check };
  });
  const index = new Map(features.map((f, j) => [f.name, j]));
  const nulls = plan.imputesMissing;
  const tensorName = plan.tensorInput?.name;
  const names = features.map((f) => f.name);
  const listed = names.length > 12 ? `${names.slice(0, 12).join(', ')}, ...` : names.join(', ');
  const isFeature = (k: string) => index.has(k);
  /*
   * Rows read as numbers only (numeric-records.ts) keyed by exactly this model's features, in its
   * order, pass every check when each feature takes any finite number: they become records and fill
   * the tensor from one array. Any other body of that form is parsed as JSON and checked as always,
   * as is a body in an envelope for a model with a feature of the envelope's name (for such a model
   * the body is one record).
   */
  const makeRecord = features.every((f) => f.check === Check.Float) ? recordMaker(names) : null;
  const namedLikeEnvelope: Record<NumericRecords['path'], boolean> = {
    records: false,
    dataframe_records: index.has('dataframe_records'),
    'dataframe_split.data': index.has('dataframe_split'),
  };

  /** null if the value is fine, else what is wrong with it. */
  function problem(v: unknown, f: CompiledFeature): string | null {
    switch (typeof v) {
      case 'number':
        if (f.check === Check.Text) return `must be a string, got ${describe(v)}`;
        if (!Number.isFinite(v)) return `must be a finite number, got ${String(v)}`;
        if (f.check === Check.Int && !Number.isInteger(v)) return `must be a whole number, got ${v}`;
        if (f.check === Check.Bool && v !== 0 && v !== 1) return `must be true, false, 0 or 1, got ${v}`;
        return null;
      case 'string':
        if (f.check === Check.Text) return null;
        if (/^\s*[-+]?(nan|inf|infinity)\s*$/i.test(v))
          return `must be a finite number, got the string "${v.trim()}"`;
        return `must be a number, got ${describe(v)} (send numbers unquoted)`;
      case 'boolean':
        return f.check === Check.Text ? `must be a string, got ${v}` : null;
      case 'undefined':
        return 'is missing';
      default:
        if (v === null) {
          return nulls ? null : `is null, and this model has no rule for missing values: send a ${want(f)}`;
        }
        return `must be a ${want(f)}, got ${describe(v)}`;
    }
  }

  function parse(body: unknown, opts: { maxRecords?: number } = {}): Record<string, unknown>[] {
    const limit = opts.maxRecords ?? DEFAULT_MAX_RECORDS;
    if (body instanceof NumericRecords) {
      if (makeRecord !== null && !namedLikeEnvelope[body.path] && sameNames(body.names, names))
        return parseNumeric(body, limit);
      body = body.parsed();
    }
    if (body instanceof CsvBody) return parseCsv(body, limit);
    const source = readBody(body, isFeature);
    return source.form === 'columns' ? parseColumns(source, limit) : parseRows(source, limit);
  }

  function parseRows(source: RowSource, limit: number): Record<string, unknown>[] {
    let rows = source.rows;
    const path = source.path;
    if (source.flat && features.length !== 1) rows = [rows];
    const order =
      source.columns === null
        ? null
        : columnOrder(source.columns, `${source.path.replace(/\.data$/, '')}.columns`);
    checkCount(rows.length, source.path || 'records', limit);
    const issues: Issue[] = [];
    const out: Record<string, unknown>[] = new Array(rows.length);
    const matrix = newFeatureMatrix(plan, rows.length);
    const at = (i: number) => (source.lone ? '' : `${path}[${i}]`);
    for (let i = 0; i < rows.length && issues.length < MAX_ISSUES; i++) {
      const row = rows[i];
      if (Array.isArray(row)) {
        out[i] = positional(row, order, at, issues, matrix, i);
      } else if (typeof row === 'object' && row !== null) {
        if (order !== null) {
          issues.push({ field: at(i), message: 'must be a list of values in the order of columns' });
          continue;
        }
        out[i] = keyed(row as Record<string, unknown>, at, issues, matrix, i);
      } else if (features.length === 1 && order === null) {
        const f = features[0]!;
        const why = problem(row, f);
        if (why !== null) issues.push({ field: at(i), message: `(${f.name}) ${why}` });
        else if (matrix !== null) matrix[i] = numberOf(row);
        out[i] = { [f.name]: row };
      } else {
        issues.push({
          field: at(i) || 'body',
          message: `each row must be an object keyed by feature name or a list of ${features.length} values, got ${describe(row)}`,
        });
      }
    }
    raise(issues);
    if (matrix !== null) rememberFeatureMatrix(out, plan, matrix);
    return out;
  }

  /** Numeric records of exactly the features (see makeRecord): the checks hold by construction. */
  function parseNumeric(body: NumericRecords, limit: number): Record<string, unknown>[] {
    const { rows, values } = body;
    const width = features.length;
    if (values.length !== rows * width)
      throw new Error('numeric records whose values do not fill their rows');
    checkCount(rows, body.path, limit);
    const make = makeRecord as NonNullable<typeof makeRecord>;
    const out: Record<string, unknown>[] = new Array(rows);
    for (let i = 0; i < rows; i++) out[i] = make(values, i * width);
    const matrix = newFeatureMatrix(plan, rows);
    if (matrix !== null) {
      for (let k = 0; k < values.length; k++) matrix[k] = values[k] as number;
      rememberFeatureMatrix(out, plan, matrix);
    }
    return out;
  }

  /**
   * CSV cells are text: a numeric feature's cell is read as a number ('' is null, a missing value),
   * a string feature's cell stays as it is. The header must name exactly the model's features.
   */
  function parseCsv(body: CsvBody, limit: number): Record<string, unknown>[] {
    const unknown = body.header.filter((h) => !index.has(h));
    const sent = new Set(body.header);
    const missing = names.filter((n) => !sent.has(n));
    const twice = body.header.filter((h, j) => body.header.indexOf(h) !== j);
    if (unknown.length > 0 || missing.length > 0 || twice.length > 0) {
      const parts = [
        unknown.length > 0 ? `unknown column${unknown.length > 1 ? 's' : ''} ${quoted(unknown)}` : '',
        missing.length > 0 ? `missing column${missing.length > 1 ? 's' : ''} ${quoted(missing)}` : '',
        twice.length > 0 ? `repeated column${twice.length > 1 ? 's' : ''} ${quoted(twice)}` : '',
      ].filter(Boolean);
      throw new ValidationError(`csv header: ${parts.join('; ')} (the model takes ${listed})`, {
        field: 'csv.header',
        ...(unknown.length > 0 ? { unknown } : {}),
        ...(missing.length > 0 ? { missing } : {}),
      });
    }
    checkCount(body.rows.length, 'csv', limit);
    const order = body.header.map((h) => features[index.get(h)!]!);
    const issues: Issue[] = [];
    const out: Record<string, unknown>[] = new Array(body.rows.length);
    for (let i = 0; i < body.rows.length && issues.length < MAX_ISSUES; i++) {
      const cells = body.rows[i]!;
      const rec: Record<string, unknown> = {};
      for (let j = 0; j < order.length; j++) {
        const f = order[j]!;
        const v = f.check === Check.Text ? cells[j] : csvValue(cells[j]!);
        const why = problem(v, f);
        if (why !== null) issues.push({ field: `csv[${i}].${f.name}`, message: why });
        rec[f.name] = v;
      }
      out[i] = rec;
    }
    raise(issues);
    return out;
  }

  /** Checks a record keyed by feature name (and fills row i of the tensor model's matrix). */
  function keyed(
    row: Record<string, unknown>,
    atOf: (i: number) => string,
    issues: Issue[],
    matrix: FeatureMatrix | null,
    i: number,
  ): Record<string, unknown> {
    let seen = 0;
    const base = i * features.length;
    for (let j = 0; j < features.length; j++) {
      const f = features[j]!;
      const v = row[f.name];
      if (v !== undefined) seen++;
      const why = problem(v, f);
      if (why !== null) issues.push({ field: join(atOf(i), f.name), message: why });
      else if (matrix !== null) matrix[base + j] = numberOf(v);
    }
    let keys = 0;
    for (const _ in row) keys++;
    if (keys > seen) {
      for (const k in row) {
        if (index.has(k)) continue;
        issues.push({
          field: join(atOf(i), k),
          message: `is not a feature of this model (it takes ${listed})`,
        });
      }
    }
    return row;
  }

  /** Maps sent columns to feature positions (null: the signature's order). */
  function columnOrder(columns: readonly unknown[], field: string): number[] {
    const order: number[] = [];
    const issues: Issue[] = [];
    for (const [j, c] of columns.entries()) {
      const k = index.get(c as string);
      if (k === undefined) {
        issues.push({
          field: `${field}[${j}]`,
          message: `('${String(c)}') is not a feature of this model (it takes ${listed})`,
        });
      } else order.push(k);
    }
    const sent = new Set(columns);
    for (const f of features) {
      if (!sent.has(f.name)) issues.push({ field, message: `lack the column '${f.name}'` });
    }
    raise(issues);
    return order;
  }

  function positional(
    row: unknown[],
    order: number[] | null,
    atOf: (i: number) => string,
    issues: Issue[],
    matrix: FeatureMatrix | null,
    i: number,
  ): Record<string, unknown> {
    const width = order === null ? features.length : order.length;
    if (row.length !== width) {
      issues.push({
        field: atOf(i) || 'records',
        message: `has ${row.length} values; the model takes ${width} (${order === null ? listed : 'one per column'})`,
      });
      return {};
    }
    const rec: Record<string, unknown> = {};
    const base = i * features.length;
    for (let j = 0; j < width; j++) {
      const k = order === null ? j : order[j]!;
      const f = features[k]!;
      const v = row[j];
      const why = problem(v, f);
      if (why !== null) issues.push({ field: `${atOf(i)}[${j}]`, message: `(${f.name}) ${why}` });
      else if (matrix !== null) matrix[base + k] = numberOf(v);
      rec[f.name] = v;
    }
    return rec;
  }

  function parseColumns(
    source: Extract<BodySource, { form: 'columns' }>,
    limit: number,
  ): Record<string, unknown>[] {
    const cols = source.columns;
    const keys = Object.keys(cols);
    if (tensorName !== undefined && keys.length === 1 && keys[0] === tensorName && !index.has(tensorName)) {
      const rows = cols[tensorName];
      if (!Array.isArray(rows)) {
        throw new ValidationError(
          `${source.path}.${tensorName} must be a list of rows, got ${describe(rows)}`,
          {
            field: `${source.path}.${tensorName}`,
          },
        );
      }
      return parseRows(
        { form: 'rows', rows, path: `${source.path}.${tensorName}`, lone: false, columns: null, flat: false },
        limit,
      );
    }
    const issues: Issue[] = [];
    for (const k of keys) {
      if (!index.has(k)) {
        issues.push({
          field: `${source.path}.${k}`,
          message: `is not a feature of this model (it takes ${listed})`,
        });
      }
    }
    for (const f of features) {
      if (!Object.hasOwn(cols, f.name))
        issues.push({ field: `${source.path}.${f.name}`, message: 'is missing' });
    }
    raise(issues);
    // All scalars: one row. Otherwise every column is a list of the same length.
    const scalars = features.every((f) => !Array.isArray(cols[f.name]));
    let n = 1;
    if (!scalars) {
      const first = features[0]!.name;
      for (const f of features) {
        const c = cols[f.name];
        if (!Array.isArray(c)) {
          issues.push({
            field: `${source.path}.${f.name}`,
            message: `must be a list of values, got ${describe(c)}`,
          });
        } else if (c.length !== (cols[first] as unknown[]).length) {
          issues.push({
            field: `${source.path}.${f.name}`,
            message: `has ${c.length} values but ${first} has ${(cols[first] as unknown[]).length}`,
          });
        }
      }
      raise(issues);
      n = (cols[first] as unknown[]).length;
    }
    checkCount(n, source.path, limit);
    const out: Record<string, unknown>[] = new Array(n);
    for (let i = 0; i < n && issues.length < MAX_ISSUES; i++) {
      const rec: Record<string, unknown> = {};
      for (const f of features) {
        const v = scalars ? cols[f.name] : (cols[f.name] as unknown[])[i];
        const why = problem(v, f);
        if (why !== null)
          issues.push({ field: `${source.path}.${f.name}${scalars ? '' : `[${i}]`}`, message: why });
        rec[f.name] = v;
      }
      out[i] = rec;
    }
    raise(issues);
    return out;
  }

  return { parse };
}

/** A checked float feature's value as the model reads it: true/false are 1/0, null (missing) is NaN. */
function numberOf(v: unknown): number {
  return typeof v === 'number' ? v : v === true ? 1 : v === false ? 0 : Number.NaN;
}

/** A CSV cell for a numeric feature: '' is a missing value, a number or true/false is read as such, anything else stays text (and is refused by name). */
function csvValue(cell: string): unknown {
  const t = cell.trim();
  if (t === '') return null;
  if (t === 'true' || t === 'True') return true;
  if (t === 'false' || t === 'False') return false;
  const n = Number(t);
  return Number.isNaN(n) || /^[-+]?(nan|inf|infinity)$/i.test(t) ? cell : n;
}

function quoted(names: string[]): string {
  return names.map((n) => `'${n}'`).join(', ');
}

function want(f: CompiledFeature): string {
  return f.check === Check.Text
    ? 'string'
    : f.check === Check.Int
      ? 'whole number'
      : f.check === Check.Bool
        ? 'boolean'
        : 'number';
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let j = 0; j < a.length; j++) if (a[j] !== b[j]) return false;
  return true;
}

function join(at: string, name: string): string {
  return at === '' ? name : `${at}.${name}`;
}

function checkCount(n: number, field: string, limit: number): void {
  if (n === 0) throw new ValidationError(`${field} holds no records: send at least one`, { field });
  if (n > limit) {
    throw new PayloadTooLargeError(`${field} holds ${n} records; at most ${limit} are scored per request`, {
      field,
      limit,
      records: n,
    });
  }
}

/** Throws the collected problems as one ValidationError: the first in the message, all in details. */
function raise(issues: Issue[]): void {
  if (issues.length === 0) return;
  const first = issues[0]!;
  const more =
    issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  throw new ValidationError(`${first.field} ${first.message}${more}`, {
    field: first.field,
    ...(issues.length > 1 ? { errors: issues } : {}),
  });
}
