import { z } from 'zod';
import { parseOrThrow } from '../../core/validate.js';
import type { CbpeModel } from './cbpe.js';

/*
 * A stored CBPE model comes back from the database as JSON: it is checked like any input before an
 * estimate trusts it (a hand-edited or truncated model is a ValidationError naming the field).
 */

const stat = z.object({
  mean: z.number().nullable(),
  std: z.number().min(0).nullable(),
  chunks: z.number().int().min(0),
});

export const cbpeModelSchema = z
  .object({
    kind: z.literal('cbpe'),
    version: z.literal(1),
    threshold: z.number().min(0).max(1),
    chunkSize: z.number().int().positive(),
    minRows: z.number().int().positive(),
    calibration: z.object({
      method: z.enum(['none', 'isotonic']),
      eceBefore: z.number().min(0),
      eceAfter: z.number().min(0),
      maxEce: z.number().min(0).max(1),
      map: z.object({ x: z.array(z.number()), y: z.array(z.number().min(0).max(1)) }).nullable(),
    }),
    reference: z.object({
      rows: z.number().int().positive(),
      positives: z.number().int().min(0),
      chunks: z.number().int().positive(),
      metrics: z.object({ accuracy: stat, precision: stat, recall: stat, f1: stat, rocAuc: stat }),
    }),
  })
  .refine((m) => (m.calibration.method === 'isotonic') === (m.calibration.map !== null), {
    message: 'an isotonic model needs its map, and only it',
    path: ['calibration', 'map'],
  })
  .refine((m) => m.calibration.map === null || m.calibration.map.x.length === m.calibration.map.y.length, {
    message: 'x and y must have the same length',
    path: ['calibration', 'map'],
  });

/** Validates a stored CBPE model (field names prefixed with `model.`). */
export function parseCbpeModel(stored: unknown): CbpeModel {
  return parseOrThrow(cbpeModelSchema, stored, 'model');
}
