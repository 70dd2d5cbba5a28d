import { readModelInternals } from '../../ml/index.js';

/*
 * A category the model never kept in training (unseen, or too rare to get its own column) is encoded
 * as "none of the known ones": the model still answers, but on less than the caller thinks. Serving
 * flags such values per record instead of encoding them silently. Only Sextant's trainers record
 * their categories (in the ONNX metadata); a foreign model has no list to check against.
 */

/** The categorical features of a record whose value the model does not know: feature -> value. */
export type UnseenCategories = Record<string, string>;

/** Finds a record's unseen categories (undefined when all are known, or for a model without categories). */
export type UnseenCheck = (record: Record<string, unknown>) => UnseenCategories | undefined;

/** The check for a model's bytes, or undefined when it records no categorical features. */
export function unseenCategoryCheck(bytes: Uint8Array): UnseenCheck | undefined {
  let categorical: { name: string; categories: string[] }[];
  try {
    categorical = readModelInternals(bytes)?.encoding.categorical ?? [];
  } catch {
    // Malformed internals: explanations refuse them; scoring does not depend on them.
    return undefined;
  }
  if (categorical.length === 0) return undefined;
  const known = categorical.map((c) => ({ name: c.name, categories: new Set(c.categories) }));
  return (record) => {
    let out: UnseenCategories | undefined;
    for (const f of known) {
      const v = record[f.name];
      // null and '' are a missing value, which the model imputes by design: not an unseen category.
      if (v === null || v === undefined || v === '') continue;
      const text = typeof v === 'string' ? v : String(v);
      if (!f.categories.has(text)) {
        out ??= {};
        out[f.name] = text;
      }
    }
    return out;
  };
}
