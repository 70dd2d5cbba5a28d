import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors.js';
import { createPriceLookup, parsePriceBookYaml, validatePriceBook } from './price-book.js';

/** The ValidationError a bad book raises, with its details. */
function refusal(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

const example = fs.readFileSync(path.join(import.meta.dirname, '../../../examples/prices.yaml'), 'utf8');

describe('the price book', () => {
  it('accepts the shipped example', () => {
    const book = parsePriceBookYaml(example);
    expect(book.currency).toBe('USD');
    expect(book.prices.find((p) => p.resource === 'instance_hour')?.key).toBe('m5.large');
  });

  it('names an unknown resource', () => {
    const e = refusal(() =>
      validatePriceBook({ currency: 'USD', prices: [{ resource: 'tpu_hour', price: 1 }] }),
    );
    expect(e.details).toMatchObject({ field: 'prices.0.resource', reason: 'unknown_resource' });
    expect(e.message).toMatch(/unknown resource 'tpu_hour'/);
  });

  it('refuses a negative price', () => {
    const e = refusal(() =>
      validatePriceBook({
        prices: [
          { resource: 'cpu_hour', price: 0.1 },
          { resource: 'memory_gib_hour', price: -0.01 },
        ],
      }),
    );
    expect(e.details).toMatchObject({ field: 'prices.1.price', reason: 'negative_price' });
  });

  it('refuses overlapping effective dates for one resource and key', () => {
    const e = refusal(() =>
      parsePriceBookYaml(`
prices:
  - { resource: gpu_hour, gpu: A100, price: 3, effective_from: 2026-01-01, effective_to: 2026-07-01 }
  - { resource: gpu_hour, gpu: A100, price: 2, effective_from: 2026-06-01 }
`),
    );
    expect(e.details).toMatchObject({ field: 'prices.1.effective_from', reason: 'overlapping_dates' });
  });

  it('allows back-to-back prices and the same dates on different GPU models', () => {
    const book = parsePriceBookYaml(`
prices:
  - { resource: gpu_hour, gpu: A100, price: 3, effective_from: 2026-01-01, effective_to: 2026-07-01 }
  - { resource: gpu_hour, gpu: A100, price: 2, effective_from: 2026-07-01 }
  - { resource: gpu_hour, gpu: H100, price: 5, effective_from: 2026-01-01 }
`);
    expect(book.prices).toHaveLength(3);
  });

  it('is strict: an unknown key, a bad currency or YAML that does not parse are refused', () => {
    expect(
      refusal(() => validatePriceBook({ prices: [{ resource: 'cpu_hour', price: 1, cost: 2 }] })).message,
    ).toMatch(/prices\.0/);
    expect(refusal(() => validatePriceBook({ currency: 'dollars', prices: [] })).details).toMatchObject({
      field: 'currency',
    });
    expect(refusal(() => parsePriceBookYaml('prices: [')).details).toMatchObject({ reason: 'yaml_syntax' });
    expect(
      refusal(() => validatePriceBook({ prices: [{ resource: 'instance_hour', price: 1 }] })).details,
    ).toMatchObject({
      reason: 'missing_key',
    });
  });

  it('looks up the price in force at an instant, with the GPU fallback', () => {
    const prices = createPriceLookup(parsePriceBookYaml(example));
    expect(prices.price('gpu_hour', Date.UTC(2026, 2, 1), 'NVIDIA A100-SXM4-80GB')).toBe(2.9);
    expect(prices.price('gpu_hour', Date.UTC(2026, 6, 1), 'NVIDIA A100-SXM4-80GB')).toBe(2.2);
    expect(prices.price('gpu_hour', Date.UTC(2026, 2, 1), 'Tesla T4')).toBe(1);
    expect(prices.price('cpu_hour', Date.UTC(2025, 11, 31))).toBeUndefined();
    expect(prices.price('instance_hour', Date.UTC(2026, 2, 1), 'm5.large')).toBe(0.096);
  });
});
