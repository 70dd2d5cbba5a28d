/*
 * `${{ ... }}` expressions of a spec: `params.<name>`, `inputs.<name>` and `steps.<step>.outputs.<name>`.
 * Nothing else is evaluated: a spec is data, never code run by the engine.
 */

export type ExprRef =
  | { kind: 'params'; name: string }
  | { kind: 'inputs'; name: string }
  | { kind: 'steps'; step: string; output: string };

const EXPR = /\$\{\{\s*([^}]*?)\s*\}\}/g;

/** Every expression in a string, parsed; an expression of no known form is returned as `bad`. */
export function refsIn(text: string): Array<ExprRef | { kind: 'bad'; text: string }> {
  const out: Array<ExprRef | { kind: 'bad'; text: string }> = [];
  for (const m of text.matchAll(EXPR)) out.push(parseRef(m[1] ?? ''));
  return out;
}

function parseRef(expr: string): ExprRef | { kind: 'bad'; text: string } {
  let m = /^params\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(expr);
  if (m?.[1]) return { kind: 'params', name: m[1] };
  m = /^inputs\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(expr);
  if (m?.[1]) return { kind: 'inputs', name: m[1] };
  m = /^steps\.([a-z0-9][a-z0-9_-]*)\.outputs\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(expr);
  if (m?.[1] && m[2]) return { kind: 'steps', step: m[1], output: m[2] };
  return { kind: 'bad', text: expr };
}

/** Every string inside a JSON-like value, with its path (for references in `with:`). */
export function stringsIn(value: unknown, path: string): Array<{ path: string; text: string }> {
  if (typeof value === 'string') return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringsIn(v, `${path}.${i}`));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => stringsIn(v, `${path}.${k}`));
  return [];
}

export interface ExprScope {
  params: Record<string, unknown>;
  inputs: Record<string, unknown>;
  steps: Record<string, Record<string, unknown>>;
}

function lookup(ref: ExprRef, scope: ExprScope): unknown {
  switch (ref.kind) {
    case 'params':
      return scope.params[ref.name];
    case 'inputs':
      return scope.inputs[ref.name];
    case 'steps':
      return scope.steps[ref.step]?.[ref.output];
  }
}

/** Display form of an output value inside a string (a file output reads as its path). */
function asText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object' && 'path' in v && typeof v.path === 'string') return v.path;
  if (typeof v === 'object' && 'ref' in v && typeof v.ref === 'string') return v.ref;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * Substitutes expressions in a string. A string that is exactly one expression keeps the value's type
 * (a number param stays a number in `with:`); otherwise values are spliced in as text.
 */
export function interpolate(text: string, scope: ExprScope): unknown {
  const whole = /^\$\{\{\s*([^}]*?)\s*\}\}$/.exec(text);
  if (whole) {
    const ref = parseRef(whole[1] ?? '');
    if (ref.kind !== 'bad') {
      const v = lookup(ref, scope);
      return v !== null && typeof v === 'object' && 'path' in v ? asText(v) : v;
    }
  }
  return text.replace(EXPR, (_all, expr: string) => {
    const ref = parseRef(expr);
    return ref.kind === 'bad' ? '' : asText(lookup(ref, scope));
  });
}

/** interpolate() through a JSON-like value. */
export function interpolateDeep(value: unknown, scope: ExprScope): unknown {
  if (typeof value === 'string') return interpolate(value, scope);
  if (Array.isArray(value)) return value.map((v) => interpolateDeep(v, scope));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, scope)]));
  return value;
}
