import { ValidationError } from '../../core/errors.js';

/*
 * `${{ event.dataset }}@${{ event.version }}`: the params of a firing are rendered from what fired it.
 * Only dotted paths under `event` and `trigger` are allowed (no code runs): a string that is exactly
 * one expression keeps the value's type (a number stays a number); otherwise the parts are joined as
 * text. A path that is absent fails the firing, naming the param, rather than starting a run with a
 * hole in its params.
 */

const EXPR = /\$\{\{\s*([^}]*?)\s*\}\}/g;
const PATH = /^(event|trigger)(\.[A-Za-z_][A-Za-z0-9_-]*)+$/;

export interface TemplateContext {
  event: Record<string, unknown>;
  trigger: { id: string; name: string; kind: string };
}

/** Checks every expression of the params at create time (ValidationError naming `params.<key>`). */
export function checkTemplates(params: Record<string, unknown>): void {
  walk(params, 'params', (text, field) => {
    for (const m of text.matchAll(EXPR))
      if (!PATH.test(m[1] ?? ''))
        throw new ValidationError(
          `${field}: '${m[0]}' is not an expression this supports; use \${{ event.<field> }} or \${{ trigger.name }}`,
          { field },
        );
    return text;
  });
}

/** Renders the params against what fired the trigger. */
export function renderParams(params: Record<string, unknown>, ctx: TemplateContext): Record<string, unknown> {
  return walk(params, 'params', (text, field) => renderOne(text, ctx, field)) as Record<string, unknown>;
}

function lookup(ctx: TemplateContext, path: string, field: string): unknown {
  let at: unknown = ctx;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object' || !(part in at))
      throw new ValidationError(`${field}: \${{ ${path} }} is not set by what fired this trigger`, { field });
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

function renderOne(text: string, ctx: TemplateContext, field: string): unknown {
  const whole = /^\$\{\{\s*([^}]*?)\s*\}\}$/.exec(text);
  if (whole) return lookup(ctx, whole[1] ?? '', field);
  return text.replace(EXPR, (_m, path: string) => {
    const v = lookup(ctx, path, field);
    return typeof v === 'string' ? v : JSON.stringify(v);
  });
}

function walk(value: unknown, field: string, onString: (s: string, field: string) => unknown): unknown {
  if (typeof value === 'string') return onString(value, field);
  if (Array.isArray(value)) return value.map((v, i) => walk(v, `${field}.${i}`, onString));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, `${field}.${k}`, onString)]));
  return value;
}

/** A dataset name pattern as a RegExp: `*` any run of characters, `?` one, the rest literal. */
export function namePattern(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\/-]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}
