import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { auditVerifyResultSchema } from '../../src/audit/audit.schema.js';
import { loadConfig } from '../../src/core/config.js';
import { complianceReportSchema } from '../../src/governance/index.js';
import { writeCreditCsv } from '../../src/ml/index.js';
import { insertPoints } from '../../src/monitoring/metric-point.repo.js';
import { buildApp } from '../../src/server/app.js';
import { cli } from '../support/cli.js';
import { findChromium } from '../web/web-browser.js';
import { uniq } from './helpers.js';
import { buildChain, type Chain, GIT_COMMIT } from './serving-chain.js';

/*
 * The compliance report of a real lifecycle, through the real CLI on SQLite, locally and against a
 * server: data (raw -> cleaned, quality suite) -> tracked training run -> register -> promotion with
 * a second user's approval -> deployment -> predictions with delayed labels -> an alert acknowledged.
 * The document must name the exact data (version + digest), the run, the approvers, the alias
 * history, and the audit head digest that `sextant audit verify` reports.
 */

const summarySchema = z.object({
  file: z.string(),
  format: z.enum(['html', 'pdf']),
  bytes: z.number(),
  model: z.string(),
  auditOk: z.boolean(),
  auditHead: z.object({ seq: z.number(), hash: z.string() }).nullable(),
  reproduction: z.string(),
  evaluation: z.enum(['evaluated', 'not_evaluated']),
});

const evaluateOutSchema = z.object({
  rows: z.number(),
  metrics: z.record(z.string(), z.number().nullable()),
  slices: z.object({
    column: z.string(),
    values: z.array(
      z.object({
        slice: z.string(),
        count: z.number(),
        metrics: z.record(z.string(), z.number().nullable()),
      }),
    ),
  }),
});

describe('sextant report compliance', () => {
  let dir: string;
  let ws: Workspace;
  let app: FastifyInstance;
  let chain: Chain;
  let runId: string;
  let digest: string;
  let deployment: string;
  let local: Record<string, string>;
  let remote: Record<string, string>;
  const predictions: string[] = [];
  const out = (name: string) => path.join(dir, name);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-compliance-'));
    const home = path.join(dir, 'home');
    ws = await openWorkspace(loadConfig({ SEXTANT_HOME: home }));
    chain = await buildChain(ws);
    runId = (await chain.train(1)).runId;
    await chain.promote(1, 'first model, AUC above the bar');
    await ws.registry.versions.update({
      actor: { name: chain.editor, role: 'editor' },
      model: chain.model,
      version: 1,
      card: { intended_use: 'Rank <b>credit</b> applications for manual review' },
    });
    digest = (await ws.data.versions.get(chain.datasetVersionId)).digest;
    deployment = uniq('credit-api');
    const dep = await ws.serving.deployments.create({
      actor: 'local',
      name: deployment,
      model: `${chain.model}@champion`,
    });
    const rt = await ws.serving.openRuntime({ actor: 'local', deployment });
    for (const record of chain.records) {
      const { items } = await rt.predict(record);
      predictions.push(items[0]!.prediction_id);
    }
    await rt.close();
    await ws.serving.feedback.submit({
      actor: 'local',
      items: [{ prediction_id: predictions[0]!, label: 1 }],
    });
    const mv = await ws.registry.versions.resolve(`${chain.model}@1`);
    const { fired } = await ws.alerts.evaluateRun(
      {
        id: uniq('mon'),
        deploymentId: dep.id,
        alerts: [{ name: 'psi-high', metric: 'drift.psi', condition: { op: '>', threshold: 0.2 } }],
      },
      [
        {
          monitorId: uniq('mon'),
          runId: uniq('run'),
          deploymentId: dep.id,
          modelVersionId: mv.id,
          metric: 'drift.psi',
          feature: 'income',
          slice: null,
          windowStart: Date.now() - 3_600_000,
          windowEnd: Date.now(),
          value: 0.42,
          status: 'alert',
          details: {},
        },
      ],
    );
    // What a monitor run on labelled traffic writes: performance and fairness per group, drift per feature.
    const now = Date.now();
    const point = (
      metric: string,
      slice: string | null,
      feature: string | null,
      value: number,
      status: string,
    ) => ({
      id: uniq('mpt'),
      run_id: uniq('mrun'),
      monitor_id: 'mon_credit',
      deployment_id: dep.id,
      model_version_id: mv.id,
      model: chain.model,
      model_version: 1,
      metric,
      feature,
      slice,
      // The latest window, after the version's registration (the report's default period starts there).
      window_start: now - 1_000,
      window_end: now,
      value,
      status,
      details: '{}',
      created_at: now,
    });
    await insertPoints({
      tx: ws.store.db,
      rows: [
        point('performance.accuracy', 'sex=female', null, 0.81, 'ok'),
        point('performance.accuracy', 'sex=male', null, 0.64, 'warning'),
        point('fairness.disparate_impact', 'sex=female', null, 0.92, 'ok'),
        point('drift.psi', null, 'income', 0.42, 'alert'),
      ],
    });
    await ws.alerts.acknowledge({
      actor: chain.approver,
      id: fired[0]!.id,
      comment: 'retraining on fresh data',
    });

    app = await buildApp(ws);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    local = { SEXTANT_HOME: home };
    remote = { SEXTANT_HOME: path.join(dir, 'client'), SEXTANT_URL: url };
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await ws?.serving.close();
    await ws?.webhooks.close();
    await ws?.close();
    chain?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const transport of ['local', 'remote'] as const) {
    it(`[${transport}] the HTML names the data, run, approvers, alias history and the audit head`, async () => {
      const env = transport === 'local' ? local : remote;
      const file = out(`report-${transport}.html`);
      const made = await cli(
        env,
        '--json',
        'report',
        'compliance',
        `${chain.model}@champion`,
        '--html',
        file,
      );
      expect(made.code, made.err).toBe(0);
      const summary = summarySchema.parse(JSON.parse(made.out));
      expect(summary).toMatchObject({ format: 'html', model: `${chain.model}@1`, auditOk: true });

      const verify = await cli(env, '--json', 'audit', 'verify');
      expect(verify.code, verify.err).toBe(0);
      const chainHead = auditVerifyResultSchema.parse(JSON.parse(verify.out)).head;
      expect(chainHead).not.toBeNull();
      expect(summary.auditHead).toEqual(chainHead);

      const html = fs.readFileSync(file, 'utf8');
      expect(html).toContain(`Compliance report: ${chain.model}@1`);
      expect(html).toContain(chainHead!.hash);
      // The exact training data: version, digest, source, lineage to the raw dataset, quality suite.
      expect(html).toContain(`Dataset ${chain.credit}@1`);
      expect(html).toContain(digest);
      expect(html).toContain('warehouse://credit/clean');
      expect(html).toContain(`${chain.raw}@1`);
      expect(html).toContain('basic');
      // The run, its commit and seed; approvals and alias history.
      expect(html).toContain(runId);
      expect(html).toContain(GIT_COMMIT);
      expect(html).toContain(chain.approver);
      expect(html).toContain(chain.editor);
      expect(html).toContain('reviewed the metrics and the data');
      expect(html).toMatch(/champion<\/td><td>promote<\/td>/);
      // Card text is escaped, never markup.
      expect(html).toContain('Rank &lt;b&gt;credit&lt;/b&gt; applications');
      // Production: traffic, the acknowledged alert and what was done about it; traced predictions.
      expect(html).toContain(deployment);
      expect(html).toContain('psi-high');
      expect(html).toContain('retraining on fresh data');
      expect(html).toContain(predictions[0]!);
      expect(html).toContain('linear SHAP');
      expect(html).toContain('not checked: no reproduction');
      expect(html).toContain('sex=female');
      expect(html).toContain('fairness.disparate_impact');
      expect(html).not.toContain('No monitoring results in this period.');
      expect(html).not.toMatch(/<script|https?:\/\/(?!data\.example\.org)/i);
    });
  }

  it('the JSON over HTTP is the contract, and the route renders the same document', async () => {
    const url = `/api/v1/models/${chain.model}/versions/champion/compliance-report`;
    const json = await app.inject({ method: 'GET', url });
    expect(json.statusCode, json.body).toBe(200);
    const r = complianceReportSchema.parse(json.json());
    expect(r.data.datasets.map((d) => [d.ref, d.digest])).toEqual([[`${chain.credit}@1`, digest]]);
    expect(r.training.run?.id).toBe(runId);
    expect(r.training.seed).toBe('1');
    expect(r.approvals.requests[0]?.decisions.map((d) => d.actor)).toEqual([chain.approver]);
    expect(r.production.predictions).toBe(chain.records.length);
    expect(r.production.labelled).toBe(1);
    expect(r.samples).toHaveLength(chain.records.length);
    expect(r.evaluation.slices.map((m) => [m.slice, m.value, m.status])).toEqual([
      ['sex=female', 0.81, 'ok'],
      ['sex=male', 0.64, 'warning'],
    ]);
    expect(r.evaluation.fairness.map((m) => [m.metric, m.slice])).toEqual([
      ['fairness.disparate_impact', 'sex=female'],
    ]);
    // No protected attribute on the card and no slices asked for: evaluated on the validation split,
    // and the document says which option adds the slices.
    expect(r.evaluation.offline).toMatchObject({
      status: 'evaluated',
      attributes: [],
      attributesFrom: 'none',
      data: { kind: 'validation_split', digest, splitSeed: 1, valFraction: 0.2, rows: 60 },
      slices: [],
      fairness: [],
    });
    expect(r.evaluation.offline.note).toMatch(/--slices/);
    expect(r.production.monitoring).toMatchObject([
      { metric: 'drift.psi', feature: 'income', deployment, alerts: 1, points: 1 },
    ]);
    const before = await app.inject({ method: 'GET', url: `${url}?to=2000-01-01T00:00Z` });
    expect(before.statusCode).toBe(400);
    expect(before.json().error.details.field).toBe('from');
    expect(r.samples.every((s) => s.explanation !== null && s.traceGaps.length === 0)).toBe(true);

    const html = await app.inject({ method: 'GET', url: `${url}?format=html` });
    expect(html.statusCode).toBe(200);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.headers['content-security-policy']).toContain("default-src 'none'");
    expect(html.body).toContain(digest);
    const bad = await app.inject({ method: 'GET', url: `${url}?from=yesterday` });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.field).toContain('from');
    const missing = await app.inject({
      method: 'GET',
      url: `/api/v1/models/${chain.model}/versions/nosuch/compliance-report`,
    });
    expect(missing.statusCode).toBe(404);
  });

  it('--slices and --holdout (API slices=, holdout=): per slice the numbers of `sextant evaluate --slice`, fairness per group', async () => {
    const holdout = uniq('credit-holdout');
    const folder = out(holdout);
    fs.mkdirSync(folder);
    writeCreditCsv(path.join(folder, 'holdout.csv'), { rows: 400, seed: 21 });
    expect((await cli(local, 'data', 'add', folder, '--dataset', holdout)).code).toBe(0);
    const file = out('holdout.html');
    const made = await cli(
      remote,
      '--json',
      'report',
      'compliance',
      `${chain.model}@1`,
      '--html',
      file,
      '--slices',
      'sex, home_ownership',
      '--holdout',
      `${holdout}@1`,
    );
    expect(made.code, made.err).toBe(0);
    expect(summarySchema.parse(JSON.parse(made.out)).evaluation).toBe('evaluated');

    const url = `/api/v1/models/${chain.model}/versions/1/compliance-report?slices=sex,home_ownership&holdout=${holdout}@1`;
    const res = await app.inject({ method: 'GET', url });
    expect(res.statusCode, res.body).toBe(200);
    const off = complianceReportSchema.parse(res.json()).evaluation.offline;
    expect(off).toMatchObject({
      status: 'evaluated',
      attributes: ['sex', 'home_ownership'],
      attributesFrom: 'option',
      data: { kind: 'holdout', ref: `${holdout}@1`, rows: 400, splitSeed: null },
    });
    for (const attribute of ['sex', 'home_ownership']) {
      const evaluated = await cli(
        local,
        '--json',
        'evaluate',
        `${chain.model}@1`,
        '--dataset',
        `${holdout}@1`,
        '--slice',
        attribute,
      );
      expect(evaluated.code, evaluated.err).toBe(0);
      const expected = evaluateOutSchema.parse(JSON.parse(evaluated.out));
      expect(off.metrics).toEqual(expected.metrics);
      expect(
        off.slices
          .filter((s) => s.attribute === attribute)
          .map((s) => ({ slice: s.value, count: s.rows, metrics: s.metrics })),
      ).toEqual(expected.slices.values);
    }
    // Fairness per group of each attribute, DI with its four-fifths verdict.
    expect(
      off.fairness
        .filter((g) => g.attribute === 'sex')
        .map((g) => g.value)
        .sort(),
    ).toEqual(['female', 'male']);
    for (const g of off.fairness.filter((x) => x.metrics.DI?.status === 'ok'))
      expect(g.metrics.DI!.fourFifths).toBe(g.metrics.DI!.value! < 0.8);
    const html = fs.readFileSync(file, 'utf8');
    expect(html).toContain(`the holdout <code>${holdout}@1</code>`);
    expect(html).toContain('DI (disparate impact)');
    expect(html).toContain('(asked for with --slices)');

    const unknown = await app.inject({ method: 'GET', url: `${url.split('?')[0]}?slices=nosuch` });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.message).toMatch(/nosuch/);
  }, 60_000);

  it('refuses bad input with one line and the usage / not-found exit codes', async () => {
    const ref = `${chain.model}@1`;
    const cases: [string[], number, RegExp][] = [
      [
        ['report', 'compliance', ref, '--html', out('a.html'), '--pdf', out('a.pdf')],
        2,
        /exactly one of --html/,
      ],
      [['report', 'compliance', ref], 2, /exactly one of --html/],
      [
        ['report', 'compliance', ref, '--html', out('b.html'), '--from', 'last week'],
        2,
        /--from: expected an ISO-8601/,
      ],
      [
        ['report', 'compliance', chain.model, '--html', out('c.html')],
        2,
        /expected <model>@<version or alias>/,
      ],
      [['report', 'compliance', `${chain.model}@99`, '--html', out('d.html')], 3, /99/],
      [['report', 'compliance', ref, '--html', out('g.html'), '--slices', ' , '], 2, /--slices/],
      [['report', 'compliance', ref, '--html', out('g.html'), '--slices', 'nosuch'], 2, /nosuch/],
      [['report', 'compliance', ref, '--html', out('g.html'), '--holdout', 'credit'], 2, /--holdout/],
      [['report', 'compliance', ref, '--html', out('g.html'), '--holdout', 'nosuch@1'], 3, /nosuch/],
      [['report', 'compliance', `${chain.model}@nosuch`, '--html', out('e.html')], 3, /nosuch/],
      [['report', 'compliance', `${uniq('nomodel')}@1`, '--html', out('f.html')], 3, /nomodel/],
    ];
    for (const [argv, code, message] of cases) {
      const r = await cli(local, ...argv);
      expect(r.code, `${argv.join(' ')}: ${r.err}`).toBe(code);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    expect(fs.existsSync(out('d.html'))).toBe(false);
  });

  it('--reproduce re-trains the version first; the document says it reproduced byte for byte, and later reports show the recorded result', async () => {
    const file = out('reproduced.html');
    const made = await cli(
      local,
      '--json',
      'report',
      'compliance',
      `${chain.model}@1`,
      '--html',
      file,
      '--reproduce',
    );
    expect(made.code, made.err).toBe(0);
    expect(JSON.parse(made.out)).toMatchObject({ reproduction: 'reproduced', reproducedNow: true });
    const html = fs.readFileSync(file, 'utf8');
    expect(html).toContain('<span class="reproduced">reproduced</span> (re-run while making this report)');
    expect(html).toContain('byte for byte the same model');

    const later = await cli(
      remote,
      '--json',
      'report',
      'compliance',
      `${chain.model}@champion`,
      '--html',
      out('later.html'),
    );
    expect(JSON.parse(later.out)).toMatchObject({ reproduction: 'reproduced' });
    expect(fs.readFileSync(out('later.html'), 'utf8')).not.toContain('re-run while making this report');
  }, 120_000);

  const chromium = findChromium();
  it.skipIf(!chromium)(
    '--pdf prints the document with headless chromium, over --url too',
    async () => {
      for (const [name, env] of [
        ['local', local],
        ['remote', remote],
      ] as const) {
        const file = out(`report-${name}.pdf`);
        const made = await cli(
          { ...env, SEXTANT_CHROMIUM: chromium! },
          'report',
          'compliance',
          `${chain.model}@1`,
          '--pdf',
          file,
        );
        expect(made.code, made.err).toBe(0);
        const pdf = fs.readFileSync(file);
        expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
        // One page per section at least (print CSS breaks before each of the eight).
        const pages = pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? [];
        expect(pages.length).toBeGreaterThanOrEqual(8);
      }
      const missing = await cli(
        { ...local, SEXTANT_CHROMIUM: out('no-such-chromium') },
        'report',
        'compliance',
        `${chain.model}@1`,
        '--pdf',
        out('never.pdf'),
      );
      expect(missing.code).toBe(8);
      expect(missing.err).toMatch(/SEXTANT_CHROMIUM/);
      expect(fs.existsSync(out('never.pdf'))).toBe(false);
    },
    120_000,
  );
});
