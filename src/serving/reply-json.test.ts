import { describe, expect, it } from 'vitest';
import { itemsJsonOf, outputsJsonOf } from './reply-json.js';
import type { PredictionOutput } from './serving.schema.js';

/** The items the runtime builds from outputs (deployment-runtime.ts), stringified as the reply did. */
function itemsAsBefore(
  ids: string[],
  outputs: PredictionOutput[],
  unseen: (Record<string, string> | undefined)[] | null,
): string {
  return JSON.stringify(
    outputs.map((out, i) => {
      const item: Record<string, unknown> = {
        prediction_id: ids[i],
        model: 'credit "v"',
        version: 3,
        prediction: out.prediction,
      };
      if (out.probabilities !== undefined) item.probabilities = out.probabilities;
      if (out.outputs !== undefined) item.outputs = out.outputs;
      if (unseen?.[i] !== undefined) item.unseen_categories = unseen[i];
      return item;
    }),
  );
}

const textOf = (
  outputs: PredictionOutput[],
  unseen: (Record<string, string> | undefined)[] | null = null,
) => {
  const ids = outputs.map((_, i) => `pred_${i}`);
  return {
    built: itemsJsonOf(ids, 'credit "v"', 3, outputs, outputsJsonOf(outputs), unseen),
    before: itemsAsBefore(ids, outputs, unseen),
  };
};

describe('reply JSON from the outputs JSON', () => {
  it('writes what JSON.stringify of the items wrote, for every output shape the models give', () => {
    const outputs: PredictionOutput[] = [
      { prediction: '1', probabilities: { '0': 0.25, '1': 0.75 } },
      { prediction: 1, outputs: { label: 1, probabilities: [0.1, Number.NaN] } },
      { prediction: 2.5 },
      { prediction: null },
      { prediction: 'a"b\u2028', probabilities: { 'x"': 1 }, outputs: { y: [true] } },
      { prediction: undefined } as unknown as PredictionOutput,
      { prediction: 0, probabilities: undefined } as unknown as PredictionOutput,
    ];
    const { built, before } = textOf(outputs);
    expect(built).toBe(before);
    const unseen = outputs.map((_, i) => (i % 2 === 0 ? { city: `Z"${i}` } : undefined));
    const withUnseen = textOf(outputs, unseen);
    expect(withUnseen.built).toBe(withUnseen.before);
    expect(textOf([]).built).toBe('[]');
  });

  it('gives no text for an output whose keys the items would reorder or drop', () => {
    for (const odd of [
      { probabilities: { a: 1 }, prediction: 1 },
      { prediction: 1, outputs: {}, probabilities: { a: 1 } },
      { prediction: 1, extra: true },
      {},
    ])
      expect(textOf([{ prediction: 0 }, odd as unknown as PredictionOutput]).built).toBeUndefined();
    const inherited = Object.assign(Object.create({ extra: 1 }) as object, { prediction: 1 });
    expect(textOf([inherited as PredictionOutput]).built).toBeUndefined();
  });
});
