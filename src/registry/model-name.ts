import { ValidationError } from '../core/errors.js';
import { modelNameSchema } from './registry.schema.js';

/**
 * The key a model name is unique under. Names that differ only by URL-encoding ("fraud%20model"),
 * Unicode form (composed vs decomposed "é", full-width letters: NFKC) or letter case are the same
 * name: two such models would be indistinguishable to the people choosing between them.
 */
export function modelNameKey(name: string): string {
  return urlDecoded(name).normalize('NFKC').toLowerCase().normalize('NFKC').trim();
}

function urlDecoded(name: string): string {
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
  return decoded;
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

/*
 * Look-alike names. Two models whose names read the same to a person ("credit" in Latin letters and
 * "сredit" with a Cyrillic с, or "credit" with a zero-width space inside) would let one pass for the
 * other in an approval, a deployment or a dashboard. A new name is therefore refused when it holds
 * invisible characters, mixes Latin with Cyrillic, Greek or Armenian letters, or has the same skeleton
 * as an existing model: the skeleton (after UTS #39) folds each character to the one it is confused
 * with, so look-alikes share it while names that only look different keep their own.
 */

// biome-ignore format: a lookup table reads best as a table
// Letters of other scripts that render like Latin ones (a subset of Unicode's confusables.txt: the
// Cyrillic, Greek and Armenian letters, upper and lower case, with a Latin look-alike), and the
// digits and letters UTS #39 also folds (0 -> o, 1 / I / | -> l).
const CONFUSABLE: Record<string, string> = {
  а: 'a', в: 'b', с: 'c', ԁ: 'd', е: 'e', ё: 'e', һ: 'h', і: 'i', ї: 'i', ј: 'j', к: 'k', ӏ: 'l',
  м: 'm', н: 'h', о: 'o', р: 'p', ԛ: 'q', ѕ: 's', т: 't', у: 'y', ԝ: 'w', х: 'x', ү: 'y', ɡ: 'g',
  А: 'a', В: 'b', С: 'c', Е: 'e', Ё: 'e', Н: 'h', І: 'l', Ї: 'l', Ј: 'j', К: 'k', М: 'm', О: 'o',
  Р: 'p', Ѕ: 's', Т: 't', Х: 'x', У: 'y', Ү: 'y', Ԛ: 'q', Ԝ: 'w', Ӏ: 'l',
  α: 'a', β: 'b', ε: 'e', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x', γ: 'y',
  Α: 'a', Β: 'b', Ε: 'e', Ζ: 'z', Η: 'h', Ι: 'l', Κ: 'k', Μ: 'm', Ν: 'n', Ο: 'o', Ρ: 'p', Τ: 't',
  Υ: 'y', Χ: 'x',
  օ: 'o', ս: 'u', հ: 'h', ո: 'n', ց: 'g', զ: 'q', Օ: 'o', Ս: 'u',
  '0': 'o', '1': 'l', I: 'l', '|': 'l',
};
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Zl}\p{Zp}]/u;
const OTHER_LOOKALIKE_SCRIPT = /[\p{Script=Cyrillic}\p{Script=Greek}\p{Script=Armenian}]/u;

/** The confusable skeleton of a name: look-alikes (`сredit`, `credit`, `CREDlT`) share one. */
export function modelNameSkeleton(name: string): string {
  // Case is folded after the look-alikes: an uppercase I is confused with l, a lowercase i is not.
  const folded = [
    ...urlDecoded(name).normalize('NFKC').trim().replace(new RegExp(INVISIBLE.source, 'gu'), ''),
  ]
    .map((ch) => CONFUSABLE[ch] ?? ch)
    .join('');
  return folded.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

/**
 * Checks a name a model is about to take (create or rename): invisible characters and Latin mixed
 * with a look-alike script are refused, as ValidationError naming the field.
 */
export function checkNewModelName(name: string, field = 'name'): string {
  const checked = checkModelName(name, field);
  const key = modelNameKey(checked);
  if (INVISIBLE.test(key)) {
    throw new ValidationError(
      `${field}: '${name}' holds invisible characters (zero-width or formatting); names must read as they are`,
      { field },
    );
  }
  if (/\p{Script=Latin}/u.test(key) && OTHER_LOOKALIKE_SCRIPT.test(key)) {
    throw new ValidationError(
      `${field}: '${name}' mixes Latin letters with Cyrillic, Greek or Armenian ones that look alike; use one script`,
      { field },
    );
  }
  return checked;
}
