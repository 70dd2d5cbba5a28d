import { ValidationError } from '../../core/errors.js';
import { checkSameLength, LabelTypeError, toBinaryLabels } from '../binary-inputs.js';

/*
 * Splitting rows by a protected attribute (the facet): each value d is compared with the rest a, as
 * SageMaker Clarify does for a multi-valued facet. Rows whose facet is missing (null, undefined, NaN)
 * belong to no group and are counted apart, never silently merged into "the rest".
 */

/** A protected attribute's value as it arrives from inputs or a joined column. */
export type FacetValue = string | number | boolean | null | undefined;

/** Labels as 0/1 or true/false, or any values with `positiveLabel` naming the favourable outcome. */
export type LabelValue = unknown;

/** Defaults: groups (d or the rest) smaller than this get insufficient_data instead of a number. */
export const FAIRNESS_DEFAULTS = { minGroupSize: 30, fourFifths: 0.8 } as const;

/** The protected attribute has fewer than two groups: there is nothing to compare. */
export class SingleGroupError extends ValidationError {
  constructor(attribute: string, groups: string[]) {
    super(
      `facet: the protected attribute '${attribute}' has ${groups.length} group(s) (${groups.join(', ') || 'none'}); fairness needs at least two`,
      { field: 'facet', reason: 'single_group', attribute, groups },
    );
  }
}

/** Rows grouped by facet value, labels as 0/1. */
export interface FacetSplit {
  /** Group key (String of the value) -> row indices, in first-seen order. */
  groups: Map<string, number[]>;
  excludedRows: number;
}

/** Groups rows by facet value; throws SingleGroupError when fewer than two groups remain. */
export function splitByFacet(attribute: string, facet: ArrayLike<FacetValue>): FacetSplit {
  const groups = new Map<string, number[]>();
  let excludedRows = 0;
  for (let i = 0; i < facet.length; i++) {
    const v = facet[i];
    if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) {
      excludedRows++;
      continue;
    }
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new ValidationError(`facet[${i}]: a facet value must be a string, number or boolean`, {
        field: `facet[${i}]`,
      });
    }
    const key = String(v);
    const rows = groups.get(key);
    if (rows) rows.push(i);
    else groups.set(key, [i]);
  }
  if (groups.size < 2) throw new SingleGroupError(attribute, [...groups.keys()]);
  return { groups, excludedRows };
}

/** Binary labels, either 0/1/true/false or compared with `positiveLabel`; anything else names the row. */
export function binaryOutcomes(
  values: ArrayLike<LabelValue>,
  field: string,
  positiveLabel?: string | number | boolean,
) {
  if (positiveLabel === undefined) return toBinaryLabels(values, field);
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const ok =
      typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
    if (!ok) throw new LabelTypeError(field, i, v);
    out[i] = v === positiveLabel ? 1 : 0;
  }
  return out;
}

/** Checks facet and the outcome columns line up. */
export function checkColumns(facet: ArrayLike<unknown>, columns: Record<string, ArrayLike<unknown>>): void {
  for (const [name, col] of Object.entries(columns)) checkSameLength(facet, col, name, 'facet');
}

/** Checks a minimum group size option. */
export function checkMinGroupSize(v: number): number {
  if (!Number.isInteger(v) || v < 1) {
    throw new ValidationError('minGroupSize: must be a positive integer', { field: 'minGroupSize' });
  }
  return v;
}
