import YAML from 'yaml';
import { ValidationError } from '../../core/errors.js';
import { parseOrThrow } from '../../core/validate.js';
import {
  type PriceEntry,
  priceBookInputSchema,
  RESOURCE_NAMES,
  RESOURCES,
  type Resource,
} from './price-book.schema.js';

/*
 * Validation and lookup of a price book. Each problem is a ValidationError naming the entry's field
 * and a `reason` (unknown_resource, negative_price, overlapping_dates, ...), so the CLI prints one
 * line that says which entry to fix.
 */

/** A price book validated into entries (not yet stored: no version). */
export interface ParsedPriceBook {
  currency: string;
  prices: PriceEntry[];
}

function invalid(field: string, reason: string, message: string): never {
  throw new ValidationError(`${field}: ${message}`, { field, reason });
}

/** Parses YAML text into a price book; a YAML syntax error is a ValidationError too. */
export function parsePriceBookYaml(text: string): ParsedPriceBook {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    invalid('prices.yaml', 'yaml_syntax', (err as Error).message.split('\n')[0] ?? 'not YAML');
  }
  return validatePriceBook(doc);
}

/** Validates a parsed document: strict shape, known resources, no negative price, no overlaps. */
export function validatePriceBook(doc: unknown): ParsedPriceBook {
  const book = parseOrThrow(priceBookInputSchema, doc);
  const prices: PriceEntry[] = book.prices.map((p, i) => {
    const field = `prices.${i}`;
    if (!(RESOURCE_NAMES as string[]).includes(p.resource))
      invalid(
        `${field}.resource`,
        'unknown_resource',
        `unknown resource '${p.resource}'; one of ${RESOURCE_NAMES.join(', ')}`,
      );
    const resource = p.resource as Resource;
    if (p.price < 0) invalid(`${field}.price`, 'negative_price', `a price cannot be negative (${p.price})`);
    const keyName = RESOURCES[resource];
    for (const k of ['gpu', 'instance_type'] as const)
      if (p[k] !== undefined && k !== keyName)
        invalid(
          `${field}.${k}`,
          'misplaced_key',
          `'${k}' only qualifies ${k === 'gpu' ? 'gpu_hour' : 'instance_hour'}`,
        );
    if (keyName === 'instance_type' && p.instance_type === undefined)
      invalid(`${field}.instance_type`, 'missing_key', 'instance_hour needs the instance_type it prices');
    const key = keyName === null ? null : (p[keyName] ?? (keyName === 'gpu' ? '*' : null));
    const from = p.effective_from ?? null;
    const to = p.effective_to ?? null;
    if (from !== null && to !== null && to <= from)
      invalid(
        `${field}.effective_to`,
        'empty_interval',
        `effective_to (${to}) must be after effective_from (${from})`,
      );
    return {
      resource,
      price: p.price,
      key,
      effectiveFrom: from,
      effectiveTo: to,
      ...(p.description ? { description: p.description } : {}),
    };
  });
  // Two prices of one resource (and key) in force at one instant would make a cost ambiguous.
  const byKey = new Map<string, number[]>();
  prices.forEach((p, i) => {
    const k = `${p.resource}\u0000${p.key ?? ''}`;
    for (const j of byKey.get(k) ?? []) {
      const q = prices[j]!;
      if (overlaps(p, q))
        invalid(
          `prices.${i}.effective_from`,
          'overlapping_dates',
          `${p.resource}${p.key ? ` (${p.key})` : ''} overlaps prices.${j} (${q.effectiveFrom ?? '-inf'} to ${q.effectiveTo ?? '+inf'})`,
        );
    }
    byKey.set(k, [...(byKey.get(k) ?? []), i]);
  });
  return { currency: book.currency, prices };
}

function overlaps(a: PriceEntry, b: PriceEntry): boolean {
  const aFrom = a.effectiveFrom ?? '';
  const bFrom = b.effectiveFrom ?? '';
  const aTo = a.effectiveTo ?? '\uffff';
  const bTo = b.effectiveTo ?? '\uffff';
  // ISO strings of one format compare as times; intervals are [from, to).
  return aFrom < bTo && bFrom < aTo;
}

/** Looks prices up by resource, key and instant; built once per report. */
export function createPriceLookup(book: ParsedPriceBook | undefined) {
  const entries = (book?.prices ?? []).map((p) => ({
    ...p,
    from: p.effectiveFrom ? Date.parse(p.effectiveFrom) : -Infinity,
    to: p.effectiveTo ? Date.parse(p.effectiveTo) : Infinity,
  }));
  const index = new Map<string, typeof entries>();
  for (const e of entries) {
    const k = `${e.resource}\u0000${e.key ?? ''}`;
    index.set(k, [...(index.get(k) ?? []), e]);
  }
  const find = (resource: Resource, key: string | null, at: number): number | undefined =>
    index.get(`${resource}\u0000${key ?? ''}`)?.find((e) => e.from <= at && at < e.to)?.price;
  const changes = [...new Set(entries.flatMap((e) => [e.from, e.to]).filter(Number.isFinite))].sort(
    (a, b) => a - b,
  );
  return {
    currency: book?.currency ?? 'USD',
    /** Instants strictly inside (from, to) where some price starts or ends. */
    changesWithin: (from: number, to: number): number[] => changes.filter((c) => c > from && c < to),
    /** The price in force at `at`; a GPU model not listed falls back to the '*' price. */
    price(resource: Resource, at: number, key: string | null = null): number | undefined {
      const exact = find(resource, key, at);
      if (exact !== undefined || resource !== 'gpu_hour') return exact;
      return find(resource, '*', at);
    },
  };
}
export type PriceLookup = ReturnType<typeof createPriceLookup>;
