// biome-ignore-all lint/suspicious/noTemplateCurlyInString: pipeline expressions are written in the ${{ }} syntax on purpose
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BUILTIN_STEPS, parsePipelineYaml } from '../../src/pipelines/index.js';

/*
 * The continuous-training template checks as a pipeline spec and its DAG is the CT story in order:
 * validate -> train -> register -> evaluate both on one holdout -> gates -> challenger -> shadow ->
 * compare -> promote. Its built-in steps are ones the engine has.
 */

const TEMPLATE = new URL('../../examples/pipelines/continuous-training.yaml', import.meta.url);

/** Every step that must finish before `step` starts (transitively). */
function upstream(deps: Record<string, string[]>, step: string, seen = new Set<string>()): Set<string> {
  for (const d of deps[step] ?? []) if (!seen.has(d)) upstream(deps, d, seen.add(d));
  return seen;
}

describe('examples/pipelines/continuous-training.yaml', () => {
  const checked = parsePipelineYaml(fs.readFileSync(TEMPLATE, 'utf8'));

  it('is a valid pipeline whose built-in steps the engine knows', () => {
    expect(checked.spec.name).toBe('continuous-training');
    for (const [name, step] of Object.entries(checked.spec.steps))
      if ('uses' in step) expect(BUILTIN_STEPS, name).toContain(step.uses.replace('sextant/', ''));
    expect(checked.spec.params?.dataset).toMatchObject({ type: 'string' });
    expect(checked.spec.params?.dataset?.default).toBeUndefined();
  });

  it('orders the CT story: nothing is promoted before the gates, the shadow and the comparison', () => {
    const d = checked.deps;
    expect(upstream(d, 'train')).toEqual(new Set(['validate']));
    expect([...upstream(d, 'gates')].sort()).toEqual(
      ['evaluate-challenger', 'evaluate-champion', 'register', 'train', 'validate'].sort(),
    );
    // Both sides are scored on the same holdout param.
    const holdouts = ['evaluate-challenger', 'evaluate-champion'].map((s) => {
      const step = checked.spec.steps[s]!;
      return 'uses' in step ? step.with?.dataset : undefined;
    });
    expect(holdouts).toEqual(['${{ params.holdout }}', '${{ params.holdout }}']);
    for (const later of ['challenger', 'shadow', 'compare', 'promote'])
      expect(upstream(d, later).has('gates'), later).toBe(true);
    expect([...upstream(d, 'promote')]).toEqual(expect.arrayContaining(['shadow', 'compare']));
  });
});
