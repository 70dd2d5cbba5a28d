import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Services } from '../../src/app/index.js';
import { modelsLocalApi } from '../../src/cli/local/models.js';
import { createLocalApi } from '../../src/cli/local-api.js';
import { CREDIT_TARGET, generateCreditData, trainModel, writeCreditCsv } from '../../src/ml/index.js';
import type { ModelVersion } from '../../src/registry/index.js';
import { uniq } from './helpers.js';

/*
 * The lineage a prediction trace follows, built the way a team builds it: raw data added with its
 * source, a cleaned version derived from it and checked by a quality suite, a linear model trained on
 * it (a tracked run with its commit and command), registered, and promoted to champion by one user
 * with a second user's approval. Small on purpose (300 rows) so both backends build it quickly.
 */

export const GIT_COMMIT = '0123456789abcdef0123456789abcdef01234567';
const SUITE =
  'name: basic\nexpectations:\n  - not_null: { column: age }\n  - row_count: { min: 100 }\n  - between: { column: age, min: 18, max: 100 }\n';

export interface Chain {
  model: string;
  raw: string;
  credit: string;
  datasetVersionId: string;
  /** Editor who trains and requests promotions; approver who approves them. */
  editor: string;
  approver: string;
  /** Records to send to the model (the target left out). */
  records: Record<string, unknown>[];
  train(seed: number): Promise<{ runId: string; version: ModelVersion }>;
  /** Opens a promotion to champion as the editor and approves it as the approver. */
  promote(version: number, reason: string): Promise<void>;
  cleanup(): void;
}

/** Builds data -> quality -> (train -> register) on a workspace's services; train/promote as the test needs. */
export async function buildChain(s: Services): Promise<Chain> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-chain-'));
  const api = createLocalApi(s);
  const editor = uniq('alice');
  const approver = uniq('bob');
  await api.users.create({ name: editor, role: 'editor' });
  await api.users.create({ name: approver, role: 'approver' });
  const raw = uniq('raw-credit');
  const credit = uniq('credit');
  const model = uniq('credit-model');

  const file = path.join(dir, 'credit.csv');
  writeCreditCsv(file, { rows: 300, seed: 7 });
  const size = fs.statSync(file).size;
  await api.data.add({
    dataset: raw,
    files: [{ path: 'credit.csv', localPath: file, size }],
    source: 'https://data.example.org/raw-credit.csv',
  });
  const added = await api.data.add({
    dataset: credit,
    files: [{ path: 'credit.csv', localPath: file, size }],
    source: 'warehouse://credit/clean',
    parents: [`${raw}@1`],
  });
  await s.dataQuality.validate({ actor: editor, ref: `${credit}@1`, suiteYaml: SUITE });

  const records = generateCreditData({ rows: 3, seed: 99 }).rows.map((r) => {
    const { [CREDIT_TARGET]: _target, ...features } = r;
    return features;
  });

  return {
    model,
    raw,
    credit,
    datasetVersionId: added.version.id,
    editor,
    approver,
    records,
    async train(seed) {
      const trained = await trainModel(
        api,
        { datasetRef: `${credit}@1`, target: CREDIT_TARGET, kind: 'linear', seed },
        {
          gitCommit: GIT_COMMIT,
          command: `sextant train -d ${credit}@1 --target defaulted -m linear --seed ${seed}`,
        },
      );
      const version = await s.registry.versions.registerFromRun({
        actor: { name: editor, role: 'editor' },
        model,
        runId: trained.runId,
      });
      return { runId: trained.runId, version };
    },
    async promote(version, reason) {
      const request = await modelsLocalApi(s, editor).promote({
        ref: `${model}@${version}`,
        alias: 'champion',
        reason,
      });
      const done = await modelsLocalApi(s, approver).approve(request.id, 'reviewed the metrics and the data');
      if (done.status !== 'executed') throw new Error(`promotion of ${model}@${version} is ${done.status}`);
    },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
