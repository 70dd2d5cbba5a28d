import { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import { parseOrThrow } from '../../core/validate.js';
import type { ConceptDriftDetector, DetectorSignal } from './detector.js';

/*
 * DDM (Gama et al., 2004) on a 0/1 error stream. After i rows the error rate p_i has standard
 * deviation s_i = sqrt(p_i (1 - p_i) / i); the detector remembers the smallest p + s it has seen and
 * warns when p_i + s_i >= p_min + 2 s_min, signals drift at p_min + 3 s_min, then starts over.
 * Defaults follow river: 30 rows before it may fire, warning 2.0, drift 3.0.
 *
 * One guard river lacks: the minimum is not recorded while p_i = 0 (s_i = 0 too), because a good
 * model often makes no error in its first 30 rows, and p_min + 3 s_min = 0 would turn its first error
 * into a drift.
 */

export const DDM_DEFAULTS = { warmStart: 30, warningThreshold: 2, driftThreshold: 3 } as const;

export const ddmOptionsSchema = z
  .object({
    warmStart: z.number().int().min(1).default(DDM_DEFAULTS.warmStart),
    warningThreshold: z.number().positive().default(DDM_DEFAULTS.warningThreshold),
    driftThreshold: z.number().positive().default(DDM_DEFAULTS.driftThreshold),
  })
  .strict()
  .refine((o) => o.warningThreshold < o.driftThreshold, {
    message: 'warningThreshold must be below driftThreshold',
    path: ['warningThreshold'],
  });
export type DdmOptions = z.input<typeof ddmOptionsSchema>;

export const ddmStateSchema = z
  .object({
    kind: z.literal('ddm'),
    options: z
      .object({ warmStart: z.number(), warningThreshold: z.number(), driftThreshold: z.number() })
      .strict(),
    n: z.number().int().min(0),
    errors: z.number().min(0),
    // null stands for "not seen yet" (Infinity is not JSON).
    pMin: z.number().nullable(),
    sMin: z.number().nullable(),
    drifted: z.boolean(),
  })
  .strict();
export type DdmState = z.infer<typeof ddmStateSchema>;

/** DDM with river's defaults; pass a stored state to resume. */
export class Ddm implements ConceptDriftDetector<DdmState> {
  readonly kind = 'ddm' as const;
  private s: DdmState;

  constructor(options: DdmOptions = {}, state?: DdmState) {
    if (state) {
      this.s = structuredClone(state);
    } else {
      const o = parseOrThrow(ddmOptionsSchema, options, 'options');
      this.s = { kind: 'ddm', options: o, n: 0, errors: 0, pMin: null, sMin: null, drifted: false };
    }
  }

  update(x: number): DetectorSignal {
    if (x !== 0 && x !== 1) {
      throw new ValidationError(`x: DDM reads a 0/1 error stream, got ${String(x)}`, { field: 'x' });
    }
    const s = this.s;
    if (s.drifted) this.reset();
    s.n++;
    s.errors += x;
    const p = s.errors / s.n;
    const sd = Math.sqrt((p * (1 - p)) / s.n);
    if (s.n <= s.options.warmStart) return 'none';
    if (p > 0 && (s.pMin === null || s.sMin === null || p + sd <= s.pMin + s.sMin)) {
      s.pMin = p;
      s.sMin = sd;
    }
    if (s.pMin === null || s.sMin === null) return 'none';
    if (p + sd > s.pMin + s.options.driftThreshold * s.sMin) {
      s.drifted = true;
      return 'drift';
    }
    if (p + sd > s.pMin + s.options.warningThreshold * s.sMin) return 'warning';
    return 'none';
  }

  private reset(): void {
    Object.assign(this.s, { n: 0, errors: 0, pMin: null, sMin: null, drifted: false });
  }

  state(): DdmState {
    return structuredClone(this.s);
  }
  rows(): number {
    return this.s.drifted ? 0 : this.s.n;
  }
  ready(): boolean {
    return this.rows() > this.s.options.warmStart;
  }
  value(): number | null {
    return this.s.n > 0 ? this.s.errors / this.s.n : null;
  }
}
