import { describe, expect, it } from 'vitest';
import { renderComplianceHtml } from './compliance-html.js';
import { type ComplianceReport, complianceReportSchema } from './compliance-report.schema.js';

const EVIL = '<script>alert("x")</script>';
const at = '2026-03-01T12:00:00.000Z';

/** A report with user text that tries to become markup wherever user text can land. */
function fullReport(): ComplianceReport {
  const measure = (metric: string, slice: string | null, feature: string | null = null) => ({
    metric,
    feature,
    slice,
    deployment: `dep ${EVIL}`,
    value: 0.8123456,
    status: 'warning',
    at,
    points: 4,
    alerts: 1,
    warnings: 2,
  });
  const event = {
    id: 'ae_1',
    model: 'credit',
    alias: 'champion',
    kind: 'promote' as const,
    fromVersion: null,
    toVersion: 3,
    actor: `alice${EVIL}`,
    at,
    reason: `because ${EVIL}`,
    requestId: 'prq_1',
    approvals: [{ actor: 'bob', role: 'approver', comment: `ok ${EVIL}`, at }],
    emergency: false,
  };
  return complianceReportSchema.parse({
    schemaVersion: 1,
    generatedAt: at,
    generatedBy: 'auditor',
    period: { from: '2026-01-01T00:00:00.000Z', to: at },
    model: {
      requested: 'credit@champion',
      ref: 'credit@3',
      id: 'mv_1',
      name: 'credit',
      version: 3,
      modelDescription: `Credit ${EVIL}`,
      description: null,
      sha256: 'a'.repeat(64),
      size: 1234,
      format: 'onnx',
      source: 'runs:/run_1/model',
      signature: {
        inputs: [{ name: EVIL, type: 'float32' }],
        outputs: [],
        task: 'classification',
        target: 'y',
        classes: [0, 1],
      },
      tags: { team: EVIL },
      card: { intended_use: `Decide ${EVIL}`, owners: 'risk team' },
      aliasesNow: ['champion'],
      createdAt: at,
      createdBy: 'alice',
    },
    data: {
      datasets: [
        {
          id: 'dsv_1',
          ref: 'credit-clean@2',
          dataset: 'credit-clean',
          number: 2,
          digest: 'd'.repeat(64),
          source: `warehouse://${EVIL}`,
          pii: true,
          license: `CC-BY ${EVIL}`,
          createdAt: at,
          createdBy: 'alice',
          files: [{ path: `${EVIL}.csv`, sha256: 'f'.repeat(64), size: 10 }],
          tables: [{ path: 'a.csv', format: 'csv', rowCount: 300 }],
          rowCount: 300,
          quality: [{ suite: EVIL, passed: false, total: 3, failed: 1, at, by: 'alice' }],
          upstream: [
            {
              id: 'dataset_version:dsv_0',
              kind: 'dataset_version',
              ref: 'raw@1',
              label: `dataset raw@1 ${EVIL}`,
              depth: 1,
              attributes: { source: EVIL },
            },
          ],
          upstreamEdges: [],
        },
      ],
    },
    training: {
      run: {
        id: 'run_1',
        name: EVIL,
        experimentId: '0',
        status: 'FINISHED',
        lifecycleStage: 'active',
        user: 'alice',
        startTime: at,
        endTime: at,
        gitCommit: 'c'.repeat(40),
        gitDirty: false,
        command: `train ${EVIL}`,
        params: { seed: '7', [EVIL]: EVIL },
        metrics: { val_auc: 0.9, [EVIL]: 1 },
        environment: {},
        tags: {},
      },
      seed: '7',
      codeCommit: 'c'.repeat(40),
      command: `train ${EVIL}`,
      environment: { node: 'v20', os: EVIL, source: 'run' },
      reproduction: {
        status: 'reproduced',
        runId: 'run_2',
        at,
        expectedSha256: 'a'.repeat(64),
        reproducedSha256: 'a'.repeat(64),
        ranNow: true,
        note: `same bytes ${EVIL}`,
      },
    },
    evaluation: {
      metrics: { val_auc: 0.9, val_iter_auc: 0.8 },
      offline: {
        status: 'evaluated',
        note: null,
        attributes: ['sex'],
        attributesFrom: 'card',
        data: {
          kind: 'validation_split',
          ref: 'loans@1',
          digest: 'd1g3st',
          splitSeed: 7,
          valFraction: 0.2,
          rows: 600,
        },
        task: 'classification',
        target: 'default',
        positiveClass: '1',
        metrics: { accuracy: 0.81, roc_auc: 0.86, f1: 0.5, log_loss: 0.4 },
        slices: [
          { attribute: 'sex', value: EVIL, rows: 290, metrics: { accuracy: 0.8, roc_auc: null } },
          { attribute: 'sex', value: 'male', rows: 310, metrics: { accuracy: 0.82, roc_auc: 0.87 } },
        ],
        fairness: [
          {
            attribute: 'sex',
            value: 'female',
            slice: 'sex=female',
            size: 290,
            restSize: 310,
            predictedPositiveRate: 0.1,
            positiveRate: 0.2,
            metrics: {
              DI: { value: 0.625, status: 'ok', fourFifths: true },
              AD: { value: null, status: 'insufficient_data', reason: EVIL },
            },
          },
        ],
        fairnessNotes: [],
      },
      slices: [measure('performance.accuracy', `sex=${EVIL}`)],
      fairness: [measure('fairness.dpl', 'sex=female')],
    },
    approvals: {
      requests: [
        {
          requestId: 'prq_1',
          alias: 'champion',
          kind: 'promote',
          status: 'executed',
          requestedBy: 'alice',
          reason: EVIL,
          createdAt: at,
          decidedAt: at,
          approvalsNeeded: 1,
          decisions: [{ actor: 'bob', role: 'approver', decision: 'approve', comment: EVIL, at }],
          openGates: [
            { gate: 'auc', type: 'metric', status: 'pass', message: EVIL, observed: { auc: EVIL } },
          ],
          executionGates: [{ gate: 'auc', type: 'metric', status: 'pass', message: 'ok' }],
        },
      ],
      moves: [event],
    },
    production: {
      aliasHistory: [event],
      deployments: [
        {
          id: 'dep_1',
          name: EVIL,
          ref: 'credit@champion',
          challenger: null,
          createdAt: at,
          createdBy: 'alice',
          deletedAt: null,
          predictions: 10,
          labelled: 4,
        },
      ],
      predictions: 10,
      labelled: 4,
      monitoring: [measure('drift.psi', null, EVIL)],
      alerts: [
        {
          id: 'alr_1',
          rule: EVIL,
          deployment: 'credit-api',
          metric: 'drift.psi',
          feature: EVIL,
          slice: null,
          severity: 'critical',
          state: 'resolved',
          condition: '> 0.2',
          value: 0.4,
          firedAt: at,
          acknowledgedAt: at,
          acknowledgedBy: 'bob',
          comment: EVIL,
          resolvedAt: at,
          action: 'retrain',
          actionOutcome: `done: ${EVIL}`,
        },
      ],
    },
    samples: [
      {
        predictionId: 'pred_1',
        servedAt: at,
        deployment: 'credit-api',
        alias: 'champion',
        inputs: { [EVIL]: EVIL, age: 40 },
        outputs: { label: EVIL },
        label: 1,
        traceGaps: [],
        tracedDatasets: ['credit-clean@2'],
        explanation: {
          method: 'linear',
          space: 'log_odds',
          baseValue: 0.1,
          output: 0.5,
          attributions: { [EVIL]: 0.3, age: 0.1 },
          exact: true,
          tolerance: 1e-9,
          backgroundSize: 100,
          samples: null,
          values: {},
        },
        explanationError: null,
      },
    ],
    audit: {
      ok: true,
      entries: 42,
      head: { seq: 42, hash: 'e'.repeat(64) },
      checkpoints: 1,
      witness: 42,
      problems: [],
      verifiedAt: at,
    },
    gaps: [{ link: 'upstream', ref: null, reason: EVIL }],
  });
}

/** The same model with nothing recorded after registration. */
function emptyReport(): ComplianceReport {
  const r = fullReport();
  return {
    ...r,
    model: { ...r.model, card: {} },
    data: { datasets: [] },
    training: {
      ...r.training,
      run: null,
      reproduction: {
        ...r.training.reproduction,
        status: 'not_checked',
        runId: null,
        ranNow: false,
        note: 'not checked: no reproduction is on record',
      },
    },
    evaluation: {
      metrics: {},
      offline: {
        status: 'not_evaluated',
        note: 'not evaluated: the training run recorded no validation split',
        attributes: [],
        attributesFrom: 'none',
        data: null,
        task: null,
        target: null,
        positiveClass: null,
        metrics: {},
        slices: [],
        fairness: [],
        fairnessNotes: [],
      },
      slices: [],
      fairness: [],
    },
    approvals: { requests: [], moves: [] },
    production: {
      aliasHistory: [],
      deployments: [],
      predictions: 0,
      labelled: 0,
      monitoring: [],
      alerts: [],
    },
    samples: [],
    audit: { ...r.audit, ok: false, problems: [{ kind: 'edited', seq: 3, message: `entry 3 ${EVIL}` }] },
    gaps: [],
  };
}

const SECTIONS = [
  '1. Model and purpose',
  '2. Training data',
  '3. Training run and reproducibility',
  '4. Evaluation and fairness',
  '5. Approvals',
  '6. Time in production',
  '7. Traced and explained predictions',
  '8. Audit chain',
];

describe('the compliance report as HTML', () => {
  for (const [name, make] of [
    ['full', fullReport],
    ['empty', emptyReport],
  ] as const) {
    it(`[${name}] user text never becomes markup: no script, no fetched resource, every value escaped`, () => {
      const html = renderComplianceHtml(make());
      expect(html).not.toMatch(/<script/i);
      expect(html).not.toMatch(/https?:\/\//i);
      expect(html).not.toMatch(/\b(src|href)\s*=|url\(|@import/i);
      expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
      // The only tags are the renderer's own.
      const tags = new Set([...html.matchAll(/<([a-z0-9]+)[\s>]/gi)].map((m) => m[1]!.toLowerCase()));
      for (const t of tags)
        expect([
          'html',
          'head',
          'meta',
          'title',
          'style',
          'body',
          'header',
          'h1',
          'h2',
          'h3',
          'p',
          'div',
          'b',
          'br',
          'code',
          'span',
          'section',
          'table',
          'tr',
          'th',
          'td',
        ]).toContain(t);
    });

    it(`[${name}] has every section, in order, each starting a new page when printed`, () => {
      const html = renderComplianceHtml(make());
      const found = [...html.matchAll(/<h2>([^<]+)<\/h2>/g)].map((m) => m[1]);
      expect(found).toEqual(SECTIONS);
      expect(html).toContain('section{break-before:page');
    });
  }

  it('says what is missing in words instead of leaving sections out', () => {
    const html = renderComplianceHtml(emptyReport());
    for (const words of [
      'Not documented in the model card.',
      'No training dataset versions are recorded for this model version.',
      'No training run is on record for this version.',
      'not checked: no reproduction is on record',
      'No evaluation metrics were registered with this version.',
      'No per-slice performance was measured in this period.',
      'No fairness results in this period.',
      'not evaluated: the training run recorded no validation split',
      'Not measured: the version was not evaluated.',
      'No promotion request was ever opened for this version.',
      'No alias of this model moved in this period.',
      'This model has no deployments.',
      'No monitoring results in this period.',
      'No alerts fired for this version in this period.',
      'No predictions by this version in this period.',
    ])
      expect(html).toContain(words);
    expect(html).toContain('audit chain verification FAILED: 1 problem(s)');
  });

  it('shows the evidence: digests, approvals, gates, alert outcomes, attributions and the audit head', () => {
    const html = renderComplianceHtml(fullReport());
    expect(html).toContain('d'.repeat(64));
    expect(html).toContain(`Audit head digest: <code>${'e'.repeat(64)}`);
    expect(html).toContain('yes: flagged as containing PII');
    expect(html).toContain('CC-BY &lt;script&gt;');
    expect(html).toContain('<span class="reproduced">reproduced</span> (re-run while making this report)');
    expect(html).toContain('{&quot;auc&quot;:&quot;&lt;script&gt;');
    expect(html).toContain('retrain → done: &lt;script&gt;');
    expect(html).toContain('linear SHAP in log odds space');
    expect(html).toContain('sex=&lt;script&gt;');
    // Offline evaluation: where the rows came from, per slice, and DI judged against four-fifths.
    expect(html).toContain('recomputed from its recorded split_seed 7 and val_fraction 0.2');
    expect(html).toContain("(the model card's protected_attributes)");
    expect(html).toContain('<td>sex</td><td>male</td><td>310</td><td>0.82</td><td>0.87</td>');
    expect(html).toContain('0.625 <span class="alert">below four-fifths (0.8)</span>');
    expect(html).toContain('<span class="insufficient_data" title="&lt;script&gt;');
    // Validation metrics only in the evaluation section (the iteration curve is training detail).
    expect(html.split('4. Evaluation')[1]).not.toContain('val_iter_auc');
  });
});
