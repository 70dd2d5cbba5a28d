import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelVersionFixture, tinyOnnxModel } from '../../../test/e2e/registry-fixtures.js';
import { describeEachBackend } from '../../../test/support/backends.js';
import { createAuditLog } from '../../audit/index.js';
import { type BlobStore, createBlobStore } from '../../blobs/index.js';
import { systemClock } from '../../core/clock.js';
import { NotFoundError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hashing.js';
import { createDataDomain, type DataDomain } from '../../data/index.js';
import { CREDIT_TARGET, creditDataToCsv, fitModel, generateCreditData } from '../../ml/index.js';
import type { ModelVersion } from '../../registry/index.js';
import type { Prediction } from '../../serving/serving.schema.js';
import { sampleRows } from './background.js';
import { createExplainer, type ExplainerDeps } from './explainer.service.js';

/*
 * The background sample drawn from a version's training data (a dataset version in the store), and
 * explainPrediction: a logged prediction -> its model version's file -> the explanation of its inputs.
 */

const credit = generateCreditData({ rows: 300, seed: 4 });
const features = ['age', 'income', 'debt_ratio', 'purpose'];

describe('sampleRows', () => {
  it('draws distinct rows in order, the same for the same seed, all of them when the table is small', () => {
    const a = sampleRows(1000, 100, 7);
    expect(a).toHaveLength(100);
    expect(new Set(a).size).toBe(100);
    expect([...a].sort((x, y) => x - y)).toEqual(a);
    expect(sampleRows(1000, 100, 7)).toEqual(a);
    expect(sampleRows(1000, 100, 8)).not.toEqual(a);
    expect(sampleRows(5, 100, 7)).toEqual([0, 1, 2, 3, 4]);
  });
});

describeEachBackend('explanations from the training data', (getStore) => {
  let home: string;
  let blobs: BlobStore;
  let data: DataDomain;
  let deps: ExplainerDeps;
  let version: ModelVersion;
  let bytes: Uint8Array;
  const predictions = new Map<string, Prediction>();

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-explain-'));
    const store = getStore();
    blobs = createBlobStore(`file:${path.join(home, 'blobs')}`);
    const audit = createAuditLog({
      db: store.db,
      dialect: store.dialect,
      clock: systemClock,
      key: 'test-audit-key-0123456789',
    });
    const base = { db: store.db, dialect: store.dialect, audit, clock: systemClock, blobs };
    data = createDataDomain(base);
    const csv = await blobs.put(creditDataToCsv(credit));
    const { version: ds } = await data.versions.create({
      actor: 'tester',
      dataset: 'credit',
      files: [
        { path: 'README.md', size: 5, sha256: (await blobs.put('hello')).sha256 },
        { path: 'credit.csv', size: csv.size, sha256: csv.sha256 },
      ],
    });
    const model = fitModel({
      table: {
        rowCount: credit.rows.length,
        columns: credit.columns.map((c) => ({
          name: c.name,
          type: c.type,
          values: credit.rows.map((r) => r[c.name]!),
        })),
      },
      target: CREDIT_TARGET,
      features,
      task: 'classification',
      kind: 'gbdt',
      seed: 1,
      params: { n_estimators: 10, max_depth: 3 },
    });
    bytes = model.toOnnx();
    version = modelVersionFixture({
      id: 'mv_01jexplain0000000000000000',
      model: 'credit-risk',
      version: 3,
      source: 'run',
      sha256: sha256Hex(bytes),
      size: bytes.length,
      datasetVersionIds: [ds.id],
      aliases: ['champion'],
    });
    predictions.set('pred_01jexplain000000000000000', {
      id: 'pred_01jexplain000000000000000',
      deploymentId: 'dep_x',
      modelVersionId: version.id,
      model: version.model,
      version: version.version,
      alias: 'champion',
      role: 'champion',
      servedAt: new Date(0).toISOString(),
      requestKey: null,
      inputs: { age: 41, income: 52000, debt_ratio: 0.4, purpose: 'car' },
      outputs: { prediction: 0 },
      status: 'ok',
      error: null,
      latencyMs: 1,
      shadow: null,
      label: null,
    });
    // The registry's and the prediction log's read side, as governance sees them.
    deps = {
      ...base,
      datasetVersions: data.versions,
      predictions: {
        get: async (id) => {
          const p = predictions.get(id);
          if (!p) throw new NotFoundError('prediction', id);
          return p;
        },
      },
      // The model is a built-in one: explanations are exact and never open a scorer.
      openScorer: async () => {
        throw new Error('an exact explanation opened a scorer');
      },
      registry: {
        versions: {
          resolve: async () => version,
          download: async () => ({ version, stream: Readable.from([Buffer.from(bytes)]) }),
        },
        aliases: { at: async () => [], history: async () => [] },
        promotions: {
          get: async (id) => {
            throw new NotFoundError('promotion request', id);
          },
        },
      },
    };
  });
  afterAll(async () => {
    await blobs?.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('samples 100 rows of the training table, seeded, and explains against them', async () => {
    const explainer = createExplainer(deps);
    const records = credit.rows.slice(0, 2);
    const [a, b] = await explainer.explainRecords({ version, bytes, records });
    expect(a).toMatchObject({ method: 'tree', space: 'log_odds', backgroundSize: 100, exact: true });
    expect(Object.keys(a!.attributions)).toEqual(features);
    // The base value is the mean margin over exactly the seeded sample of the table's rows.
    const rows = sampleRows(credit.rows.length, 100, 0).map((i) => credit.rows[i]!);
    const [viaExplicit] = await explainer.explainRecords({ version, bytes, records, background: rows });
    expect(a!.baseValue).toBeCloseTo(viaExplicit!.baseValue, 12);
    expect(a!.attributions).toEqual(viaExplicit!.attributions);
    expect(b!.output).not.toBe(a!.output);
    // A smaller sample, another seed: another background.
    const [small] = await explainer.explainRecords({ version, bytes, records, backgroundSize: 20, seed: 9 });
    expect(small!.backgroundSize).toBe(20);
    expect(small!.baseValue).not.toBe(a!.baseValue);
  });

  it('a training table lacking a feature is a ValidationError asking for a background', async () => {
    const explainer = createExplainer(deps);
    const tiny = tinyOnnxModel();
    const foreign = { ...version, id: 'mv_01jexplain0000000000000001', sha256: sha256Hex(tiny) };
    const call = explainer.explainRecords({
      version: foreign,
      bytes: tiny,
      records: [{ f0: 1, f1: 2, f2: 3 }],
    });
    await expect(call).rejects.toMatchObject({ details: { field: 'background' } });
    await expect(call).rejects.toThrow(
      /credit@1 .* holds the model's features \(f0, f1, f2\); pass background records/,
    );
  });

  it('without the bytes, the file is read from the registry; a batch is explained in chunks', async () => {
    const explainer = createExplainer(deps);
    const records = credit.rows.slice(0, 70);
    const all = await explainer.explainRecords({ version, records });
    expect(all).toHaveLength(70);
    const [last] = await explainer.explainRecords({ version, bytes, records: [records[69]!] });
    expect(all[69]).toEqual(last);
    const stale = { ...version, id: 'mv_01jexplain0000000000000002' };
    await expect(explainer.explainRecords({ version: stale, records })).rejects.toThrow(
      /no longer the model version/,
    );
  });

  it('explainPrediction explains a logged prediction with its model version', async () => {
    const explainer = createExplainer(deps);
    const { prediction, explanation } = await explainer.explainPrediction('pred_01jexplain000000000000000');
    expect(prediction.id).toBe('pred_01jexplain000000000000000');
    expect(explanation).toMatchObject({ method: 'tree', backgroundSize: 100, features: prediction.inputs });
    const total = explanation.baseValue + Object.values(explanation.attributions).reduce((s, v) => s + v, 0);
    expect(Math.abs(total - explanation.output)).toBeLessThan(1e-9);
    const [direct] = await explainer.explainRecords({ version, bytes, records: [prediction.inputs] });
    expect(explanation).toEqual(direct);
    await expect(explainer.explainPrediction('pred_01jnope0000000000000000000')).rejects.toThrow(
      NotFoundError,
    );
  });
});
