import fs from 'node:fs';
import path from 'node:path';
import { localPrincipal, type Role } from '../auth/index.js';
import { ValidationError } from '../core/errors.js';
import type { createDataQualityDomain } from '../data/quality/index.js';
import type { JobQueue } from '../jobs/index.js';
import {
  evaluateModel,
  type ParamRange,
  parseGrid,
  parseRanges,
  runSweep,
  type TrainSpec,
  trainModel,
} from '../ml/index.js';
import type {
  BuiltinStep,
  BuiltinStepRunner,
  PipelineDatasets,
  PipelineTracking,
} from '../pipelines/index.js';
import type { Actor, RegistryDomain } from '../registry/index.js';
import { type MlApiServices, servicesMlApi } from './ml-api.js';
import { jobTrialRunner } from './sweep-trials.js';

/*
 * The ports pipelines run on, served from the services: dataset refs and new versions (data), tracked
 * runs (tracking), and the built-in steps (data quality, ml, registry). Built here, in the wiring,
 * because pipelines sit above these domains and reach them only through what is passed in.
 */

export interface PipelinePortServices extends MlApiServices {
  dataQuality: ReturnType<typeof createDataQualityDomain>;
  registry: RegistryDomain;
  auth: { getUser(name: string): Promise<{ name: string; role: Role }> };
  /** Where `sextant/sweep` runs its trials, as `sweep.trial` jobs. */
  jobs: JobQueue;
}

const PIPELINES_EXPERIMENT = 'pipelines';

/** Dataset refs and new versions from a step's files. */
export function pipelineDatasets(s: PipelinePortServices): PipelineDatasets {
  return {
    async resolve(ref) {
      const v = await s.data.versions.resolve(ref);
      return { ref: `${v.dataset}@${v.number}`, id: v.id, digest: v.digest };
    },
    async addFile({ actor, name, file }) {
      const blob = await s.data.versions.putLocalFile({ localPath: file });
      const { version: v } = await s.data.versions.create({
        actor,
        dataset: name,
        files: [{ path: path.basename(file), size: blob.size, sha256: blob.sha256 }],
        source: 'pipeline',
      });
      return { ref: `${v.dataset}@${v.number}`, id: v.id, digest: v.digest };
    },
  };
}

/** Pipeline runs as tracked runs in the `pipelines` experiment; steps as child runs. */
export function pipelineTracking(s: PipelinePortServices): PipelineTracking {
  async function experimentId(actor: string): Promise<string> {
    const found = await s.experiments.findByName(PIPELINES_EXPERIMENT);
    if (found) return found.id;
    try {
      return (await s.experiments.create({ actor, name: PIPELINES_EXPERIMENT })).id;
    } catch {
      // Created by a concurrent run meanwhile.
      return (await s.experiments.getByName(PIPELINES_EXPERIMENT)).id;
    }
  }
  return {
    async startRun({ actor, name, parentRunId, tags, params }) {
      const run = await s.runs.create({
        actor,
        experimentId: await experimentId(actor),
        name,
        tags: { ...tags, ...(parentRunId ? { 'mlflow.parentRunId': parentRunId } : {}) },
      });
      const id = run.id;
      const list = Object.entries(params).map(([key, value]) => ({ key, value }));
      if (list.length) await s.runs.logBatch({ actor, runId: id, params: list });
      return id;
    },
    async experimentOf(runId) {
      return (await s.runs.get(runId)).experimentId;
    },
    async endRun({ actor, runId, status }) {
      await s.runs.update({ actor, runId, status, endTime: Date.now() });
    },
    async putArtifact({ actor, runId, path: p, content }) {
      await s.artifacts.put({ actor, runId, path: p, content });
    },
    async linkDatasets({ actor, runId, versionIds, direction }) {
      const datasets = [];
      for (const id of versionIds) {
        const v = await s.data.versions.findById(id);
        if (v)
          datasets.push({
            name: v.dataset,
            digest: v.digest,
            sourceType: 'sextant',
            source: `${v.dataset}@${v.number}`,
          });
      }
      if (datasets.length) await s.runs.logInputs({ actor, runId, datasets, direction });
    },
  };
}

const str = (w: Record<string, unknown>, k: string, step: BuiltinStep, required = true): string => {
  const v = w[k];
  if (v === undefined && !required) return '';
  if (typeof v !== 'string' && typeof v !== 'number')
    throw new ValidationError(`with.${k}: sextant/${step} needs ${k} (a string)`, { field: `with.${k}` });
  return String(v);
};

/** The built-in steps, each a call into the service that does that work. */
export function builtinSteps(s: PipelinePortServices): BuiltinStepRunner {
  async function actorOf(name: string): Promise<Actor> {
    if (name === localPrincipal.name) return { name, role: localPrincipal.role as Role };
    const u = await s.auth.getUser(name);
    return { name: u.name, role: u.role };
  }
  return {
    async run(step, { with: w, actor, runId, signal, log }) {
      switch (step) {
        case 'validate': {
          const suiteFile = str(w, 'suite', step);
          const r = await s.dataQuality.validate({
            actor,
            ref: str(w, 'dataset', step),
            suiteYaml: fs.readFileSync(suiteFile, 'utf8'),
          });
          await log(`validation ${r.passed ? 'passed' : 'failed'} (${r.id})`);
          if (!r.passed && w.failOnError !== false) throw new Error(`data validation failed (${r.id})`);
          return { passed: r.passed, report: r.id };
        }
        case 'train': {
          const spec: TrainSpec = {
            datasetRef: str(w, 'dataset', step),
            target: str(w, 'target', step),
            kind: str(w, 'trainer', step) as TrainSpec['kind'],
            ...(w.params && typeof w.params === 'object'
              ? { params: w.params as Record<string, string | number> }
              : {}),
            ...(typeof w.seed === 'number' ? { seed: w.seed } : {}),
          };
          const out = await trainModel(servicesMlApi(s, actor), spec, {
            ...(typeof w.experiment === 'string' ? { experiment: w.experiment } : {}),
            tags: runId ? { 'mlflow.parentRunId': runId } : {},
          });
          await log(`trained run ${out.runId} (${out.status})`);
          if (out.status !== 'FINISHED') throw new Error(`training run ${out.runId} ended ${out.status}`);
          return { run: out.runId, model: `runs:/${out.runId}/model`, metrics: out.metrics };
        }
        case 'evaluate': {
          const modelRef = str(w, 'model', step);
          const out = await evaluateModel(
            servicesMlApi(s, actor),
            {
              ...(modelRef.startsWith('run_') ? { runId: modelRef } : { modelRef }),
              datasetRef: str(w, 'dataset', step),
            },
            { resolve: (ref: string) => s.registry.versions.resolve(ref) },
          );
          return { metrics: out.metrics ?? {}, run: runId ?? '' };
        }
        case 'register': {
          const v = await s.registry.versions.registerFromRun({
            actor: await actorOf(actor),
            model: str(w, 'model', step),
            runId: str(w, 'run', step),
          });
          await log(`registered ${v.model}@${v.version}`);
          return { model: v.model, version: v.version };
        }
        case 'promote': {
          const r = await s.registry.promotions.open({
            actor: await actorOf(actor),
            ref: str(w, 'version', step),
            alias: str(w, 'alias', step),
            ...(typeof w.reason === 'string' ? { reason: w.reason } : {}),
          });
          await log(`promotion request ${r.id}: ${r.status}`);
          return { request: r.id, status: r.status };
        }
        case 'sweep':
          return sweepStep(s, { with: w, actor, runId, signal, log });
      }
    },
  };
}

/** The objective each task ranks trials by; `with.metric` picks the task where the data could be either. */
const SWEEP_METRICS = { val_roc_auc: 'classification', val_rmse: 'regression' } as const;

/**
 * `sextant/sweep`: the sweep service with its trials as `sweep.trial` jobs, so they spread over every
 * worker like `sextant sweep` on a workspace; this process works the queue too (up to `parallel`), so a
 * laptop with no worker still runs it. Answers the sweep run, the best trial's run, metrics and model.
 */
async function sweepStep(
  s: PipelinePortServices,
  i: {
    with: Record<string, unknown>;
    actor: string;
    runId: string | null;
    signal: AbortSignal;
    log: (line: string) => Promise<void>;
  },
): Promise<Record<string, unknown>> {
  const w = i.with;
  const step: BuiltinStep = 'sweep';
  const bad = (k: string, why: string) => new ValidationError(`with.${k}: ${why}`, { field: `with.${k}` });
  const grid = w.grid === undefined ? undefined : sweepGrid(w.grid, bad);
  const random = w.random === undefined ? undefined : sweepRandom(w.random, bad);
  if (!grid === !random) throw bad('grid', 'sextant/sweep needs either grid or random (not both)');
  const metric = w.metric === undefined ? undefined : String(w.metric);
  if (metric !== undefined && !(metric in SWEEP_METRICS))
    throw bad('metric', `must be one of ${Object.keys(SWEEP_METRICS).join(', ')}, got '${metric}'`);
  for (const k of ['parallel', 'seed'] as const)
    if (w[k] !== undefined && typeof w[k] !== 'number') throw bad(k, 'must be a number');
  if (
    w.params !== undefined &&
    (typeof w.params !== 'object' || w.params === null || Array.isArray(w.params))
  )
    throw bad('params', 'must be a map of param -> value');
  const api = servicesMlApi(s, i.actor);
  const out = await runSweep(
    api,
    {
      base: {
        datasetRef: str(w, 'dataset', step),
        target: str(w, 'target', step),
        kind: str(w, 'trainer', step) as TrainSpec['kind'],
        ...(metric ? { task: SWEEP_METRICS[metric as keyof typeof SWEEP_METRICS] } : {}),
        ...(w.params ? { params: w.params as Record<string, string | number> } : {}),
        ...(typeof w.seed === 'number' ? { seed: w.seed } : {}),
      },
      ...(grid ? { grid } : {}),
      ...(random ? { random } : {}),
      ...(typeof w.parallel === 'number' ? { parallel: w.parallel } : {}),
      earlyStop: w.earlyStop === 'median' ? 'median' : 'none',
    },
    {
      ...(typeof w.experiment === 'string' ? { experiment: w.experiment } : {}),
      tags: i.runId ? { 'mlflow.parentRunId': i.runId } : {},
      trials: jobTrialRunner(s.jobs, { actor: i.actor }),
      signal: i.signal,
      onTrial: (t) => {
        void i.log(`trial ${t.trial} ${t.status}${t.objective !== undefined ? ` ${t.objective}` : ''}`);
      },
    },
  );
  if (!out.best?.runId)
    throw new Error(`sweep ${out.parentRunId}: no trial finished with a score (${out.trials.length} trials)`);
  const best = await s.runs.get(out.best.runId);
  const metrics = Object.fromEntries(best.metrics.map((m) => [m.key, Number(m.value)]));
  await i.log(
    `sweep ${out.parentRunId}: best trial run ${best.id} ${out.objective.metric} ${out.best.objective}`,
  );
  return {
    run: out.parentRunId,
    best: best.id,
    metric: out.objective.metric,
    metrics,
    model: `runs:/${best.id}/model`,
  };
}

/** `grid: {k: [v1, v2]}` or `{k: "v1,v2"}`, the YAML form of `--grid k=v1,v2`. */
function sweepGrid(
  v: unknown,
  bad: (k: string, why: string) => ValidationError,
): Record<string, string[]> | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad('grid', 'must be a map of param -> values');
  const pairs = Object.entries(v).map(([k, values]) => {
    if (!Array.isArray(values) && typeof values !== 'string' && typeof values !== 'number')
      throw bad(`grid.${k}`, 'must be a list of values');
    return `${k}=${Array.isArray(values) ? values.join(',') : String(values)}`;
  });
  try {
    return parseGrid(pairs);
  } catch (err) {
    throw bad('grid', (err as Error).message);
  }
}

/** `random: {trials: 4, ranges: {k: "lo:hi[:log]"}}`, the YAML form of `--random N --param-range`. */
function sweepRandom(
  v: unknown,
  bad: (k: string, why: string) => ValidationError,
): { trials: number; ranges: Record<string, ParamRange> } {
  const r = v as { trials?: unknown; ranges?: unknown };
  if (
    !r ||
    typeof r !== 'object' ||
    typeof r.trials !== 'number' ||
    !Number.isInteger(r.trials) ||
    r.trials < 1
  )
    throw bad('random.trials', 'must be a whole number of trials');
  if (!r.ranges || typeof r.ranges !== 'object' || Array.isArray(r.ranges))
    throw bad('random.ranges', 'must be a map of param -> "lo:hi[:log]"');
  try {
    return {
      trials: r.trials,
      ranges: parseRanges(Object.entries(r.ranges).map(([k, range]) => `${k}=${String(range)}`)),
    };
  } catch (err) {
    throw bad('random.ranges', (err as Error).message);
  }
}
