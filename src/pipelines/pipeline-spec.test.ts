import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/errors.js';
import { parsePipelineYaml, resolveParams } from './pipeline-spec.js';

/** The ValidationError a spec is refused with (fails the test when it is accepted). */
function refusal(yaml: string): ValidationError {
  try {
    parsePipelineYaml(yaml);
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('the spec was accepted');
}

describe('pipeline spec', () => {
  it('joins data references to the DAG without needs:', () => {
    const { deps, digest } = parsePipelineYaml(`
name: p
steps:
  prep:
    run: echo "rows=3" >> $SEXTANT_OUTPUT
    outputs: { rows: {} }
  train:
    uses: sextant/train
    with: { dataset: d@latest, target: y, trainer: linear, note: "\${{ steps.prep.outputs.rows }}" }
  report: { needs: [train], run: echo done }
`);
    expect(deps).toEqual({ prep: [], train: ['prep'], report: ['train'] });
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('names a cycle by its path', () => {
    const e = refusal(`
name: p
steps:
  a: { needs: [c], run: echo a }
  b: { needs: [a], run: echo b }
  c: { needs: [b], run: echo c }
`);
    expect(e.message).toMatch(/cycle (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)/);
    expect(e.details?.field).toBe('steps');
  });

  it('names an unknown step in needs and in a reference', () => {
    expect(refusal('name: p\nsteps:\n  a: { needs: [zz], run: echo }\n').details?.field).toBe('steps.a.needs.0');
    const e = refusal('name: p\nsteps:\n  a: { run: "echo ${{ steps.nope.outputs.x }}" }\n');
    expect(e.message).toContain("no step 'nope'");
    expect(e.details?.field).toBe('steps.a.run');
  });

  it('names an unknown output of a step that exists', () => {
    const e = refusal(`
name: p
steps:
  a: { run: echo, outputs: { model: { file: m.bin } } }
  b: { run: "cat \${{ steps.a.outputs.modle }}" }
`);
    expect(e.message).toContain("step 'a' has no output 'modle' (it has: model)");
  });

  it('refuses an unknown built-in step, and a misspelt key, naming the step', () => {
    expect(refusal('name: p\nsteps:\n  t: { uses: sextant/trian }\n').details?.field).toBe('steps.t.uses');
    expect(refusal('name: p\nsteps:\n  t: { run: echo, timout: 5 }\n').message).toMatch(/^steps\.t/);
  });

  it('refuses a param of the wrong type, in a default and in a run', () => {
    expect(refusal('name: p\nparams:\n  n: { type: integer, default: "x" }\nsteps:\n  a: { run: echo }\n').details?.field).toBe(
      'params.n.default',
    );
    const { spec } = parsePipelineYaml('name: p\nparams:\n  n: { type: integer, default: 1 }\n  f: { type: boolean, default: false }\nsteps:\n  a: { run: echo }\n');
    expect(resolveParams(spec, { n: '4', f: 'true' })).toEqual({ n: 4, f: true });
    expect(() => resolveParams(spec, { n: '4.5' })).toThrow(/params\.n: expected integer/);
    expect(() => resolveParams(spec, { m: 1 })).toThrow(/params\.m/);
  });

  it('the digest changes with the content and only with it', () => {
    const a = parsePipelineYaml('name: p\nsteps:\n  a: { run: echo a }\n').digest;
    const again = parsePipelineYaml('name: p\nsteps:\n  a:\n    run: echo a\n').digest;
    const b = parsePipelineYaml('name: p\nsteps:\n  a: { run: echo b }\n').digest;
    expect(again).toBe(a);
    expect(b).not.toBe(a);
  });
});
