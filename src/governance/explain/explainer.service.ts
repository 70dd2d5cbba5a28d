import type { Readable } from 'node:stream';
import { ConflictError, IntegrityError, ValidationError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hashing.js';
import {
  classInternals,
  encodeForCore,
  internalsClassCount,
  type ModelInternals,
  readModelInternals,
} from '../../ml/index.js';
import type { ModelVersion } from '../../registry/index.js';
import type { Prediction } from '../../serving/serving.schema.js';
import type { GovernanceDeps, Scorer } from '../governance-deps.js';
import { createBackgroundSource } from './background.js';
import type { Explanation, ExplanationSpace } from './explanation.schema.js';
import { kernelShap } from './kernel-shap.js';
import { linearShap, type ShapResult } from './linear-shap.js';
import { treeShap } from './tree-shap.js';

export interface ExplainRecordsInput {
  version: ModelVersion;
  /**
   * The version's ONNX file. Optional: without it the file is read once from the registry
   * (deps.registry) when the version's internals are not cached yet, or a scorer must be opened.
   */
  bytes?: Uint8Array;
  records: Record<string, unknown>[];
  /** Scores hybrids for KernelSHAP; without one, deps.openScorer opens the bytes (and releases them after). */
  scorer?: Scorer;
  /** auto: exact linear / TreeSHAP for models Sextant trained, KernelSHAP otherwise. */
  method?: 'auto' | 'kernel';
  /** KernelSHAP coalition budget (default 2M + 2048; all coalitions when 2^M - 2 fits). */
  samples?: number;
  /** Background records; default: a seeded sample of the version's training data. */
  background?: Record<string, unknown>[];
  /** Rows of the default background sample (100). */
  backgroundSize?: number;
  /**
   * `<dataset>@<v>` to sample the background from instead of the training data (models registered
   * from a file have none); ignored when background records are given.
   */
  backgroundDataset?: string;
  /** Seed of the background sample and of KernelSHAP's coalitions (0). */
  seed?: number;
  /** Multiclass models: the predicted class's attributions (default), or every class's as well. */
  classes?: 'predicted' | 'all';
}

export type ExplainPredictionOptions = Omit<ExplainRecordsInput, 'version' | 'bytes' | 'records' | 'scorer'>;

/** Versions whose decoded internals are kept. */
const INTERNALS_CACHE = 16;
/** Records (and background records) one call may explain against. */
const MAX_RECORDS = 10_000;
/** KernelSHAP's least squares grows with the square of the features; past this, it is not worth waiting for. */
const MAX_KERNEL_PLAYERS = 100;
/** Exact explanations yield to the event loop between chunks of this many records. */
const CHUNK = 32;

/**
 * Per-prediction feature attributions: exact for linear models, interventional TreeSHAP for tree
 * ensembles (both from the `sextant.explain` metadata our trainers write), KernelSHAP for any other
 * ONNX model through a Scorer. Attributions are per original feature and add up, with the base value,
 * to the model output in the stated space.
 */
/** What explanations read: the blobs and training data (background rows), the log, the registry, a runtime. */
export type ExplainerDeps = Pick<
  GovernanceDeps,
  'blobs' | 'datasetVersions' | 'predictions' | 'registry' | 'openScorer'
>;

export function createExplainer(deps: ExplainerDeps) {
  const backgrounds = createBackgroundSource(deps);
  const internalsCache = new Map<string, ModelInternals | null>();

  async function internalsOf(
    version: ModelVersion,
    file: () => Promise<Uint8Array>,
  ): Promise<ModelInternals | undefined> {
    const key = `${version.id}:${version.sha256}`;
    let hit = internalsCache.get(key);
    if (hit === undefined) {
      hit = readModelInternals(await file()) ?? null;
      internalsCache.set(key, hit);
      while (internalsCache.size > INTERNALS_CACHE)
        internalsCache.delete(internalsCache.keys().next().value!);
    }
    return hit ?? undefined;
  }

  async function explainRecords(input: ExplainRecordsInput): Promise<Explanation[]> {
    const { version, records } = input;
    checkRecords(records, 'records');
    if (input.background !== undefined) checkRecords(input.background, 'background');
    let bytes = input.bytes;
    const file = async (): Promise<Uint8Array> => {
      bytes ??= (await download(`${version.model}@${version.version}`, version.id)).bytes;
      return bytes;
    };
    const internals = await internalsOf(version, file);
    const method = input.method ?? 'auto';
    const seed = input.seed ?? 0;
    const players = internals?.inputs ?? signatureFeatures(version, records) ?? recordKeys(records);
    const background =
      input.background ??
      (await backgrounds.get({
        version,
        features: players,
        size: input.backgroundSize,
        seed,
        dataset: input.backgroundDataset,
      }));
    if (internals && method === 'auto') {
      const out: Explanation[] = [];
      for (let at = 0; at < records.length; at += CHUNK) {
        // A big batch yields between chunks so that it does not stall a server.
        if (at > 0) await new Promise((resolve) => setImmediate(resolve));
        const chunk = records.slice(at, at + CHUNK);
        out.push(
          ...(internalsClassCount(internals) > 1
            ? multiclassExplanations(
                internals,
                chunk,
                background,
                classLabels(version, internals),
                input.classes,
              )
            : exactExplanations(internals, chunk, background)),
        );
      }
      return out;
    }

    if (internals && internalsClassCount(internals) > 1) {
      // The scorer reads one column (the last class's probability): that would explain the wrong thing.
      throw new ValidationError(
        'KernelSHAP explains one score; a multiclass model is explained per class with the exact method (leave out --kernel / method=kernel)',
        { field: 'method' },
      );
    }
    if (players.length > MAX_KERNEL_PLAYERS) {
      throw new ValidationError(
        `KernelSHAP explains models of at most ${MAX_KERNEL_PLAYERS} features; this one has ${players.length}`,
        { field: 'method' },
      );
    }
    const samples = input.samples ?? 2 * players.length + 2048;
    const scorer = input.scorer ?? (await openScorer(version, await file()));
    try {
      const space: ExplanationSpace = isClassifier(version, internals) ? 'probability' : 'value';
      const out: Explanation[] = [];
      for (const record of records) {
        const k = await kernelShap({
          players,
          record,
          background,
          score: (rows) => scorer.score(rows),
          samples,
          seed,
        });
        out.push({
          method: 'kernel',
          space,
          baseValue: k.base,
          output: k.output,
          attributions: Object.fromEntries(players.map((p, j) => [p, k.phi[j]!])),
          exact: k.exact,
          tolerance: k.tolerance,
          backgroundSize: background.length,
          samples: k.samples,
          features: pick(record, players),
        });
      }
      return out;
    } finally {
      if (input.scorer === undefined) await scorer.release();
    }
  }

  async function openScorer(version: ModelVersion, bytes: Uint8Array): Promise<Scorer> {
    return deps.openScorer(bytes, version);
  }

  async function explainPrediction(
    predictionId: string,
    opts: ExplainPredictionOptions = {},
  ): Promise<{ prediction: Prediction; explanation: Explanation }> {
    const prediction = await deps.predictions.get(predictionId);
    if (prediction.status === 'failed')
      throw new ConflictError(
        `prediction '${predictionId}' failed (${prediction.error?.code}: ${prediction.error?.message}); a failed prediction has no output to explain`,
        { predictionId, reason: 'prediction_failed' },
      );
    const { version, bytes } = await download(
      `${prediction.model}@${prediction.version}`,
      prediction.modelVersionId,
    );
    const [explanation] = await explainRecords({ ...opts, version, bytes, records: [prediction.inputs] });
    return { prediction, explanation: explanation! };
  }

  /** A version's file from the registry, checked against the version id and sha256 on record. */
  async function download(
    ref: string,
    versionId: string,
  ): Promise<{ version: ModelVersion; bytes: Uint8Array }> {
    const { version, stream } = await deps.registry.versions.download(ref);
    if (version.id !== versionId) {
      throw new ConflictError(`${ref} is no longer the model version ${versionId}`, {
        modelVersionId: versionId,
      });
    }
    const bytes = await readAll(stream as Readable);
    if (sha256Hex(bytes) !== version.sha256) {
      throw new IntegrityError(`${ref}: the model file's sha256 differs from the registry's record`, {
        field: 'model',
      });
    }
    return { version, bytes };
  }

  return { explainRecords, explainPrediction };
}

export type Explainer = ReturnType<typeof createExplainer>;

function exactExplanations(
  internals: ModelInternals,
  records: Record<string, unknown>[],
  background: Record<string, unknown>[],
): Explanation[] {
  const x = encodeForCore(internals, records);
  let bg: ReturnType<typeof encodeForCore>;
  try {
    bg = encodeForCore(internals, background);
  } catch (err) {
    if (err instanceof ValidationError) {
      throw new ValidationError(`background: ${err.message}`, { field: 'background' });
    }
    throw err;
  }
  const linear = internals.core.kind === 'linear';
  const r: ShapResult = linear ? linearShap(internals, x, bg) : treeShap(internals, x, bg);
  const space: ExplanationSpace = internals.task === 'classification' ? 'log_odds' : 'value';
  // Attributions in the model's input order (the encoding lists numerics before categoricals).
  const position = new Map(r.features.map((f, j) => [f, j]));
  return records.map((record, i) => {
    const phi = r.phi[i]!;
    const output = r.output[i]!;
    return {
      method: linear ? 'linear' : 'tree',
      space,
      baseValue: r.base,
      output,
      attributions: Object.fromEntries(internals.inputs.map((f) => [f, phi[position.get(f)!]!])),
      exact: true,
      tolerance: 1e-9 * Math.max(1, Math.abs(output), Math.abs(r.base)),
      backgroundSize: background.length,
      samples: null,
      features: pick(record, internals.inputs),
    };
  });
}

/**
 * Per-class exact attributions of a multiclass model: each class's margin (its weights, or its own
 * trees) is explained as a single-margin model; the predicted class (the largest margin, the first on
 * a tie as the graph's ArgMax) is the top-level explanation, and `all` adds every class's.
 */
function multiclassExplanations(
  internals: ModelInternals,
  records: Record<string, unknown>[],
  background: Record<string, unknown>[],
  labels: string[],
  which: 'predicted' | 'all' = 'predicted',
): Explanation[] {
  const perClass = labels.map((_, k) => exactExplanations(classInternals(internals, k), records, background));
  return records.map((_, i) => {
    let best = 0;
    for (let k = 1; k < labels.length; k++)
      if (perClass[k]![i]!.output > perClass[best]![i]!.output) best = k;
    const top = perClass[best]![i]!;
    return {
      ...top,
      space: 'margin' as const,
      class: labels[best]!,
      ...(which === 'all'
        ? {
            perClass: Object.fromEntries(
              labels.map((label, k) => {
                const e = perClass[k]![i]!;
                return [label, { baseValue: e.baseValue, output: e.output, attributions: e.attributions }];
              }),
            ),
          }
        : {}),
    };
  });
}

/** The class labels in the model's order: signature.json's classes, else the class indices. */
function classLabels(version: ModelVersion, internals: ModelInternals): string[] {
  const declared = version.signature?.declared?.classes;
  const k = internalsClassCount(internals);
  if (Array.isArray(declared) && declared.length === k && declared.every((c) => typeof c === 'string'))
    return declared as string[];
  return Array.from({ length: k }, (_, c) => String(c));
}

function isClassifier(version: ModelVersion, internals: ModelInternals | undefined): boolean {
  if (internals) return internals.task === 'classification';
  const declared = version.signature?.declared?.task;
  if (declared === 'classification' || declared === 'regression') return declared === 'classification';
  return (version.signature?.outputs ?? []).some((o) => /probabilit/i.test(o.name));
}

function checkRecords(records: unknown, field: string): asserts records is Record<string, unknown>[] {
  if (!Array.isArray(records) || records.length === 0) {
    throw new ValidationError(`${field}: give at least one record`, { field });
  }
  if (records.length > MAX_RECORDS) {
    throw new ValidationError(`${field}: at most ${MAX_RECORDS} records`, { field });
  }
  records.forEach((r, i) => {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) {
      throw new ValidationError(`${field}[${i}] must be an object keyed by feature name`, {
        field: `${field}[${i}]`,
      });
    }
  });
}

/** The signature's input names, when the records are keyed by them (one input per feature). */
function signatureFeatures(version: ModelVersion, records: Record<string, unknown>[]): string[] | undefined {
  const names = (version.signature?.inputs ?? []).map((i) => i.name);
  if (names.length === 0 || !names.every((n) => n in records[0]!)) return undefined;
  return names;
}

/** The features of records without internals: every key, in first-seen order. */
function recordKeys(records: Record<string, unknown>[]): string[] {
  const keys = new Set<string>();
  for (const r of records) for (const k of Object.keys(r)) keys.add(k);
  return [...keys];
}

function pick(record: Record<string, unknown>, names: string[]): Record<string, unknown> {
  return Object.fromEntries(names.map((n) => [n, record[n] ?? null]));
}

async function readAll(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return new Uint8Array(Buffer.concat(chunks));
}
