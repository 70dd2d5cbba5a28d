import { isAppError, ValidationError } from '../../core/errors.js';
import { parseOrThrow } from '../../core/validate.js';
import type { MetricPoint } from '../../monitoring/metric-point.schema.js';
import type { ModelVersion } from '../../registry/registry.schema.js';
import type { Deployment } from '../../serving/serving.schema.js';
import type { TraceGap } from '../trace/trace.schema.js';
import { signatureSummary } from '../trace/trace.service.js';
import type { ComplianceDeps } from './compliance-deps.js';
import { offlineEvaluation } from './compliance-evaluation.js';
import {
  type ComplianceApproval,
  type ComplianceDataset,
  type ComplianceMeasure,
  type ComplianceReport,
  type ComplianceReportInput,
  type ComplianceSample,
  complianceReportInputSchema,
  type Reproduction,
} from './compliance-report.schema.js';

/** Predictions traced and explained by default: enough to show the chain, few enough to stay quick. */
export const DEFAULT_SAMPLES = 5;
const MAX_POINTS = 100_000;

const iso = (ms: number) => new Date(ms).toISOString();

/** "Not there" is something the report says; anything else (a database down) fails the report. */
async function soft<T>(fn: () => Promise<T>): Promise<{ value: T } | { reason: string }> {
  try {
    return { value: await fn() };
  } catch (err) {
    if (isAppError(err) && err.code !== 'INTERNAL') return { reason: err.message };
    throw err;
  }
}

/**
 * The newest point of each (metric, feature, slice, deployment) in the period, with how often it was
 * beyond its thresholds: what monitoring said about this version, one row per thing measured.
 */
function measures(points: MetricPoint[], deploymentName: (id: string) => string): ComplianceMeasure[] {
  const groups = new Map<string, MetricPoint[]>();
  for (const p of points) {
    const key = JSON.stringify([p.metric, p.feature, p.slice, p.deploymentId]);
    const list = groups.get(key);
    if (list) list.push(p);
    else groups.set(key, [p]);
  }
  const out: ComplianceMeasure[] = [];
  for (const list of groups.values()) {
    const last = list.reduce((a, b) => (b.windowEnd >= a.windowEnd ? b : a));
    out.push({
      metric: last.metric,
      feature: last.feature,
      slice: last.slice,
      deployment: deploymentName(last.deploymentId),
      value: last.value,
      status: last.status,
      at: iso(last.windowEnd),
      points: list.length,
      alerts: list.filter((p) => p.status === 'alert').length,
      warnings: list.filter((p) => p.status === 'warning').length,
    });
  }
  const order = (m: ComplianceMeasure) =>
    [m.metric, m.slice ?? '', m.feature ?? '', m.deployment].join('\u0000');
  return out.sort((a, b) => order(a).localeCompare(order(b)));
}

/**
 * Builds the compliance report of one model version: the model and its card, the training data and
 * run (and whether it was reproduced), evaluation and fairness, approvals with gate evidence, its
 * time in production, a sample of traced and explained predictions, and the audit chain's verdict.
 * It reads only; the report is the same whoever asks, apart from its generation time.
 */
export function createComplianceReporter(deps: ComplianceDeps) {
  async function datasetsOf(
    datasets: Awaited<ReturnType<ComplianceDeps['origins']>>['datasets'],
  ): Promise<ComplianceDataset[]> {
    const out: ComplianceDataset[] = [];
    for (const d of datasets) {
      const full = await soft(() => deps.datasetVersions.get(d.id));
      out.push({ ...d, license: 'value' in full ? (full.value.license ?? null) : null });
    }
    return out;
  }

  /** How recent a reproduction must be for a report to say it was re-run while it was made. */
  const RAN_NOW_WINDOW_MS = 10 * 60_000;

  async function reproduction(
    v: ModelVersion,
    run: { id: string; experimentId: string } | null,
    ranNow: boolean,
  ): Promise<Reproduction> {
    const base = { expectedSha256: v.sha256, ranNow };
    const notChecked = (note: string): Reproduction => ({
      ...base,
      status: 'not_checked',
      runId: null,
      at: null,
      reproducedSha256: null,
      note: `not checked: ${note}`,
    });
    if (!run)
      return notChecked(
        v.runId
          ? `run ${v.runId}, which trained it, is not in this workspace`
          : `${v.model}@${v.version} was registered from ${v.source}, not from a run, so there is no training to re-run`,
      );
    const found = await soft(() => deps.reproductions(run));
    const latest = 'value' in found ? found.value[0] : undefined;
    if (!latest)
      return notChecked(
        `no reproduction of run ${run.id} is on record (run \`sextant models reproduce ${v.model}@${v.version}\`, or make the report with --reproduce)`,
      );
    const sha = latest.tags['sextant.model_sha256'] ?? null;
    const same = sha === v.sha256;
    // "Re-run while making this report" is the caller's claim (the CLI's --reproduce runs it first);
    // it is believed only for a reproduction that ended in the last few minutes.
    const endedAt = latest.endTime ?? latest.startTime;
    const fresh = deps.clock.now() - Date.parse(endedAt) < RAN_NOW_WINDOW_MS;
    return {
      ...base,
      ranNow: ranNow && fresh,
      status: same ? 'reproduced' : sha ? 'differs' : 'not_checked',
      runId: latest.id,
      at: latest.endTime ?? latest.startTime,
      reproducedSha256: sha,
      note: same
        ? `run ${latest.id} retrained it from the recorded data, params and seed: byte for byte the same model (sha256 equal)`
        : sha
          ? `run ${latest.id} retrained it and got different bytes (sha256 ${sha.slice(0, 12)}, expected ${v.sha256.slice(0, 12)})`
          : `not checked byte for byte: run ${latest.id} re-ran it (status ${latest.status}) but recorded no model sha256`,
    };
  }

  function approvalView(r: Awaited<ReturnType<ComplianceDeps['registry']['promotions']['list']>>[number]) {
    return {
      requestId: r.id,
      alias: r.alias,
      kind: r.kind,
      status: r.status,
      requestedBy: r.requestedBy,
      reason: r.reason,
      createdAt: r.createdAt,
      decidedAt: r.decidedAt,
      approvalsNeeded: r.approvalsNeeded,
      decisions: r.decisions,
      openGates: r.openGates,
      executionGates: r.executionGates,
    } satisfies ComplianceApproval;
  }

  async function samplesOf(
    v: ModelVersion,
    period: { since: string; until: string },
    count: number,
    deploymentName: (id: string) => string,
  ): Promise<ComplianceSample[]> {
    if (count === 0) return [];
    const { predictions } = await deps.predictions.list({
      modelVersionId: v.id,
      since: period.since,
      until: period.until,
      limit: count,
    });
    const out: ComplianceSample[] = [];
    for (const p of predictions) {
      const traced = await soft(() => deps.trace(p.id));
      const explained = await soft(() => deps.explain(p.id));
      out.push({
        predictionId: p.id,
        servedAt: p.servedAt,
        deployment: deploymentName(p.deploymentId),
        alias: p.alias,
        inputs: p.inputs,
        outputs: p.outputs,
        label: p.label?.value ?? null,
        traceGaps:
          'value' in traced
            ? traced.value.gaps
            : [{ link: 'model_version', ref: p.id, reason: traced.reason }],
        tracedDatasets: 'value' in traced ? traced.value.datasets.map((d) => d.ref) : [],
        explanation: 'value' in explained ? explained.value.explanation : null,
        explanationError: 'reason' in explained ? explained.reason : null,
      });
    }
    return out;
  }

  /**
   * The report of `<model>@<ref>` over [from, to) (default: from its registration to now).
   * NotFoundError for an unknown model, version or alias; ValidationError for a bad time or period.
   */
  async function report(input: ComplianceReportInput, actor = 'local'): Promise<ComplianceReport> {
    const q = parseOrThrow(complianceReportInputSchema, input);
    const requested = `${q.model}@${q.ref}`;
    const v = await deps.registry.versions.resolve(requested);
    const model = await deps.registry.models.get(v.model);
    const now = deps.clock.now();
    const fromMs = q.from ? Date.parse(q.from) : Date.parse(v.createdAt);
    const toMs = q.to ? Date.parse(q.to) : now;
    if (fromMs >= toMs)
      throw new ValidationError(`from: ${iso(fromMs)} is not before to (${iso(toMs)})`, { field: 'from' });
    const since = iso(fromMs);
    const until = iso(toMs);
    const within = (at: string) => {
      const t = Date.parse(at);
      return t >= fromMs && t < toMs;
    };

    const origins = await deps.origins(v);
    const gaps: TraceGap[] = [...origins.gaps];
    const run = origins.run;

    // Deployments: the live ones of this model, plus any (deleted since) that measured or served it.
    const deployments = new Map<string, Deployment>();
    for (const d of await deps.deployments.list())
      if (d.modelId ? d.modelId === v.modelId : d.model === v.model) deployments.set(d.id, d);
    const points = await deps.series.query({
      modelVersionId: v.id,
      since,
      until,
      limit: MAX_POINTS,
    });
    const alerts = (await deps.alerts.list({ limit: 1000 })).filter(
      (a) => a.modelVersionId === v.id && within(a.firedAt),
    );
    for (const id of new Set([...points.map((p) => p.deploymentId), ...alerts.map((a) => a.deploymentId)]))
      if (!deployments.has(id)) {
        const got = await soft(() => deps.deployments.get(id));
        if ('value' in got) deployments.set(id, got.value);
      }
    const deploymentName = (id: string) => deployments.get(id)?.name ?? id;

    const deploymentRows = [];
    for (const d of [...deployments.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      const window = { modelVersionId: v.id, deploymentId: d.id, since, until };
      deploymentRows.push({
        id: d.id,
        name: d.name,
        ref: `${d.model}@${d.ref}`,
        challenger: d.challenger ? `${d.challenger.mode} ${d.model}@${d.challenger.ref}` : null,
        createdAt: d.createdAt,
        createdBy: d.createdBy,
        deletedAt: d.deletedAt,
        predictions: await deps.predictions.count(window),
        labelled: await deps.predictions.count({ ...window, labelledOnly: true }),
      });
    }
    const window = { modelVersionId: v.id, since, until };

    const sliced = points.filter((p) => p.slice !== null);
    const whole = points.filter((p) => p.slice === null);
    const history = await deps.registry.aliases.history({ model: v.model });
    const requests = await deps.registry.promotions.list({ model: v.model, limit: 1000 });

    const audit = await deps.audit.verify();

    return {
      schemaVersion: 1,
      generatedAt: iso(now),
      generatedBy: actor,
      period: { from: since, to: until },
      model: {
        requested,
        ref: `${v.model}@${v.version}`,
        id: v.id,
        name: v.model,
        version: v.version,
        modelDescription: model.description,
        description: v.description,
        sha256: v.sha256,
        size: v.size,
        format: v.format,
        source: v.source,
        signature: signatureSummary(v.signature),
        tags: v.tags,
        card: v.card,
        aliasesNow: v.aliases,
        createdAt: v.createdAt,
        createdBy: v.createdBy,
      },
      data: { datasets: await datasetsOf(origins.datasets) },
      training: {
        run,
        seed: run?.params.seed ?? run?.tags['sextant.seed'] ?? v.params.seed ?? null,
        codeCommit: run?.gitCommit ?? v.codeCommit,
        command: run?.command ?? v.command,
        environment: v.environment,
        reproduction: await reproduction(v, run, q.reproducedNow === true),
      },
      evaluation: {
        metrics: v.metrics,
        offline: await offlineEvaluation(deps.evaluate, v, origins, { slices: q.slices, holdout: q.holdout }),
        slices: measures(
          sliced.filter((p) => p.metric.startsWith('performance.') || p.metric.startsWith('estimate.')),
          deploymentName,
        ),
        fairness: measures(
          points.filter((p) => p.metric.startsWith('fairness.')),
          deploymentName,
        ),
      },
      approvals: {
        requests: requests.filter((r) => r.version === v.version).map(approvalView),
        moves: history.filter((e) => e.toVersion === v.version),
      },
      production: {
        aliasHistory: history.filter((e) => within(e.at)),
        deployments: deploymentRows,
        predictions: await deps.predictions.count(window),
        labelled: await deps.predictions.count({ ...window, labelledOnly: true }),
        monitoring: measures(
          whole.filter((p) => !p.metric.startsWith('fairness.')),
          deploymentName,
        ),
        alerts: alerts.map((a) => ({
          id: a.id,
          rule: a.rule,
          deployment: deploymentName(a.deploymentId),
          metric: a.metric,
          feature: a.feature,
          slice: a.slice,
          severity: a.severity,
          state: a.state,
          condition: a.condition,
          value: a.value,
          firedAt: a.firedAt,
          acknowledgedAt: a.acknowledgedAt,
          acknowledgedBy: a.acknowledgedBy,
          comment: a.comment,
          resolvedAt: a.resolvedAt,
          action: a.action,
          actionOutcome: a.actionOutcome ? `${a.actionOutcome.status}: ${a.actionOutcome.message}` : null,
        })),
      },
      samples: await samplesOf(v, { since, until }, q.samples ?? DEFAULT_SAMPLES, deploymentName),
      audit: { ...audit, verifiedAt: iso(deps.clock.now()) },
      gaps,
    };
  }

  return { report };
}

export type ComplianceReporter = ReturnType<typeof createComplianceReporter>;
