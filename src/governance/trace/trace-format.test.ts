import { describe, expect, it } from 'vitest';
import type { PredictionTrace } from './trace.schema.js';
import { formatTrace } from './trace-format.js';

const sha = (c: string) => c.repeat(64);

function makeTrace(overrides: Partial<PredictionTrace> = {}): PredictionTrace {
  return {
    prediction: {
      id: 'pred_01jabc',
      deploymentId: 'dep_01j',
      modelVersionId: 'mv_3',
      model: 'credit',
      version: 3,
      alias: 'champion',
      role: 'champion',
      servedAt: '2026-03-02T10:00:00.000Z',
      requestKey: null,
      inputs: { age: 41, income: 52000 },
      outputs: { prediction: 1, probabilities: { '0': 0.25, '1': 0.75 } },
      status: 'ok',
      error: null,
      latencyMs: 1.5,
      shadow: null,
      label: { value: 0, receivedAt: '2026-03-09T10:00:00.000Z' },
    },
    deployment: { id: 'dep_01j', name: 'credit-api', model: 'credit', ref: 'champion' },
    modelVersion: {
      id: 'mv_3',
      ref: 'credit@3',
      model: 'credit',
      version: 3,
      sha256: sha('a'),
      size: 1200,
      format: 'onnx',
      source: 'runs:/run_1/model',
      signature: {
        inputs: [{ name: 'age', type: 'float' }],
        outputs: [{ name: 'label', type: 'int64' }],
        task: 'classification',
        target: 'defaulted',
        classes: [0, 1],
      },
      codeCommit: 'abc123',
      command: 'sextant train',
      params: { model: 'linear' },
      metrics: { val_roc_auc: 0.81 },
      environment: { node: 'v20.1.0', source: 'run' },
      aliasesNow: [],
      createdAt: '2026-03-01T09:00:00.000Z',
      createdBy: 'alice',
    },
    alias: {
      name: 'champion',
      at: '2026-03-02T10:00:00.000Z',
      holder: 3,
      servedByHolder: true,
      servedUnder: true,
      since: {
        id: 'ale_1',
        model: 'credit',
        alias: 'champion',
        kind: 'promote',
        fromVersion: 2,
        toVersion: 3,
        actor: 'bob',
        at: '2026-03-01T12:00:00.000Z',
        reason: 'better AUC',
        requestId: 'prq_1',
        approvals: [{ actor: 'bob', role: 'approver', comment: null, at: '2026-03-01T11:59:00.000Z' }],
        emergency: false,
      },
      request: {
        id: 'prq_1',
        requestedBy: 'alice',
        reason: 'better AUC',
        createdAt: '2026-03-01T11:00:00.000Z',
        status: 'executed',
      },
    },
    run: {
      id: 'run_1',
      name: 'brisk-otter',
      experimentId: '0',
      status: 'FINISHED',
      lifecycleStage: 'active',
      user: 'alice',
      startTime: '2026-03-01T08:00:00.000Z',
      endTime: '2026-03-01T08:01:00.000Z',
      gitCommit: 'abc123',
      gitDirty: true,
      command: 'sextant train -d credit@2',
      params: { model: 'linear', l2: '1' },
      metrics: { val_roc_auc: 0.81, val_loss: 'NaN' },
      environment: { node: 'v20.1.0' },
      tags: {},
    },
    datasets: [
      {
        id: 'dsv_2',
        ref: 'credit@2',
        dataset: 'credit',
        number: 2,
        digest: sha('d'),
        source: 's3://bucket/credit.csv',
        pii: true,
        createdAt: '2026-02-01T00:00:00.000Z',
        createdBy: 'carol',
        files: [{ path: 'credit.csv', sha256: sha('f'), size: 100 }],
        tables: [{ path: 'credit.csv', format: 'csv', rowCount: 300 }],
        rowCount: 300,
        quality: [
          { suite: 'basic', passed: true, total: 3, failed: 0, at: '2026-02-02T00:00:00.000Z', by: 'carol' },
          {
            suite: 'ranges',
            passed: false,
            total: 2,
            failed: 1,
            at: '2026-02-02T00:00:00.000Z',
            by: 'carol',
          },
        ],
        upstream: [
          {
            id: 'run:run_0',
            kind: 'run',
            ref: 'run_0',
            label: 'run clean-data FINISHED',
            depth: 1,
            attributes: {},
          },
          {
            id: 'dataset_version:dsv_1',
            kind: 'dataset_version',
            ref: 'raw-credit@1',
            label: 'dataset raw-credit@1 (ddddeeee)',
            depth: 2,
            attributes: {},
          },
        ],
        upstreamEdges: [],
      },
    ],
    gaps: [],
    ...overrides,
  };
}

describe('formatTrace', () => {
  it('reads as one chain: alias holder then, promoter and approver, run, data with quality, upstream', () => {
    const text = formatTrace(makeTrace());
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      'prediction pred_01jabc at 2026-03-02T10:00:00.000Z -> credit@3 (champion since 2026-03-01T12:00:00.000Z, promoted by alice, approved by bob)',
    );
    expect(text).toContain('output      1 (0=0.25, 1=0.75)');
    expect(text).toContain('label       0 (received 2026-03-09T10:00:00.000Z)');
    expect(text).toContain('promote 2 -> 3 by bob at 2026-03-01T12:00:00.000Z: better AUC');
    expect(text).toContain('request     prq_1 by alice at 2026-03-01T11:00:00.000Z: better AUC');
    expect(text).toContain('approved by bob (approver)');
    expect(text).toContain('code        abc123 (dirty)');
    expect(text).toContain('metrics     val_roc_auc=0.81, val_loss=NaN');
    expect(text).toContain(
      `-> dataset credit@2 sha256:dddddddddddd (quality: 4/5 passed (basic passed, ranges FAILED))`,
    );
    expect(text).toContain('rows        300 (personal data)');
    const run0 = lines.findIndex((l) => l.includes('<- run clean-data'));
    const raw = lines.findIndex((l) => l.includes('<- dataset raw-credit@1'));
    expect(run0).toBeGreaterThan(0);
    expect(raw).toBeGreaterThan(run0);
    expect(lines[raw]!.indexOf('<-')).toBeGreaterThan(lines[run0]!.indexOf('<-'));
  });

  it('says when the served version did not hold the alias then', () => {
    const base = makeTrace();
    const text = formatTrace({ ...base, alias: { ...base.alias!, holder: 2, servedByHolder: false } });
    expect(text.split('\n')[0]).toContain(
      '-> credit@3 (served under champion, held by credit@2 at that moment)',
    );
  });

  it('says when a pinned deployment served a version that held an alias then', () => {
    const base = makeTrace();
    const text = formatTrace({
      ...base,
      prediction: { ...base.prediction, alias: null },
      alias: { ...base.alias!, servedUnder: false },
    });
    expect(text.split('\n')[0]).toContain(
      '-> credit@3 (pinned; held champion since 2026-03-01T12:00:00.000Z, promoted by alice, approved by bob)',
    );
    expect(text).toContain('(the deployment pinned the version)');
  });

  it('names each missing link instead of failing', () => {
    const text = formatTrace(
      makeTrace({
        modelVersion: null,
        alias: null,
        run: null,
        datasets: [],
        gaps: [
          { link: 'model_version', ref: 'credit@3', reason: "model version 'credit@3' not found" },
          { link: 'run', ref: 'run_1', reason: "run 'run_1' not found" },
          { link: 'dataset_version', ref: 'dsv_9', reason: "dataset version 'dsv_9' not found" },
        ],
      }),
    );
    expect(text).toContain("(missing: model version 'credit@3' not found)");
    expect(text).toContain("-> run (missing: run 'run_1' not found)");
    expect(text).toContain("-> dataset dsv_9 (missing: dataset version 'dsv_9' not found)");
    expect(text.match(/dsv_9/g)).toHaveLength(2);
  });
});
