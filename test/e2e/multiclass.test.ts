import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { loadConfig } from '../../src/core/config.js';
import { explanationSchema } from '../../src/governance/explain/explanation.schema.js';
import { creditDataToCsv, generateParcelData, PARCEL_CLASSES } from '../../src/ml/index.js';
import { buildApp } from '../../src/server/app.js';
import { type CliResult, cli } from '../support/cli.js';
import { uniq } from './helpers.js';

/*
 * A three-class model through the CLI as a user types it: data add -> train (linear softmax and
 * GBDT) -> evaluate (multiclass metrics, per slice) -> register -> deploy -> predict over HTTP
 * (label + every class's probability) -> feedback (a known class, and one the model never saw:
 * refused, exit 2, nothing stored) -> explain the predicted class and every class (additive).
 */

const json = <T>(r: CliResult): T => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.err}`);
  return JSON.parse(r.out) as T;
};

interface TrainJson {
  runId: string;
  metrics: Record<string, number>;
}

describe('multiclass models end to end', () => {
  let home: string;
  let ws: Workspace;
  let app: FastifyInstance;
  let local: Record<string, string>;
  let remote: Record<string, string>;
  const runs: Record<string, string> = {};

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-multiclass-'));
    local = { SEXTANT_HOME: home };
    ws = await openWorkspace(loadConfig(local));
    app = await buildApp(ws);
    remote = { SEXTANT_HOME: home, SEXTANT_URL: await app.listen({ host: '127.0.0.1', port: 0 }) };
    const dir = path.join(home, 'parcels');
    fs.mkdirSync(dir);
    fs.writeFileSync(
      path.join(dir, 'parcels.csv'),
      creditDataToCsv(generateParcelData({ rows: 1200, seed: 11 })),
    );
    const added = await cli(local, 'data', 'add', dir, '-d', 'parcels');
    expect(added.code, added.err).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await ws?.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('train: both trainers learn three classes and log multiclass metrics', async () => {
    for (const kind of ['linear', 'gbdt']) {
      const trained = json<TrainJson>(
        await cli(
          kind === 'gbdt' ? remote : local,
          '--json',
          'train',
          '-d',
          'parcels@1',
          '--target',
          'service',
          '-m',
          kind,
          ...(kind === 'gbdt' ? ['--param', 'n_estimators=40'] : []),
        ),
      );
      expect(trained.metrics.val_accuracy).toBeGreaterThan(0.8);
      expect(trained.metrics.val_f1_macro).toBeGreaterThan(0.7);
      expect(trained.metrics['val_recall.freight']).toBeGreaterThan(0.5);
      expect(trained.metrics.val_log_loss).toBeLessThan(0.7);
      expect(trained.metrics).not.toHaveProperty('val_roc_auc');
      runs[kind] = trained.runId;
    }
    const report = await cli(local, 'runs', 'show', runs.gbdt!);
    expect(report.code, report.err).toBe(0);
  });

  it('sweep: multiclass trials are ranked by validation accuracy', async () => {
    const sweep = json<{
      best: { trial: number };
      trials: { trial: number; runId: string; objective: number }[];
    }>(
      await cli(
        local,
        '--json',
        'sweep',
        '-d',
        'parcels@1',
        '--target',
        'service',
        '-m',
        'gbdt',
        '--grid',
        'max_depth=1,4',
        '-p',
        'n_estimators=15',
      ),
    );
    expect(sweep.trials).toHaveLength(2);
    const best = sweep.trials.reduce((a, b) => (b.objective > a.objective ? b : a));
    expect(sweep.best.trial).toBe(best.trial);
    const run = JSON.parse((await cli(local, '--json', 'runs', 'show', best.runId)).out) as {
      metrics: { key: string; value: number }[];
    };
    expect(run.metrics.find((m) => m.key === 'val_accuracy')!.value).toBe(best.objective);
    expect(run.metrics.some((m) => m.key === 'val_iter_accuracy')).toBe(true);
  });

  it('evaluate: per-class table, confusion matrix and slices', async () => {
    const r = json<{
      metrics: Record<string, number>;
      details: { classes: string[]; confusion: number[][]; perClass: { class: string; recall: number }[] };
      slices: { values: { slice: string; metrics: Record<string, number> }[] };
    }>(await cli(local, '--json', 'evaluate', '--run', runs.gbdt!, '-d', 'parcels@1', '--slice', 'region'));
    expect(r.details.classes).toEqual([...PARCEL_CLASSES]);
    expect(r.details.confusion.flat().reduce((a, b) => a + b, 0)).toBe(1200);
    expect(r.metrics.accuracy).toBeGreaterThan(0.8);
    expect(r.metrics.f1_micro).toBeCloseTo(r.metrics.accuracy!, 12);
    expect(r.slices.values.map((s) => s.slice)).toEqual(['east', 'north', 'south', 'west']);
    const text = await cli(local, 'evaluate', '--run', runs.gbdt!, '-d', 'parcels@1');
    expect(text.out).toMatch(/CLASS\s+SUPPORT\s+PRECISION\s+RECALL\s+F1/);
    expect(text.out).toMatch(/ACTUAL \\ PREDICTED\s+express\s+freight\s+standard/);
  });

  it('register, serve, predict, feedback (an unseen class is refused, nothing stored) and explain per class', async () => {
    const model = uniq('parcel-router');
    for (const kind of ['linear', 'gbdt']) {
      const reg = await cli(local, 'models', 'register', model, '--run', runs[kind]!);
      expect(reg.code, reg.err).toBe(0);
    }
    for (const [version, kind] of [
      ['1', 'linear'],
      ['2', 'gbdt'],
    ] as const) {
      const deployment = uniq(`parcels-${kind}`);
      const created = await cli(local, 'deployments', 'create', deployment, '--model', `${model}@${version}`);
      expect(created.code, created.err).toBe(0);
      const res = await fetch(`${remote.SEXTANT_URL}/api/v1/deployments/${deployment}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          dataframe_records: [
            { weight: 35, distance: 900, urgency: 0, region: 'south' },
            { weight: 1.5, distance: 50, urgency: 4, region: 'north' },
            { weight: 8, distance: 200, urgency: 1, region: 'east' },
          ],
        }),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      const body = (await res.json()) as {
        predictions: { prediction_id: string; prediction: string; probabilities: Record<string, number> }[];
      };
      const [heavy, urgent] = body.predictions as [
        (typeof body.predictions)[0],
        (typeof body.predictions)[0],
      ];
      expect(heavy.prediction).toBe('freight');
      expect(urgent.prediction).toBe('express');
      expect(Object.keys(heavy.probabilities).sort()).toEqual([...PARCEL_CLASSES]);
      const sum = Object.values(heavy.probabilities).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 5);

      const ok = await cli(local, 'feedback', heavy.prediction_id, 'freight');
      expect(ok.code, ok.err).toBe(0);
      expect(ok.out).toContain('recorded 1, duplicate 0, failed 0');
      const unseen = await cli(remote, 'feedback', urgent.prediction_id, 'drone');
      expect(unseen.code).toBe(2);
      expect(unseen.err).toMatch(/'drone' is not one of the model's classes \(express, freight, standard\)/);
      const http = await fetch(`${remote.SEXTANT_URL}/api/v1/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prediction_id: urgent.prediction_id, label: 'drone' }),
      });
      expect(http.status).toBe(400);
      expect(((await http.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');
      const shown = json<{ label?: unknown }>(
        await cli(local, '--json', 'predictions', 'show', urgent.prediction_id),
      );
      expect(shown.label ?? null).toBeNull();
      // Once refused, the right label is still accepted.
      expect((await cli(local, 'feedback', urgent.prediction_id, 'express')).code).toBe(0);

      const explained = json<{ explanation: unknown }>(
        await cli(remote, '--json', 'explain', heavy.prediction_id, '--all-classes'),
      );
      const e = explanationSchema.parse(explained.explanation);
      expect(e.method).toBe(kind === 'gbdt' ? 'tree' : 'linear');
      expect(e.space).toBe('margin');
      expect(e.class).toBe('freight');
      expect(Object.keys(e.perClass!)).toEqual([...PARCEL_CLASSES]);
      const margins: Record<string, number> = {};
      for (const [cls, c] of Object.entries(e.perClass!)) {
        const total = c.baseValue + Object.values(c.attributions).reduce((a, b) => a + b, 0);
        expect(Math.abs(total - c.output)).toBeLessThan(1e-9 * Math.max(1, Math.abs(c.output)));
        margins[cls] = c.output;
      }
      // Softmax of the explained margins is the served probabilities.
      const exps = PARCEL_CLASSES.map((c) => Math.exp(margins[c]!));
      const s = exps.reduce((a, b) => a + b, 0);
      for (const [k, c] of PARCEL_CLASSES.entries())
        expect(exps[k]! / s).toBeCloseTo(heavy.probabilities[c]!, 5);
      expect(e.attributions).toEqual(e.perClass!.freight!.attributions);

      const text = await cli(local, 'explain', urgent.prediction_id);
      expect(text.code, text.err).toBe(0);
      expect(text.out).toMatch(/class\s+express \(the predicted class\)/);
      expect(text.out).not.toMatch(/\(base value\)/);
      const kernel = await cli(local, 'explain', urgent.prediction_id, '--kernel');
      expect(kernel.code).toBe(2);
      expect(kernel.err).toMatch(/multiclass model is explained per class/);
      const all = await cli(local, 'explain', urgent.prediction_id, '--all-classes');
      expect(all.out).toMatch(/FEATURE\s+EXPRESS\s+FREIGHT\s+STANDARD/);
    }
  }, 120_000);

  it('integer classes stay integers: --task classification, served labels and probabilities keyed 0, 1, 2', async () => {
    const dir = path.join(home, 'grades');
    fs.mkdirSync(dir);
    fs.writeFileSync(
      path.join(dir, 'grades.csv'),
      creditDataToCsv(generateParcelData({ rows: 600, seed: 12, integerLabels: true })),
    );
    expect((await cli(local, 'data', 'add', dir, '-d', 'grades')).code).toBe(0);
    // Integers with three values are a regression target unless told otherwise.
    const trained = json<TrainJson>(
      await cli(
        local,
        '--json',
        'train',
        '-d',
        'grades@1',
        '--target',
        'service',
        '-m',
        'gbdt',
        '--task',
        'classification',
        '--param',
        'n_estimators=20',
      ),
    );
    expect(trained.metrics.val_accuracy).toBeGreaterThan(0.8);
    expect(trained.metrics).toHaveProperty(['val_recall.0']);
    const model = uniq('grader');
    expect((await cli(local, 'models', 'register', model, '--run', trained.runId)).code).toBe(0);
    const deployment = uniq('grades');
    expect((await cli(local, 'deployments', 'create', deployment, '--model', `${model}@1`)).code).toBe(0);
    const res = await fetch(`${remote.SEXTANT_URL}/api/v1/deployments/${deployment}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        dataframe_records: [{ weight: 35, distance: 900, urgency: 0, region: 'south' }],
      }),
    });
    const body = (await res.json()) as {
      predictions: { prediction_id: string; prediction: unknown; probabilities: Record<string, number> }[];
    };
    const [p] = body.predictions;
    expect(p!.prediction).toBe(1);
    expect(Object.keys(p!.probabilities)).toEqual(['0', '1', '2']);
    const unseen = await cli(local, 'feedback', p!.prediction_id, '3');
    expect(unseen.code).toBe(2);
    expect(unseen.err).toMatch(/'3' is not one of the model's classes \(0, 1, 2\)/);
    expect((await cli(local, 'feedback', p!.prediction_id, '1')).out).toContain('recorded 1');
  }, 60_000);
});
