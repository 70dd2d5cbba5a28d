import { z } from 'zod';
import { assertNever } from '../../core/errors.js';
import { parseOrThrow } from '../../core/validate.js';
import { Adwin, type AdwinOptions, type AdwinState, adwinStateSchema } from './adwin.js';
import { Ddm, type DdmOptions, type DdmState, ddmStateSchema } from './ddm.js';
import type { ConceptDriftDetector, DetectorKind } from './detector.js';
import {
  PageHinkley,
  type PageHinkleyOptions,
  type PageHinkleyState,
  pageHinkleyStateSchema,
} from './page-hinkley.js';

/** Options of any detector; unknown keys are a ValidationError naming `options.<key>`. */
export type DetectorOptions = DdmOptions | AdwinOptions | PageHinkleyOptions;

/** A stored detector state, as `state()` returns it. */
export type DetectorState = DdmState | AdwinState | PageHinkleyState;

/** Validates a stored state (it comes back from the database, so it is checked like any input). */
export const detectorStateSchema = z.discriminatedUnion('kind', [
  ddmStateSchema,
  adwinStateSchema,
  pageHinkleyStateSchema,
]);

/** A fresh detector of the given kind with its defaults overridden by `options`. */
export function createDetector(
  kind: DetectorKind,
  options: DetectorOptions = {},
): ConceptDriftDetector<DetectorState> {
  switch (kind) {
    case 'ddm':
      return new Ddm(options as DdmOptions);
    case 'adwin':
      return new Adwin(options as AdwinOptions);
    case 'page_hinkley':
      return new PageHinkley(options as PageHinkleyOptions);
    default:
      return assertNever(kind);
  }
}

/** Resumes a detector from a stored `state()`; a malformed state is a ValidationError naming the field. */
export function restoreDetector(stored: unknown): ConceptDriftDetector<DetectorState> {
  const state = parseOrThrow(detectorStateSchema, stored, 'state');
  switch (state.kind) {
    case 'ddm':
      return new Ddm({}, state);
    case 'adwin':
      return new Adwin({}, state);
    case 'page_hinkley':
      return new PageHinkley({}, state);
    default:
      return assertNever(state);
  }
}
