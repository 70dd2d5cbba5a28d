import fs from 'node:fs';
import path from 'node:path';
import { localPrincipal, type Role } from '../auth/index.js';
import { ValidationError } from '../core/errors.js';
import type { createDataQualityDomain } from '../data/quality/index.js';
import { evaluateModel, trainModel, type TrainSpec } from '../ml/index.js';
import type { BuiltinStep, BuiltinStepRunner, PipelineDatasets, PipelineTracking } from '../pipelines/index.js';
import type { Actor, RegistryDomain } from '../registry/index.js';
import { type MlApiServices, servicesMlApi } from './ml-api.js';

/*
 * The ports pipelines run on, served from the services: dataset refs and new versions (data), tracked
 * runs (tracking), and the built-in steps (data quality, ml, registry). Built here, in the wiring,
 * because pipelines sit above these domains and reach them only through what is passed in.
 */

export interface PipelinePortServices extends MlApiServices {
  dataQuality: ReturnType<typeof createDataQualityDomain>;
  registry: RegistryDomain;
  auth: { getUser(name: string): Promise<{ name: string; role: Role }> };
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
        if (v) datasets.push({ name: v.dataset, digest: v.digest, sourceType: 'sextant', source: `${v.dataset}@${v.number}` });
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
    async run(step, { with: w, actor, runId, log }) {
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
            ...(w.params && typeof w.params === 'object' ? { params: w.params as Record<string, string | number> } : {}),
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
          const out = await evaluateModel(servicesMlApi(s, actor), {
            ...(modelRef.startsWith('run_') ? { runId: modelRef } : { modelRef }),
            datasetRef: str(w, 'dataset', step),
          }, { resolve: (ref: string) => s.registry.versions.resolve(ref) });
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
          throw new ValidationError('uses: sextant/sweep is not available as a pipeline step yet; run `sextant sweep` in a run: step', {
            field: 'uses',
          });
      }
    },
  };
}
