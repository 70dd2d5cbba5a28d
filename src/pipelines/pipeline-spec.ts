import { parse as parseYaml } from 'yaml';
import { digestOf } from '../core/hashing.js';
import { ValidationError } from '../core/errors.js';
import { parseOrThrow } from '../core/validate.js';
import { refsIn, stringsIn } from './expressions.js';
import {
  BUILTIN_OUTPUTS,
  BUILTIN_STEPS,
  type BuiltinStep,
  type ParamType,
  type PipelineSpec,
  pipelineSpecSchema,
  type StepSpec,
  stepSpecSchema,
} from './pipeline-spec.schema.js';

/*
 * From YAML text to a checked spec and its DAG. Every error is a ValidationError whose field names
 * where it is (`steps.train.with.dataset`, `steps.a.needs`), so a user fixes the file without guessing.
 */

/** A checked spec, its DAG (each step's dependencies: needs plus data references) and its digest. */
export interface CheckedPipeline {
  spec: PipelineSpec;
  deps: Record<string, string[]>;
  digest: string;
}

/** Parses and checks YAML text (the content of a pipeline file). */
export function parsePipelineYaml(text: string): CheckedPipeline {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ValidationError(`spec: not valid YAML: ${(err as Error).message.split('\n')[0]}`, {
      field: 'spec',
    });
  }
  return checkPipelineSpec(doc);
}

/** Checks a spec already parsed from YAML or JSON. */
export function checkPipelineSpec(doc: unknown): CheckedPipeline {
  const top = parseOrThrow(pipelineSpecSchema, doc);
  const steps: Record<string, StepSpec> = {};
  const names = Object.keys(top.steps);
  if (!names.length) throw new ValidationError('steps: a pipeline has at least one step', { field: 'steps' });
  for (const name of names) steps[name] = parseOrThrow(stepSpecSchema, top.steps[name], `steps.${name}`);
  const spec: PipelineSpec = { ...top, steps };
  for (const [name, p] of Object.entries(spec.params ?? {}))
    if (p.default !== undefined) coerceParam(name, p.type, p.default, `params.${name}.default`);

  const deps: Record<string, string[]> = {};
  for (const [name, step] of Object.entries(steps)) {
    const d = new Set<string>();
    for (const [i, need] of (step.needs ?? []).entries()) {
      if (!steps[need])
        throw new ValidationError(`steps.${name}.needs.${i}: no step '${need}' in this pipeline`, {
          field: `steps.${name}.needs.${i}`,
        });
      d.add(need);
    }
    if ('uses' in step) {
      const builtin = step.uses.slice('sextant/'.length);
      if (!(BUILTIN_STEPS as readonly string[]).includes(builtin))
        throw new ValidationError(
          `steps.${name}.uses: no built-in step '${step.uses}' (known: ${BUILTIN_STEPS.map((b) => `sextant/${b}`).join(', ')})`,
          { field: `steps.${name}.uses` },
        );
    }
    // Data dependencies: a reference to another step's output joins the DAG by itself.
    const texts = [
      ...('run' in step ? [{ path: `steps.${name}.run`, text: step.run }] : []),
      ...('uses' in step ? stringsIn(step.with ?? {}, `steps.${name}.with`) : []),
      ...stringsIn(step.inputs ?? {}, `steps.${name}.inputs`),
      ...stringsIn(step.env ?? {}, `steps.${name}.env`),
    ];
    for (const { path, text } of texts)
      for (const ref of refsIn(text)) {
        if (ref.kind === 'bad')
          throw new ValidationError(
            `${path}: '\${{ ${ref.text} }}' is not params.<name>, inputs.<name> or steps.<step>.outputs.<name>`,
            { field: path },
          );
        if (ref.kind === 'params' && !spec.params?.[ref.name])
          throw new ValidationError(`${path}: no param '${ref.name}' is declared`, { field: path });
        if (ref.kind === 'inputs' && !step.inputs?.[ref.name])
          throw new ValidationError(`${path}: step '${name}' declares no input '${ref.name}'`, { field: path });
        if (ref.kind === 'steps') {
          const other = steps[ref.step];
          if (!other)
            throw new ValidationError(`${path}: no step '${ref.step}' in this pipeline`, { field: path });
          if (ref.step === name)
            throw new ValidationError(`${path}: a step cannot read its own outputs`, { field: path });
          const known = outputNames(other);
          if (!known.includes(ref.output))
            throw new ValidationError(
              `${path}: step '${ref.step}' has no output '${ref.output}' (it has: ${known.join(', ') || 'none'})`,
              { field: path },
            );
          d.add(ref.step);
        }
      }
    if ('run' in step)
      for (const [o, out] of Object.entries(step.outputs ?? {}))
        if (out.dataset && !out.file)
          throw new ValidationError(`steps.${name}.outputs.${o}: a dataset output needs a file`, {
            field: `steps.${name}.outputs.${o}.file`,
          });
    deps[name] = [...d].sort();
  }
  const cycle = findCycle(deps);
  if (cycle)
    throw new ValidationError(`steps: a cycle ${cycle.join(' -> ')}`, { field: 'steps', cycle });
  return { spec, deps, digest: digestOf(spec) };
}

/** The outputs another step may reference. */
export function outputNames(step: StepSpec): string[] {
  if ('run' in step) return Object.keys(step.outputs ?? {});
  return [...BUILTIN_OUTPUTS[step.uses.slice('sextant/'.length) as BuiltinStep]];
}

/** The first cycle found, as a path that ends where it starts (a -> b -> a). */
function findCycle(deps: Record<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'open');
    stack.push(n);
    for (const d of deps[n] ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of Object.keys(deps).sort()) {
    const c = visit(n);
    // Reported in execution order (a dependency before its dependant).
    if (c) return c.reverse();
  }
  return undefined;
}

/** A param value of the declared type; strings from the command line are converted. */
export function coerceParam(name: string, type: ParamType, value: unknown, field = `params.${name}`): unknown {
  const bad = () =>
    new ValidationError(`${field}: expected ${type}, got ${JSON.stringify(value)}`, { field });
  switch (type) {
    case 'string':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') throw bad();
      throw bad();
    case 'number':
    case 'integer': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw bad();
      if (type === 'integer' && !Number.isInteger(n)) throw bad();
      return n;
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true') return true;
      if (value === 'false') return false;
      throw bad();
  }
}

/** The run's params: given values coerced to their declared types, defaults filled in. */
export function resolveParams(spec: PipelineSpec, given: Record<string, unknown> = {}): Record<string, unknown> {
  const declared = spec.params ?? {};
  for (const k of Object.keys(given))
    if (!declared[k]) throw new ValidationError(`params.${k}: the pipeline declares no param '${k}'`, { field: `params.${k}` });
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(declared)) {
    const v = given[k] ?? p.default;
    if (v === undefined)
      throw new ValidationError(`params.${k}: required (no default)`, { field: `params.${k}` });
    out[k] = coerceParam(k, p.type, v);
  }
  return out;
}

/** Seconds or `90s` / `5m` / `2h` / `500ms` as milliseconds. */
export function durationMs(d: number | string | undefined, fallback: number): number {
  if (d === undefined) return fallback;
  if (typeof d === 'number') return d * 1000;
  const m = /^(\d+)(ms|s|m|h)$/.exec(d);
  if (!m) return fallback;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
}
