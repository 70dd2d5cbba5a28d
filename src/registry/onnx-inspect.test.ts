import { describe, expect, it } from 'vitest';
import { constantOfShapeBomb, tinyOnnxModel } from '../../test/e2e/registry-fixtures.js';
import { inspectOnnx } from './onnx-inspect.js';
import { openOnnxInSandbox } from './onnx-sandbox.js';

describe('opening untrusted ONNX models', () => {
  it('reads the inputs and outputs of a valid model', async () => {
    expect(await inspectOnnx(tinyOnnxModel(), 'file')).toEqual({
      inputs: [{ name: 'features', type: 'float32', shape: ['N', 3] }],
      outputs: [{ name: 'score', type: 'float32', shape: ['N', 1] }],
    });
  });

  it.runIf(process.platform === 'linux')(
    'refuses a 200-byte model that would allocate a gigabyte while opening, naming the cap',
    async () => {
      const bomb = constantOfShapeBomb(16000);
      expect(bomb.length).toBeLessThan(256);
      await expect(inspectOnnx(bomb, 'file')).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringMatching(/^file: the model needs more than 512 MiB of memory to open/),
        details: { field: 'file', limitMiB: 512 },
      });
      // The same shape, small, is an ordinary model.
      expect((await inspectOnnx(constantOfShapeBomb(16), 'file')).outputs).toEqual([
        { name: 'out', type: 'float32', shape: [16, 16] },
      ]);
    },
    60_000,
  );

  it('refuses what onnxruntime cannot parse, and a model that takes too long', async () => {
    await expect(inspectOnnx(Buffer.from('not a model at all'), 'file')).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/^file: not a valid ONNX model/),
    });
    expect(await openOnnxInSandbox(constantOfShapeBomb(16000), { timeoutMs: 1 })).toEqual({
      kind: 'timed-out',
      afterMs: 1,
    });
  });
});
