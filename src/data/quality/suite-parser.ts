import { LineCounter, parseDocument } from 'yaml';
import { ValidationError } from '../../core/errors.js';
import type { TableSchema } from '../tables/index.js';
import {
  EXPECTATION_KINDS,
  type Expectation,
  type ExpectationKind,
  expectationParams,
  type Suite,
  suiteHeaderSchema,
} from './suite.schema.js';

/**
 * Parses a suite's YAML. Any problem is a ValidationError naming where it is: a YAML syntax error by
 * line, an unknown expectation by its position and name, a bad parameter by its path.
 */
export function parseSuite(text: string): Suite {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = lineCounter.linePos(yamlError.pos[0]).line;
    throw new ValidationError(
      `suite: invalid YAML${line ? ` at line ${line}` : ''}: ${yamlError.message.split('\n')[0]}`,
      {
        field: 'suite',
        ...(line ? { line } : {}),
      },
    );
  }
  const raw = doc.toJS() as unknown;
  const header = suiteHeaderSchema.safeParse(raw);
  if (!header.success) {
    const issue = header.error.issues[0];
    const field = ['suite', ...(issue?.path ?? []).map(String)].join('.');
    throw new ValidationError(`${field}: ${issue?.message ?? 'invalid'}`, { field });
  }
  const expectations = header.data.expectations.map((item, i) => parseExpectation(item, i));
  const suite: Suite = { name: header.data.name, expectations };
  if (header.data.table !== undefined) suite.table = header.data.table;
  if (header.data.description !== undefined) suite.description = header.data.description;
  return suite;
}

function parseExpectation(item: unknown, i: number): Expectation {
  const at = `suite.expectations[${i}]`;
  if (typeof item !== 'object' || item === null || Array.isArray(item) || Object.keys(item).length !== 1) {
    throw new ValidationError(
      `${at}: an expectation is a one-key map such as '- not_null: { column: age }'`,
      { field: at },
    );
  }
  const [key, params] = Object.entries(item)[0] as [string, unknown];
  if (!EXPECTATION_KINDS.includes(key as ExpectationKind)) {
    throw new ValidationError(
      `${at}: unknown expectation '${key}' (known: ${EXPECTATION_KINDS.join(', ')})`,
      {
        field: at,
        expectation: key,
      },
    );
  }
  const kind = key as ExpectationKind;
  const parsed = expectationParams[kind].safeParse(params ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = [`${at}.${kind}`, ...(issue?.path ?? []).map(String)].join('.');
    throw new ValidationError(`${field}: ${issue?.message ?? 'invalid'}`, { field, expectation: kind });
  }
  return { kind, ...parsed.data } as Expectation;
}

/** The columns an expectation reads. */
export function columnsOf(e: Expectation): string[] {
  if (e.kind === 'unique') return e.columns ?? (e.column ? [e.column] : []);
  if (e.kind === 'row_count' || e.kind === 'sql') return [];
  return [e.column];
}

/**
 * Checks every column a suite names against the table: a missing one is a ValidationError naming it
 * (column_exists is the exception: a missing column is its failure, not a mistake in the suite).
 */
export function checkColumns(suite: Suite, schema: TableSchema, table: string): void {
  suite.expectations.forEach((e, i) => {
    if (e.kind === 'column_exists') return;
    for (const c of columnsOf(e)) {
      if (!schema.columns.some((x) => x.name === c)) {
        throw new ValidationError(
          `suite.expectations[${i}].${e.kind}: column '${c}' is not in table '${table}'`,
          {
            field: `suite.expectations[${i}].${e.kind}.column`,
            column: c,
          },
        );
      }
    }
  });
}

/** Milliseconds of a duration such as '36h'. */
export function durationMs(d: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(d);
  if (!m) throw new ValidationError(`'${d}' is not a duration`, { field: 'max_age' });
  const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}
