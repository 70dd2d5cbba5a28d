import { NotFoundError, ValidationError } from '../../core/errors.js';
import { type EvaluateOutcome, evaluateModel, type MlApi, type ModelRegistryPort } from '../../ml/index.js';
import type { PromotionCheck } from '../../registry/index.js';

/*
 * `sextant ci <model ref>`: the candidate and the version holding the target alias (the champion) are
 * scored on the same holdout dataset version by ml's evaluation, and the registry's policy gates for
 * the alias are run as a dry run (the same evaluation a promotion request makes, nothing written).
 * Everything reads through ports, so CI runs against a server (SEXTANT_URL) as well as a workspace.
 */

/** What CI needs: ml's API (scoring), the registry's lookups and dry-run check, and dataset row counts. */
export interface CiModelPort {
  ml: MlApi;
  registry: ModelRegistryPort;
  checkPromotion(input: { ref: string; alias: string }): Promise<PromotionCheck>;
  /** Rows in a dataset version's tables (undefined when it holds no table). */
  datasetRows(ref: string): Promise<number | undefined>;
}

export interface CiModelInput {
  /** `<model>@<version>` (or an alias, e.g. `@challenger`). */
  ref: string;
  /** The alias the candidate would take (default champion). */
  alias: string;
  /** `<dataset>@<version>`: scored for both sides. */
  holdout: string;
  /** Where evaluation downloads the holdout. */
  workDir: string;
}

export interface MetricRow {
  metric: string;
  candidate: number;
  champion?: number;
  /** candidate - champion. */
  delta?: number;
  /** Whether the candidate is better on this metric (lower is better for losses and errors). */
  better?: boolean;
}

export interface TrainingDataRow {
  ref: string;
  digest: string;
  rows?: number;
}

/** Everything the Markdown report shows; also `sextant ci --json`. */
export interface ModelCiReport {
  kind: 'model';
  model: string;
  alias: string;
  candidate: { ref: string; version: number; runId: string | null; sha256: string };
  champion?: { ref: string; version: number; runId: string | null; sha256: string };
  holdout: { ref: string; digest: string; rows: number };
  task: string;
  target: string;
  metrics: MetricRow[];
  trainingData: { candidate: TrainingDataRow[]; champion: TrainingDataRow[] };
  check: PromotionCheck;
  passed: boolean;
}

/** Metrics where a smaller value is the better one. */
const LOWER_IS_BETTER = new Set(['log_loss', 'brier', 'mae', 'rmse', 'mape']);

function metricRows(c: EvaluateOutcome, h: EvaluateOutcome | undefined): MetricRow[] {
  return Object.entries(c.metrics).map(([metric, candidate]) => {
    const champion = h?.metrics[metric];
    if (champion === undefined || !Number.isFinite(champion) || !Number.isFinite(candidate))
      return { metric, candidate, ...(champion !== undefined ? { champion } : {}) };
    const delta = candidate - champion;
    return {
      metric,
      candidate,
      champion,
      delta,
      better: LOWER_IS_BETTER.has(metric) ? delta < 0 : delta > 0,
    };
  });
}

/** Evaluates a candidate against the alias holder on one holdout and dry-runs the alias's gates. */
export async function checkModelCandidate(port: CiModelPort, input: CiModelInput): Promise<ModelCiReport> {
  if (!/^[^@\s]+@[^@\s]+$/.test(input.holdout))
    throw new ValidationError(`--holdout: expected <dataset>@<version>, got '${input.holdout}'`, {
      field: 'holdout',
    });
  const candidate = await port.registry.resolve(input.ref);
  const candidateRef = `${candidate.model}@${candidate.version}`;
  const check = await port.checkPromotion({ ref: candidateRef, alias: input.alias });
  const champion =
    check.holder === null || check.holder === candidate.version
      ? undefined
      : await port.registry.resolve(`${candidate.model}@${check.holder}`).catch((err: unknown) => {
          if (err instanceof NotFoundError || (err as { code?: string }).code === 'NOT_FOUND')
            return undefined;
          throw err;
        });
  const evaluate = (modelRef: string) =>
    evaluateModel(port.ml, { modelRef, datasetRef: input.holdout, workDir: input.workDir }, port.registry);
  const c = await evaluate(candidateRef);
  const h = champion ? await evaluate(`${champion.model}@${champion.version}`) : undefined;

  const withRows = async (rows: PromotionCheck['trainingData']['candidate']) =>
    Promise.all(
      rows.map(async (d) => {
        const n = await port.datasetRows(d.ref).catch(() => undefined);
        return { ref: d.ref, digest: d.digest, ...(n !== undefined ? { rows: n } : {}) };
      }),
    );
  const side = (v: typeof candidate) => ({
    ref: `${v.model}@${v.version}`,
    version: v.version,
    runId: v.runId,
    sha256: v.sha256,
  });
  return {
    kind: 'model',
    model: candidate.model,
    alias: input.alias,
    candidate: side(candidate),
    ...(champion ? { champion: side(champion) } : {}),
    holdout: { ref: c.dataset.ref, digest: c.dataset.digest, rows: c.rows },
    task: c.task,
    target: c.target,
    metrics: metricRows(c, h),
    trainingData: {
      candidate: await withRows(check.trainingData.candidate),
      champion: await withRows(check.trainingData.holder),
    },
    check,
    passed: check.passed,
  };
}
