import { describe, expect, it } from 'vitest';
import { adapterFor, readPointer, toOutput } from './protocols.js';

const features = [
  { name: 'f0', type: 'float' as const },
  { name: 'city', type: 'string' as const },
];
const classifier = { task: 'classification' as const, classes: ['no', 'yes'] };
const records = [
  { f0: 1, city: 'a' },
  { f0: 2, city: 'b' },
];

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('reading what a model server answers', () => {
  it('reads labels, probability lists aligned with the classes, and probability objects', () => {
    expect(toOutput(classifier, 'yes', [0.3, 0.7], 'x')).toEqual({
      prediction: 'yes',
      probabilities: { no: 0.3, yes: 0.7 },
    });
    expect(toOutput(classifier, undefined, { no: 0.9, yes: 0.1 }, 'x')).toEqual({
      prediction: 'no',
      probabilities: { no: 0.9, yes: 0.1 },
    });
    // Integer classes stay numbers when the label comes from the probabilities.
    expect(
      toOutput({ task: 'classification', classes: ['0', '1'] }, undefined, [0.2, 0.8], 'x').prediction,
    ).toBe(1);
    expect(toOutput({ task: 'regression', classes: null }, '2.5', undefined, 'x')).toEqual({
      prediction: 2.5,
    });
  });

  it('refuses garbage as an upstream error, never as the caller’s', () => {
    expect(codeOf(() => toOutput(classifier, undefined, [0.3], 'x'))).toBe('UPSTREAM_ERROR');
    expect(codeOf(() => toOutput(classifier, undefined, [0.3, 'high'], 'x'))).toBe('UPSTREAM_ERROR');
    expect(codeOf(() => toOutput(classifier, { nested: true }, undefined, 'x'))).toBe('UPSTREAM_ERROR');
    expect(codeOf(() => toOutput({ task: 'regression', classes: null }, 'NaN', undefined, 'x'))).toBe(
      'UPSTREAM_ERROR',
    );
    const mlflow = adapterFor({
      protocol: 'mlflow',
      url: 'http://h',
      upstreamModel: 'm',
      mapping: undefined,
      features,
      task: classifier,
    });
    expect(codeOf(() => mlflow.read({ predictions: ['yes'] }, 2))).toBe('UPSTREAM_ERROR');
    expect(codeOf(() => mlflow.read('<html>', 2))).toBe('UPSTREAM_ERROR');
    const oip = adapterFor({
      protocol: 'oip',
      url: 'http://h',
      upstreamModel: 'm',
      mapping: undefined,
      features,
      task: classifier,
    });
    expect(codeOf(() => oip.read({ outputs: [{ name: 'label', shape: [3], data: [1, 0, 1] }] }, 2))).toBe(
      'UPSTREAM_ERROR',
    );
    expect(codeOf(() => oip.read({ nothing: 1 }, 2))).toBe('UPSTREAM_ERROR');
  });

  it('builds each protocol’s request: dataframe_split, typed OIP tensors, records at a JSON pointer', () => {
    const mlflow = adapterFor({
      protocol: 'mlflow',
      url: 'http://h:1/',
      upstreamModel: 'm',
      mapping: undefined,
      features,
      task: classifier,
    });
    expect(mlflow.request(records)).toEqual({
      url: 'http://h:1/invocations',
      body: {
        dataframe_split: {
          columns: ['f0', 'city'],
          data: [
            [1, 'a'],
            [2, 'b'],
          ],
        },
      },
    });
    const oip = adapterFor({
      protocol: 'oip',
      url: 'http://h:1',
      upstreamModel: 'my model',
      mapping: undefined,
      features,
      task: classifier,
    });
    expect(oip.metadataUrl).toBe('http://h:1/v2/models/my%20model');
    expect(oip.request(records).body).toEqual({
      inputs: [
        { name: 'f0', shape: [2, 1], datatype: 'FP64', data: [1, 2] },
        { name: 'city', shape: [2, 1], datatype: 'BYTES', data: ['a', 'b'] },
      ],
    });
    const json = adapterFor({
      protocol: 'json',
      url: 'http://h:1/score',
      upstreamModel: 'm',
      mapping: { recordsAt: '/in/rows', recordShape: 'rows', predictionsAt: '/out', prediction: '/y' },
      features,
      task: classifier,
    });
    expect(json.request(records).body).toEqual({
      in: {
        rows: [
          [1, 'a'],
          [2, 'b'],
        ],
      },
    });
    expect(json.read({ out: [{ y: 'no' }, { y: 'yes' }] }, 2).map((o) => o.prediction)).toEqual([
      'no',
      'yes',
    ]);
    expect(readPointer({ 'a/b': { '~': 5 } }, '/a~1b/~0')).toBe(5);
  });
});
