import { ValidationError } from '../core/errors.js';
import { datasetNameSchema } from './dataset.schema.js';

/** What follows the '@' of a ref, classified. */
export type VersionSelector =
  | { kind: 'latest' }
  | { kind: 'number'; number: number }
  /** A tag name, or a hex digest prefix when no tag of that name exists. */
  | { kind: 'name'; value: string };

export interface ParsedRef {
  dataset: string;
  selector: VersionSelector;
  /** The ref as given, for error messages. */
  text: string;
}

/**
 * Parses `<dataset>`, `<dataset>@latest`, `<dataset>@<n>`, `<dataset>@<tag>` or `<dataset>@<digest prefix>`.
 * Dataset names hold no '@', so the first '@' separates the version part.
 */
export function parseDatasetRef(ref: string, field = 'ref'): ParsedRef {
  const text = ref.trim();
  const at = text.indexOf('@');
  const dataset = at === -1 ? text : text.slice(0, at);
  const rest = at === -1 ? '' : text.slice(at + 1);
  const name = datasetNameSchema.safeParse(dataset);
  if (!name.success) {
    throw new ValidationError(
      `${field}: '${ref}' is not a dataset ref (expected <dataset>[@<version|tag|digest|latest>])`,
      { field },
    );
  }
  if (at !== -1 && rest === '')
    throw new ValidationError(`${field}: '${ref}' has nothing after '@'`, { field });
  if (rest === '' || rest === 'latest') return { dataset, selector: { kind: 'latest' }, text };
  if (/^\d{1,9}$/.test(rest)) return { dataset, selector: { kind: 'number', number: Number(rest) }, text };
  if (!/^[\w.-]{1,64}$/.test(rest)) {
    throw new ValidationError(`${field}: '${rest}' is not a version number, tag or digest`, { field });
  }
  return { dataset, selector: { kind: 'name', value: rest }, text };
}

/** The short ref people read: `credit-train@3`. */
export function formatRef(dataset: string, number: number): string {
  return `${dataset}@${number}`;
}
