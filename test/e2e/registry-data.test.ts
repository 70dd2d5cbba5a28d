import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Actor } from '../../src/registry/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { uniq } from './helpers.js';
import { tinyOnnxModel } from './registry-fixtures.js';

const TRAIN = [
  'id,age,income',
  ...Array.from({ length: 120 }, (_, i) => `${i + 1},${20 + (i % 50)},${1000 + i}`),
].join('\n');
const PASSING = 'name: basic\nexpectations:\n  - not_null: { column: id }\n  - row_count: { min: 100 }\n';
const FAILING = 'name: strict\nexpectations:\n  - between: { column: age, min: 30, max: 40 }\n';
const editor: Actor = { name: 'dana', role: 'editor' };

describeEachBackend(
  'registry gates read the data: training dataset versions, their source and quality',
  (getStore) => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(getStore());
    });
    afterAll(async () => {
      await t.services.webhooks.close();
      await t.close();
    });

    /** A dataset version, and a run that read it and logged a model. */
    async function trainedOn(source: string | undefined) {
      const dataset = uniq('credit');
      const blob = await t.services.blobs.put(TRAIN);
      const { version } = await t.services.data.versions.create({
        actor: editor.name,
        dataset,
        files: [{ path: 'train.csv', size: blob.size, sha256: blob.sha256 }],
        ...(source ? { source } : {}),
      });
      const exp = await t.services.experiments.create({ actor: editor.name, name: uniq('exp') });
      const run = await t.services.runs.create({ actor: editor.name, experimentId: exp.id });
      await t.services.runs.logInputs({
        actor: editor.name,
        runId: run.id,
        datasets: [{ name: `${dataset}@1`, digest: version.digest, datasetVersionId: version.id }],
      });
      await t.services.artifacts.put({
        actor: editor.name,
        runId: run.id,
        path: 'model/model.onnx',
        content: tinyOnnxModel(),
      });
      return { dataset, version, runId: run.id };
    }

    it('a version records its training dataset versions; quality and documentation gates read them', async () => {
      const { dataset, version, runId } = await trainedOn('https://data.example.org/credit-2025.csv');
      const model = uniq('credit-model');
      const v = await t.services.registry.versions.registerFromRun({ actor: editor, model, runId });
      expect(v.datasetVersionIds).toEqual([version.id]);
      await t.services.registry.policies.set({
        actor: { name: 'root', role: 'admin' },
        model,
        yaml: 'gates:\n  - data_quality: passed\n  - documentation: [dataset.source]\n',
      });

      const before = await t.services.registry.promotions.open({
        actor: editor,
        ref: `${model}@1`,
        alias: 'challenger',
      });
      expect(before.openGates.map((g) => [g.type, g.status])).toEqual([
        ['data_quality', 'no_data'],
        ['documentation', 'pass'],
      ]);
      // The message names the dataset version by its ref and says what to run.
      expect(before.openGates[0]?.message).toBe(
        `${dataset}@1 has no quality results: run sextant data validate ${dataset}@1 --suite <suite.yaml>`,
      );

      await t.services.dataQuality.validate({ actor: editor.name, ref: `${dataset}@1`, suiteYaml: FAILING });
      const failing = await t.services.registry.promotions.open({
        actor: editor,
        ref: `${model}@1`,
        alias: 'challenger',
      });
      expect(failing.openGates[0]).toMatchObject({ status: 'fail' });
      expect(failing.openGates[0]?.message).toContain(`${dataset}@1: suite 'strict' failed`);

      await t.services.dataQuality.validate({ actor: editor.name, ref: `${dataset}@1`, suiteYaml: PASSING });
      await t.services.dataQuality.validate({
        actor: editor.name,
        ref: `${dataset}@1`,
        suiteYaml: FAILING.replace('min: 30, max: 40', 'min: 18, max: 99'),
      });
      const passing = await t.services.registry.promotions.open({
        actor: editor,
        ref: `${model}@1`,
        alias: 'challenger',
      });
      expect(passing.openGates.map((g) => g.status)).toEqual(['pass', 'pass']);
      expect(passing.status).toBe('pending');

      const card = await t.services.registry.cards.render(`${model}@1`, 'markdown');
      expect(card.content).toContain(
        `| ${dataset}@1 | ${version.digest.slice(0, 16)} | https://data.example.org/credit-2025.csv |`,
      );
    });

    it('the documentation gate fails when a training dataset version has no source', async () => {
      const { runId, dataset } = await trainedOn(undefined);
      const model = uniq('undocumented');
      await t.services.registry.versions.registerFromRun({ actor: editor, model, runId });
      await t.services.registry.policies.set({
        actor: { name: 'root', role: 'admin' },
        model,
        yaml: 'gates:\n  - documentation: [dataset.source]\n',
      });
      const r = await t.services.registry.promotions.open({
        actor: editor,
        ref: `${model}@1`,
        alias: 'champion',
      });
      expect(r.status).toBe('blocked');
      expect(r.openGates[0]?.message).toBe(`missing: dataset.source of ${dataset}@1`);
    });
  },
);
