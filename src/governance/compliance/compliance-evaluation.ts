import { isAppError } from '../../core/errors.js';
import { type EvaluateOutcome, type EvaluateRequest, flatMetrics, summarizeSlices } from '../../ml/index.js';
import {
  FAIRNESS_DEFAULTS,
  type FacetValue,
  postTrainingBias,
  preTrainingBias,
} from '../../monitoring/fairness/index.js';
import type { ModelVersion } from '../../registry/registry.schema.js';
import type { TraceDataset, TraceRun } from '../trace/trace.schema.js';
import {
  attributeList,
  type OfflineEvaluation,
  type OfflineFairnessGroup,
} from './compliance-report.schema.js';

/*
 * Section 4's offline part: the version scored now, by the same evaluation code as `sextant evaluate`
 * (so the per-slice numbers are the ones `evaluate --slice <attribute>` prints on the same rows), on
 * its own validation split or on a holdout, and Clarify's bias metrics per group from those scores
 * (the fairness module monitoring uses on labelled traffic). The split is recomputed, never stored:
 * the run recorded the dataset digest, split_seed and val_fraction, and splitRows is deterministic.
 */

/** What the offline evaluation is asked for: the report's options. */
export interface OfflineRequest {
  slices?: string[] | undefined;
  holdout?: string | undefined;
}

/** Scores a registered version on a dataset version (evaluation.service's evaluateModel, wired). */
export type EvaluatePort = (req: EvaluateRequest) => Promise<EvaluateOutcome>;

/** NaN and infinities (AUC of a one-class slice) as null, as `sextant evaluate --json` writes them. */
const finite = (m: Record<string, number>) =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Number.isFinite(v) ? v : null]));

const rate = (num: number | undefined, den: number) => (num === undefined || den === 0 ? null : num / den);

/** The data to evaluate on: the holdout, else the training run's validation split, else why not. */
function dataOf(
  v: ModelVersion,
  run: TraceRun | null,
  datasets: TraceDataset[],
  holdout: string | undefined,
): { datasetRef: string; split?: { fraction: number; seed: number }; target?: string } | { reason: string } {
  const p = run?.params ?? v.params;
  const target = p.target ? { target: p.target } : {};
  if (holdout) return { datasetRef: holdout, ...target };
  const seed = Number(p.split_seed ?? p.seed);
  const fraction = Number(p.val_fraction);
  const trained =
    datasets.find((d) => d.ref === p.dataset) ?? (datasets.length === 1 ? datasets[0] : undefined);
  if (!trained || !p.target || !Number.isSafeInteger(seed) || !(fraction > 0 && fraction < 1))
    return {
      reason: `the training run recorded no validation split (params dataset, target, split_seed, val_fraction); evaluate it on a holdout with --holdout <dataset>@<version> (API: holdout=)`,
    };
  // The digest pins the exact rows the run split, whatever the version's number says now.
  return { datasetRef: `${trained.dataset}@${trained.digest}`, split: { fraction, seed }, ...target };
}

/** Fairness of one attribute on the scored rows: post-training (predictions) and pre-training (labels). */
function fairnessOf(
  attribute: string,
  scored: NonNullable<EvaluateOutcome['scored']>,
): OfflineFairnessGroup[] {
  const facet = scored.columns[attribute] as FacetValue[];
  // The served label: the positive class when P(positive) > 0.5 (the exported ONNX graph's rule).
  const predictions = Array.from(scored.predictions, (p) => (p > 0.5 ? 1 : 0));
  const labels = Array.from(scored.labels);
  const post = postTrainingBias({ attribute, facet, labels, predictions });
  const pre = preTrainingBias({ attribute, facet, labels });
  return post.groups.map((g) => ({
    attribute,
    value: g.value,
    slice: g.slice,
    size: g.size,
    restSize: g.restSize,
    predictedPositiveRate: rate(g.facet.predictedPositives, g.facet.n),
    positiveRate: rate(g.facet.positives, g.facet.n),
    metrics: { ...g.metrics, ...(pre.groups.find((x) => x.value === g.value)?.metrics ?? {}) },
  }));
}

/**
 * Evaluates the version per slice and per protected group (see the file comment). Without the data
 * or a scorable model it answers `not_evaluated` with the reason; with an explicit holdout or slice
 * option an error is the caller's to see, since they asked for exactly that.
 */
export async function offlineEvaluation(
  evaluate: EvaluatePort,
  v: ModelVersion,
  origins: { run: TraceRun | null; datasets: TraceDataset[] },
  q: OfflineRequest,
): Promise<OfflineEvaluation> {
  const cardList = v.card.protected_attributes ? attributeList(v.card.protected_attributes) : [];
  const attributes = q.slices?.length ? q.slices : cardList;
  const attributesFrom = q.slices?.length ? 'option' : cardList.length ? 'card' : 'none';
  const base: OfflineEvaluation = {
    status: 'not_evaluated',
    note: null,
    attributes,
    attributesFrom,
    data: null,
    task: null,
    target: null,
    positiveClass: null,
    metrics: {},
    slices: [],
    fairness: [],
    fairnessNotes: [],
  };
  if (v.format !== 'onnx')
    return {
      ...base,
      note: `not evaluated: ${v.model}@${v.version} is a ${v.format} model; Sextant scores ONNX models`,
    };
  const data = dataOf(v, origins.run, origins.datasets, q.holdout);
  if ('reason' in data) return { ...base, note: `not evaluated: ${data.reason}` };
  let out: EvaluateOutcome;
  try {
    out = await evaluate({
      modelRef: `${v.model}@${v.version}`,
      datasetRef: data.datasetRef,
      ...(data.target ? { target: data.target } : {}),
      ...(data.split ? { validationSplit: data.split } : {}),
      keep: attributes,
    });
  } catch (err) {
    if (!isAppError(err) || err.code === 'INTERNAL' || q.holdout || attributesFrom === 'option') throw err;
    return { ...base, note: `not evaluated: ${err.message}` };
  }
  const scored = out.scored!;
  const slices = attributes.flatMap((attribute) =>
    summarizeSlices(
      out.task,
      scored.labels,
      scored.predictions,
      scored.columns[attribute]!,
      scored.classes ?? undefined,
    ).map((s) => ({
      attribute,
      value: s.slice,
      rows: s.count,
      metrics: finite(flatMetrics(s.metrics.full)),
    })),
  );
  const fairness: OfflineFairnessGroup[] = [];
  const fairnessNotes: OfflineEvaluation['fairnessNotes'] = [];
  const binary = out.task === 'classification' && scored.classes?.length === 2;
  for (const attribute of attributes) {
    if (!binary) {
      fairnessNotes.push({
        attribute,
        note: `fairness compares a favourable outcome between groups: it needs a binary classifier, and this is a ${out.task === 'regression' ? 'regressor' : `${scored.classes?.length ?? '?'}-class classifier`}`,
      });
      continue;
    }
    try {
      fairness.push(...fairnessOf(attribute, scored));
    } catch (err) {
      if (!isAppError(err) || err.code === 'INTERNAL') throw err;
      fairnessNotes.push({ attribute, note: err.message });
    }
  }
  return {
    ...base,
    status: 'evaluated',
    note:
      attributes.length === 0
        ? `no slice attributes: set the card's protected_attributes (sextant models card ${v.model}@${v.version} --set protected_attributes=<col>,...) or pass --slices <col>,... (API: slices=)`
        : null,
    data: {
      kind: data.split ? 'validation_split' : 'holdout',
      ref: out.dataset.ref,
      digest: out.dataset.digest,
      splitSeed: data.split?.seed ?? null,
      valFraction: data.split?.fraction ?? null,
      rows: out.rows,
    },
    task: out.task,
    target: out.target,
    positiveClass: binary ? scored.classes![1]! : null,
    metrics: finite(out.metrics),
    slices,
    fairness,
    fairnessNotes,
  };
}

/** The four-fifths threshold the report names beside DI. */
export const FOUR_FIFTHS = FAIRNESS_DEFAULTS.fourFifths;
