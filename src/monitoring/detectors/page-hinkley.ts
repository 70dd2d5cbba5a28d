import { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import { parseOrThrow } from '../../core/validate.js';
import type { ConceptDriftDetector, DetectorSignal } from './detector.js';

/*
 * Page-Hinkley: m_T = sum over t of (x_t - mean_t - delta), M_T = min over t of m_t; drift when
 * m_T - M_T > lambda. Computed in river's recursive form, which is the same number when alpha = 1:
 *   S_T = max(0, alpha S_{T-1} + x_T - mean_T - delta),  drift when S_T >= lambda,
 * with a fading factor alpha = 0.9999 so a long stable past does not bury a change. Defaults as
 * river's: delta 0.005, lambda 50, 30 rows (river counts from 1, so it may fire on the 29th row; kept,
 * so its published detection indices are ours too). Direction `up` (on an error stream only a rise is
 * harm) or `both`, which also runs the mirror sum max(0, alpha S' + mean_T - x_T - delta) for a fall.
 */

export const PAGE_HINKLEY_DEFAULTS = {
  delta: 0.005,
  lambda: 50,
  minRows: 30,
  alpha: 0.9999,
  direction: 'up',
} as const;

export const pageHinkleyOptionsSchema = z
  .object({
    delta: z.number().min(0).default(PAGE_HINKLEY_DEFAULTS.delta),
    lambda: z.number().positive().default(PAGE_HINKLEY_DEFAULTS.lambda),
    minRows: z.number().int().min(1).default(PAGE_HINKLEY_DEFAULTS.minRows),
    alpha: z.number().gt(0).max(1).default(PAGE_HINKLEY_DEFAULTS.alpha),
    direction: z.enum(['up', 'both']).default(PAGE_HINKLEY_DEFAULTS.direction),
  })
  .strict();
export type PageHinkleyOptions = z.input<typeof pageHinkleyOptionsSchema>;

export const pageHinkleyStateSchema = z
  .object({
    kind: z.literal('page_hinkley'),
    options: z
      .object({
        delta: z.number(),
        lambda: z.number(),
        minRows: z.number(),
        alpha: z.number(),
        direction: z.enum(['up', 'both']),
      })
      .strict(),
    n: z.number().int().min(0),
    mean: z.number(),
    /** S_T for a rise (= m_T - M_T when alpha = 1) and its mirror for a fall. */
    sumUp: z.number().min(0),
    sumDown: z.number().min(0),
    drifted: z.boolean(),
  })
  .strict();
export type PageHinkleyState = z.infer<typeof pageHinkleyStateSchema>;

/** Page-Hinkley with river's defaults; pass a stored state to resume. */
export class PageHinkley implements ConceptDriftDetector<PageHinkleyState> {
  readonly kind = 'page_hinkley' as const;
  private s: PageHinkleyState;

  constructor(options: PageHinkleyOptions = {}, state?: PageHinkleyState) {
    this.s = state
      ? structuredClone(state)
      : {
          kind: 'page_hinkley',
          options: parseOrThrow(pageHinkleyOptionsSchema, options, 'options'),
          n: 0,
          mean: 0,
          sumUp: 0,
          sumDown: 0,
          drifted: false,
        };
  }

  update(x: number): DetectorSignal {
    if (!Number.isFinite(x))
      throw new ValidationError(`x: must be a finite number, got ${String(x)}`, { field: 'x' });
    const s = this.s;
    if (s.drifted) this.reset();
    const o = s.options;
    s.n++;
    s.mean += (x - s.mean) / s.n;
    s.sumUp = Math.max(0, o.alpha * s.sumUp + x - s.mean - o.delta);
    s.sumDown = Math.max(0, o.alpha * s.sumDown + s.mean - x - o.delta);
    if (!this.ready()) return 'none';
    const up = s.sumUp >= o.lambda;
    const down = o.direction === 'both' && s.sumDown >= o.lambda;
    if (up || down) {
      s.drifted = true;
      return 'drift';
    }
    return 'none';
  }

  private reset(): void {
    Object.assign(this.s, { n: 0, mean: 0, sumUp: 0, sumDown: 0, drifted: false });
  }

  state(): PageHinkleyState {
    return structuredClone(this.s);
  }
  rows(): number {
    return this.s.drifted ? 0 : this.s.n;
  }
  ready(): boolean {
    return this.rows() + 1 >= this.s.options.minRows;
  }
  value(): number | null {
    return this.s.n === 0 ? null : this.s.sumUp;
  }
}
