import { ValidationError } from '../../core/errors.js';

/*
 * The request bodies /predict accepts, as MLflow's scoring server does, reduced to one shape the
 * record checker walks. Nothing is copied here: rows stay the caller's arrays and objects.
 *   {"dataframe_records": [{...}, ...]}                       pandas "records"
 *   {"dataframe_split": {"columns": [...], "data": [[...]]}}  pandas "split" (index ignored; no columns = signature order)
 *   {"instances": [...]}                                      TF-serving rows: objects or arrays
 *   {"inputs": [...]} | {"inputs": {"col": [v, ...], ...}}   TF-serving rows, or columns
 *   {...}                                                     one record
 *   [{...}, ...] | [[...], ...]                               records, positional rows (signature order)
 *   [n, n, ...]                                               one positional row (a one-feature model: one row each)
 * MLflow's optional "params" may ride along only when empty (an ONNX model takes no parameters).
 */

/** Rows as sent: each element an object keyed by feature, or an array in `columns` (default: signature) order. */
export interface RowSource {
  form: 'rows';
  rows: readonly unknown[];
  /** Where the rows sit in the body, for error fields: 'dataframe_records' gives dataframe_records[3].age. Empty for a lone record. */
  path: string;
  /** The record was the whole body (errors name just the field). */
  lone: boolean;
  columns: readonly unknown[] | null;
  /**
   * A bare list of scalars: rows of a one-feature model, or else a single positional row. (Inside
   * an envelope a scalar element is always a row of a one-feature model, as in TF serving.)
   */
  flat: boolean;
}

/** Columns as sent ({"inputs": {"age": [..], ...}}). */
export interface ColumnSource {
  form: 'columns';
  columns: Record<string, unknown>;
  path: string;
}

export type BodySource = RowSource | ColumnSource;

const MLFLOW_KEYS = ['dataframe_records', 'dataframe_split', 'instances', 'inputs'] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const rows = (r: readonly unknown[], path: string, columns: readonly unknown[] | null = null): RowSource => ({
  form: 'rows',
  rows: r,
  path,
  lone: false,
  columns,
  flat: false,
});

/**
 * Finds the rows in a body. `isFeature` tells a record whose feature happens to be called "inputs"
 * from MLflow's envelope.
 */
export function readBody(body: unknown, isFeature: (key: string) => boolean): BodySource {
  if (Array.isArray(body)) {
    // A flat array of scalars is one positional row; otherwise each element is a row.
    const flat = body.length > 0 && body.every((v) => typeof v !== 'object' || v === null);
    return { ...rows(body, 'records'), flat };
  }
  if (!isObject(body)) {
    throw new ValidationError(
      `body must be a JSON object or array (a record, a list of records, or an MLflow body such as {"dataframe_records": [...]}), got ${describe(body)}`,
      { field: 'body' },
    );
  }
  let envelope: (typeof MLFLOW_KEYS)[number] | undefined;
  for (const key of MLFLOW_KEYS) {
    if (Object.hasOwn(body, key) && !isFeature(key)) {
      if (envelope !== undefined) {
        throw new ValidationError(`${key} cannot be sent beside ${envelope}: send one of them`, {
          field: key,
        });
      }
      envelope = key;
    }
  }
  if (envelope === undefined) return { ...rows([body], ''), lone: true };
  for (const key of Object.keys(body)) {
    if (key === envelope) continue;
    if (key === 'params') {
      const p = body.params;
      if (p === null || (isObject(p) && Object.keys(p).length === 0)) continue;
      throw new ValidationError('params are not supported: an ONNX model takes no inference parameters', {
        field: 'params',
      });
    }
    throw new ValidationError(
      `${key} is not expected beside ${envelope} (an MLflow body holds one of ${MLFLOW_KEYS.join(', ')}, and optionally an empty params)`,
      { field: key },
    );
  }
  const value = body[envelope];
  switch (envelope) {
    case 'dataframe_records':
    case 'instances':
      if (!Array.isArray(value)) throw notAList(envelope, value);
      return rows(value, envelope);
    case 'inputs':
      if (Array.isArray(value)) return rows(value, envelope);
      if (isObject(value)) return { form: 'columns', columns: value, path: envelope };
      throw new ValidationError(
        `inputs must be a list of rows or an object of columns ({"age": [31, 45], ...}), got ${describe(value)}`,
        { field: 'inputs' },
      );
    case 'dataframe_split':
      return readSplit(value);
  }
}

function readSplit(value: unknown): RowSource {
  if (!isObject(value)) {
    throw new ValidationError(
      `dataframe_split must be an object {"columns": [...], "data": [[...], ...]}, got ${describe(value)}`,
      { field: 'dataframe_split' },
    );
  }
  for (const key of Object.keys(value)) {
    if (key !== 'columns' && key !== 'data' && key !== 'index') {
      throw new ValidationError(
        `dataframe_split.${key} is not expected (dataframe_split holds columns, data and index)`,
        {
          field: `dataframe_split.${key}`,
        },
      );
    }
  }
  const { columns, data } = value;
  if (!Array.isArray(data)) throw notAList('dataframe_split.data', data);
  if (columns !== undefined && columns !== null) {
    if (!Array.isArray(columns)) throw notAList('dataframe_split.columns', columns);
    const seen = new Set<unknown>();
    for (const [j, c] of columns.entries()) {
      if (typeof c !== 'string') {
        throw new ValidationError(`column names must be strings, got ${describe(c)}`, {
          field: `dataframe_split.columns[${j}]`,
        });
      }
      if (seen.has(c)) {
        throw new ValidationError(`column '${c}' is listed twice`, {
          field: `dataframe_split.columns[${j}]`,
        });
      }
      seen.add(c);
    }
  }
  return rows(data, 'dataframe_split.data', Array.isArray(columns) ? columns : null);
}

function notAList(field: string, value: unknown): ValidationError {
  return new ValidationError(`${field} must be a list, got ${describe(value)}`, { field });
}

/** A short, safe description of a JSON value for messages (never the whole value). */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string')
    return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (typeof v === 'number') return Number.isFinite(v) ? `the number ${v}` : String(v);
  return typeof v === 'boolean' ? `${v}` : typeof v;
}
