import { z } from 'zod';

/*
 * The price book: what one unit of each resource costs, from when to when, in one currency. Written as
 * YAML (examples/prices.yaml), validated strictly (an unknown key is an error, not ignored), stored as
 * a new version on every set.
 */

/** The resources a price may name, and the key that qualifies each (a GPU model, an instance type). */
export const RESOURCES = {
  cpu_hour: null,
  memory_gib_hour: null,
  gpu_hour: 'gpu',
  storage_gib_month: null,
  instance_hour: 'instance_type',
} as const;
export type Resource = keyof typeof RESOURCES;
export const RESOURCE_NAMES = Object.keys(RESOURCES) as Resource[];

const day = z.union([z.string(), z.date()]).transform((v, ctx) => {
  const d = v instanceof Date ? v : new Date(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
  if (Number.isNaN(d.getTime())) {
    ctx.addIssue({ code: 'custom', message: `not a date: '${String(v)}' (use YYYY-MM-DD or ISO-8601)` });
    return z.NEVER;
  }
  return d.toISOString();
});

export const priceEntryInputSchema = z.strictObject({
  resource: z.string().min(1),
  price: z.number().finite(),
  /** The GPU model name as nvidia-smi reports it (gpu_hour only); '*' prices any model not listed. */
  gpu: z.string().min(1).max(200).optional(),
  /** The instance type (instance_hour only). */
  instance_type: z.string().min(1).max(200).optional(),
  /** Inclusive; default: the beginning of time. */
  effective_from: day.optional(),
  /** Exclusive; default: open-ended. */
  effective_to: day.optional(),
  description: z.string().max(500).optional(),
});

export const priceBookInputSchema = z.strictObject({
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'a three-letter ISO 4217 code, e.g. USD')
    .default('USD'),
  prices: z.array(priceEntryInputSchema).max(10_000),
});
export type PriceBookInput = z.input<typeof priceBookInputSchema>;

export const priceEntrySchema = z.object({
  resource: z.enum(RESOURCE_NAMES as [Resource, ...Resource[]]),
  price: z.number(),
  key: z.string().nullable(),
  effectiveFrom: z.string().nullable(),
  effectiveTo: z.string().nullable(),
  description: z.string().optional(),
});
export type PriceEntry = z.infer<typeof priceEntrySchema>;

/** A stored version of the price book. */
export const priceBookSchema = z.object({
  version: z.number().int(),
  currency: z.string(),
  prices: z.array(priceEntrySchema),
  createdAt: z.string(),
  createdBy: z.string(),
});
export type PriceBook = z.infer<typeof priceBookSchema>;

/** The body of PUT /api/v1/cost/prices: the YAML text, or the parsed document. */
export const setPriceBookBodySchema = z.union([
  z.strictObject({ yaml: z.string().min(1).max(5_000_000) }),
  z.strictObject({ document: z.unknown() }),
]);
export type SetPriceBookBody = z.infer<typeof setPriceBookBodySchema>;
