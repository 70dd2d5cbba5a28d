import { seededRandom } from '../core/random.js';
import type { CreditData } from './synthetic.js';

/*
 * A seeded three-class table for tests and examples of multiclass models (no downloads): parcels
 * routed to `standard`, `express` or `freight` from their weight, distance and urgency, with a
 * categorical region and noisy labels. `integerLabels` gives the same classes as 0, 1, 2.
 */

export const PARCEL_TARGET = 'service';
export const PARCEL_CLASSES = ['express', 'freight', 'standard'] as const;
const REGIONS = ['north', 'south', 'east', 'west'];

/** Rows of the parcel table; `labelNoise` (default 0.05) is the chance a label is redrawn at random. */
export function generateParcelData(opts: {
  rows: number;
  seed: number;
  labelNoise?: number;
  integerLabels?: boolean;
}): CreditData {
  const r = seededRandom(opts.seed);
  const noise = opts.labelNoise ?? 0.05;
  const rows: CreditData['rows'] = [];
  for (let i = 0; i < opts.rows; i++) {
    const weight = Math.round((0.2 + r() * 40) * 10) / 10;
    const distance = Math.round(5 + r() * 995);
    const urgency = Math.floor(r() * 5);
    const region = REGIONS[Math.floor(r() * REGIONS.length)]!;
    // Heavy parcels go by freight, urgent light ones by express, the rest standard.
    const scores = [
      1.2 * urgency - 0.12 * weight + (region === 'north' ? 0.5 : 0) - 1.5,
      0.2 * weight + distance / 500 - 5,
      0,
    ];
    let label = scores.indexOf(Math.max(...scores));
    if (r() < noise) label = Math.floor(r() * 3);
    rows.push({
      weight,
      distance,
      urgency,
      region,
      [PARCEL_TARGET]: opts.integerLabels ? label : PARCEL_CLASSES[label]!,
    });
  }
  return {
    columns: [
      { name: 'weight', type: 'float' },
      { name: 'distance', type: 'integer' },
      { name: 'urgency', type: 'integer' },
      { name: 'region', type: 'string' },
      { name: PARCEL_TARGET, type: opts.integerLabels ? 'integer' : 'string' },
    ],
    rows,
  };
}
