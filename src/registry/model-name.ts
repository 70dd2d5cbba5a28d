import { ValidationError } from '../core/errors.js';
import { modelNameSchema } from './registry.schema.js';

/**
 * The key a model name is unique under. Names that differ only by URL-encoding ("fraud%20model"),
 * Unicode form (composed vs decomposed "é", full-width letters: NFKC) or letter case are the same
 * name: two such models would be indistinguishable to the people choosing between them.
 */
export function modelNameKey(name: string): string {
  let decoded = name;
  // Decode until stable, so that double-encoding cannot smuggle a twin past the check.
  for (let i = 0; i < 5; i++) {
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      break;
    }
    if (next === decoded) break;
    decoded = next;
  }
  return decoded.normalize('NFKC').toLowerCase().normalize('NFKC').trim();
}

/** Checks a name as given and returns it in NFC (what is stored and shown). */
export function checkModelName(name: string, field = 'name'): string {
  const parsed = modelNameSchema.safeParse(name);
  if (!parsed.success) {
    throw new ValidationError(`${field}: ${parsed.error.issues[0]?.message ?? 'invalid model name'}`, {
      field,
    });
  }
  const key = modelNameKey(parsed.data);
  if (!key || /[@/\\\p{Cc}]/u.test(key)) {
    throw new ValidationError(`${field}: '${name}' decodes to a name with @, /, \\ or control characters`, {
      field,
    });
  }
  return parsed.data.normalize('NFC');
}

/** Splits `<model>@<version|alias|latest>`; the model part is everything before the last '@'. */
export function splitRef(ref: string, field = 'ref'): { model: string; selector: string } {
  const at = ref.lastIndexOf('@');
  if (at <= 0 || at === ref.length - 1) {
    throw new ValidationError(
      `${field}: '${ref}' must look like <model>@<version>, <model>@<alias> or <model>@latest`,
      {
        field,
      },
    );
  }
  return { model: ref.slice(0, at), selector: ref.slice(at + 1) };
}
