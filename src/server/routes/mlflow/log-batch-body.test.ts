import { describe, expect, it } from 'vitest';
import { isAppError } from '../../../core/errors.js';
import { logBatchBodySchema, readLogBatchBody } from './log-batch-body.js';

/** The field the declared schema blames, in the error handler's words ("body.metrics.0.value"). */
function schemaVerdict(body: unknown): { ok: true } | { ok: false; field: string } {
  const r = logBatchBodySchema.safeParse(body);
  if (r.success) return { ok: true };
  const issue = r.error.issues[0]!;
  const keys = (issue as { keys?: string[] }).keys;
  const path = [...issue.path.map(String), ...(keys?.length ? [keys[0]!] : [])];
  return { ok: false, field: ['body', ...path].join('.') };
}

function checkerVerdict(body: unknown): { ok: true } | { ok: false; field: string; message: string } {
  try {
    readLogBatchBody(structuredClone(body));
    return { ok: true };
  } catch (err) {
    if (!isAppError(err)) throw err;
    const field = String(err.details?.field);
    expect(err.code).toBe('VALIDATION_FAILED');
    return { ok: false, field, message: err.message };
  }
}

const metric = (over: Record<string, unknown> = {}) => ({
  key: 'acc',
  value: 0.5,
  timestamp: 1,
  step: 2,
  ...over,
});

describe('runs/log-batch body checker', () => {
  const accepted: [string, unknown][] = [
    ['an empty batch', { run_id: 'r' }],
    [
      'metrics, params and tags',
      {
        run_id: 'r',
        metrics: [metric()],
        params: [{ key: 'lr', value: '0.1' }],
        tags: [{ key: 't', value: '' }],
      },
    ],
    [
      'int64 and double written as strings',
      { run_id: 'r', metrics: [metric({ value: '1.5e3', timestamp: '17', step: '-4' })] },
    ],
    [
      'NaN and infinities',
      { run_id: 'r', metrics: ['NaN', 'Infinity', '-Infinity'].map((value) => metric({ value })) },
    ],
    ['a metric without a step', { run_id: 'r', metrics: [{ key: 'a', value: 1, timestamp: 1 }] }],
    [
      'MLflow 3 fields',
      {
        run_id: 'r',
        metrics: [metric({ model_id: 'm-abc', dataset_name: 'd', dataset_digest: 'x', run_id: 'r' })],
      },
    ],
    ['1,000 metrics', { run_id: 'r', metrics: Array.from({ length: 1000 }, (_, i) => metric({ step: i })) }],
    ['the longest key', { run_id: 'r', params: [{ key: 'k'.repeat(250), value: 'v'.repeat(6000) }] }],
  ];
  const refused: [string, unknown][] = [
    ['a body that is a list', [1]],
    ['no run id', { metrics: [] }],
    ['an empty run id', { run_id: '' }],
    ['a run id that is a number', { run_id: 5 }],
    ['an unknown top-level field', { run_id: 'r', colour: 'red' }],
    ['metrics that are not a list', { run_id: 'r', metrics: { key: 'a' } }],
    ['a metric that is not an object', { run_id: 'r', metrics: [metric(), 3] }],
    ['a value that is a word', { run_id: 'r', metrics: [metric({ value: 'high' })] }],
    ['a value that is null', { run_id: 'r', metrics: [metric({ value: null })] }],
    ['a fractional step', { run_id: 'r', metrics: [metric(), metric({ step: 1.5 })] }],
    ['a step beyond 2^53', { run_id: 'r', metrics: [metric({ step: 2 ** 60 })] }],
    ['a step string with a fraction', { run_id: 'r', metrics: [metric({ step: '1.5' })] }],
    ['a missing timestamp', { run_id: 'r', metrics: [{ key: 'a', value: 1 }] }],
    ['a timestamp that is a word', { run_id: 'r', metrics: [metric({ timestamp: 'soon' })] }],
    ['an unknown metric field', { run_id: 'r', metrics: [metric({ unit: 's' })] }],
    ['a key with a bad character', { run_id: 'r', metrics: [metric({ key: 'a*b' })] }],
    ['a key with a ".." segment', { run_id: 'r', metrics: [metric({ key: 'a/../b' })] }],
    ['a key that starts with "/"', { run_id: 'r', metrics: [metric({ key: '/a' })] }],
    ['an empty key', { run_id: 'r', metrics: [metric({ key: '' })] }],
    ['a 251-character key', { run_id: 'r', metrics: [metric({ key: 'k'.repeat(251) })] }],
    ['a key that is a number', { run_id: 'r', metrics: [metric({ key: 7 })] }],
    ['a bad model id', { run_id: 'r', metrics: [metric({ model_id: 'model-1' })] }],
    ['a long dataset name', { run_id: 'r', metrics: [metric({ dataset_name: 'd'.repeat(501) })] }],
    ['1,001 metrics', { run_id: 'r', metrics: Array.from({ length: 1001 }, () => metric()) }],
    [
      '101 params',
      { run_id: 'r', params: Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: 'v' })) },
    ],
    ['a param value that is a number', { run_id: 'r', params: [{ key: 'lr', value: 0.5 }] }],
    ['a 6,001-character param value', { run_id: 'r', params: [{ key: 'lr', value: 'v'.repeat(6001) }] }],
    ['an unknown param field', { run_id: 'r', params: [{ key: 'lr', value: '1', note: 'x' }] }],
    ['an 8,001-character tag value', { run_id: 'r', tags: [{ key: 't', value: 'v'.repeat(8001) }] }],
    ['a tag without a key', { run_id: 'r', tags: [{ value: 'v' }] }],
    [
      'more than 1,000 items in all',
      {
        run_id: 'r',
        metrics: Array.from({ length: 950 }, () => metric()),
        params: Array.from({ length: 51 }, (_, i) => ({ key: `p${i}`, value: 'v' })),
      },
    ],
  ];

  it.each(accepted)('accepts what the declared schema accepts: %s', (_, body) => {
    expect(schemaVerdict(body)).toEqual({ ok: true });
    expect(checkerVerdict(body)).toEqual({ ok: true });
  });

  it.each(refused)('refuses what the declared schema refuses, naming the same field: %s', (_, body) => {
    const schema = schemaVerdict(body);
    const checker = checkerVerdict(body);
    expect(schema.ok).toBe(false);
    expect(checker.ok).toBe(false);
    if (schema.ok || checker.ok) return;
    expect(checker.field).toBe(schema.field);
    expect(checker.message.startsWith(`${checker.field}: `)).toBe(true);
  });

  it('hands the service numbers for int64 and double strings, and its own names for MLflow 3 fields', () => {
    const { runId, batch } = readLogBatchBody({
      run_id: 'run_1',
      metrics: [
        { key: 'a', value: 'NaN', timestamp: '17', step: '3' },
        { key: 'b', value: 2, timestamp: 5 },
        {
          key: 'c',
          value: '-Infinity',
          timestamp: 6,
          step: 1,
          model_id: 'm-1',
          dataset_name: 'eval',
          run_id: 'run_1',
        },
      ],
    });
    expect(runId).toBe('run_1');
    expect(batch.params).toEqual([]);
    expect(batch.tags).toEqual([]);
    expect(batch.metrics[0]).toEqual({ key: 'a', value: Number.NaN, timestamp: 17, step: 3 });
    expect(batch.metrics[1]).toEqual({ key: 'b', value: 2, timestamp: 5, step: 0 });
    expect(batch.metrics[2]).toEqual({
      key: 'c',
      value: Number.NEGATIVE_INFINITY,
      timestamp: 6,
      step: 1,
      modelId: 'm-1',
      datasetName: 'eval',
    });
  });
});
