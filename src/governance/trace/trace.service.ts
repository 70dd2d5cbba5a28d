import { AppError, isAppError } from '../../core/errors.js';
import { parseOrThrow } from '../../core/validate.js';
import type { DatasetVersion } from '../../data/dataset.schema.js';
import type { ModelVersion, Signature } from '../../registry/registry.schema.js';
import { type Prediction, predictionIdSchema } from '../../serving/serving.schema.js';
import type { Run } from '../../tracking/tracking.schema.js';
import type { GovernanceDeps } from '../governance-deps.js';
import { createLineageService } from '../lineage.service.js';
import type {
  PredictionTrace,
  TraceAlias,
  TraceDataset,
  TraceGap,
  TraceModelVersion,
  TraceQuality,
  TraceRun,
  TraceSignature,
} from './trace.schema.js';

/** How far upstream of each training dataset version the trace walks. */
const UPSTREAM_DEPTH = 10;

/** "Not there (any more)" is a gap in the chain; anything else (a database down) is a real failure. */
async function follow<T>(fn: () => Promise<T>): Promise<{ value: T } | { reason: string }> {
  try {
    return { value: await fn() };
  } catch (err) {
    if (isAppError(err) && (err.code === 'NOT_FOUND' || err.code === 'VALIDATION_FAILED'))
      return { reason: err.message };
    throw err;
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v : null);

function signatureSummary(sig: Signature | null): TraceSignature | null {
  if (!sig) return null;
  const declared = sig.declared ?? {};
  const classes = Array.isArray(declared.classes)
    ? declared.classes.filter((c): c is string | number => typeof c === 'string' || typeof c === 'number')
    : null;
  return {
    inputs: sig.inputs.map((t) => ({ name: t.name, type: t.type })),
    outputs: sig.outputs.map((t) => ({ name: t.name, type: t.type })),
    task: str(declared.task),
    target: str(declared.target),
    classes,
  };
}

function modelVersionView(v: ModelVersion): TraceModelVersion {
  return {
    id: v.id,
    ref: `${v.model}@${v.version}`,
    model: v.model,
    version: v.version,
    sha256: v.sha256,
    size: v.size,
    format: v.format,
    source: v.source,
    signature: signatureSummary(v.signature),
    codeCommit: v.codeCommit,
    command: v.command,
    params: v.params,
    metrics: v.metrics,
    environment: v.environment,
    aliasesNow: v.aliases,
    createdAt: v.createdAt,
    createdBy: v.createdBy,
  };
}

const ENV_PREFIXES = ['sextant.env.', 'sextant.'];
const ENV_KEYS = new Set(['node_version', 'os', 'lockfile_sha256']);

function runView(run: Run): TraceRun {
  // The last value of each metric: the highest step, then the latest timestamp.
  const last = new Map<string, Run['metrics'][number]>();
  for (const m of run.metrics) {
    const seen = last.get(m.key);
    if (!seen || m.step > seen.step || (m.step === seen.step && m.timestamp >= seen.timestamp))
      last.set(m.key, m);
  }
  const environment: Record<string, string> = {};
  for (const [k, v] of Object.entries(run.tags)) {
    if (k.startsWith(ENV_PREFIXES[0]!)) environment[k.slice(ENV_PREFIXES[0]!.length)] = v;
    else if (k.startsWith(ENV_PREFIXES[1]!) && ENV_KEYS.has(k.slice(ENV_PREFIXES[1]!.length)))
      environment[k.slice(ENV_PREFIXES[1]!.length)] ??= v;
  }
  return {
    id: run.id,
    name: run.name,
    experimentId: run.experimentId,
    status: run.status,
    lifecycleStage: run.lifecycleStage,
    user: run.userId,
    startTime: run.startTime,
    endTime: run.endTime,
    gitCommit:
      run.gitCommit ?? run.tags['sextant.git.commit'] ?? run.tags['mlflow.source.git.commit'] ?? null,
    gitDirty: run.gitDirty,
    command: run.command ?? run.tags['sextant.command'] ?? run.tags['mlflow.source.name'] ?? null,
    params: run.params,
    metrics: Object.fromEntries([...last].map(([k, m]) => [k, m.value])),
    environment,
    tags: run.tags,
  };
}

/**
 * Traces a logged prediction back through the model version that answered it, the alias it was served
 * under as it stood at that moment (registry.aliases.at), the training run and the dataset versions
 * to their upstream lineage. Every section is read, never inferred: a missing link is a gap, not an error.
 */
export function createPredictionTracer(deps: GovernanceDeps) {
  const lineage = createLineageService(deps);

  /**
   * The alias the prediction was served under, as it stood at serving time; for a pinned deployment,
   * the alias the served version held at that moment (champion first), if any.
   */
  async function aliasAt(p: Prediction, gaps: TraceGap[]): Promise<TraceAlias | null> {
    const got = await follow(() =>
      deps.registry.aliases.at({ model: p.model, alias: p.alias ?? undefined, at: p.servedAt }),
    );
    if ('reason' in got) {
      if (p.alias) gaps.push({ link: 'alias', ref: `${p.model}@${p.alias}`, reason: got.reason });
      return null;
    }
    const held = p.alias
      ? got.value.find((a) => a.alias === p.alias)
      : got.value
          .filter((a) => a.version === p.version)
          .sort((a, b) => Number(b.alias === 'champion') - Number(a.alias === 'champion'))[0];
    if (!p.alias && !held) return null;
    const requestId = held?.since?.requestId;
    let request: TraceAlias['request'] = null;
    if (requestId) {
      const r = await follow(() => deps.registry.promotions.get(requestId));
      if ('value' in r) {
        const { id, requestedBy, reason, createdAt, status } = r.value;
        request = { id, requestedBy, reason, createdAt, status };
      } else gaps.push({ link: 'alias', ref: requestId, reason: r.reason });
    }
    return {
      name: p.alias ?? held!.alias,
      at: p.servedAt,
      holder: held?.version ?? null,
      servedByHolder: held?.version === p.version,
      servedUnder: p.alias !== null,
      since: held?.since ?? null,
      request,
    };
  }

  async function quality(dv: DatasetVersion, ref: string, gaps: TraceGap[]): Promise<TraceQuality[] | null> {
    const results = await follow(() => deps.dataQuality.results(ref));
    if ('reason' in results) {
      gaps.push({ link: 'quality', ref, reason: results.reason });
      return null;
    }
    // Newest first: keep the latest result of each suite, as the registry's quality gate reads them.
    const seen = new Set<string>();
    const out: TraceQuality[] = [];
    for (const r of results.value) {
      if (r.versionId !== dv.id || seen.has(r.suite)) continue;
      seen.add(r.suite);
      out.push({
        suite: r.suite,
        passed: r.passed,
        total: r.total,
        failed: r.failed,
        at: r.createdAt,
        by: r.createdBy,
      });
    }
    return out;
  }

  async function dataset(id: string, trained: string, gaps: TraceGap[]): Promise<TraceDataset | null> {
    const got = await follow(() => deps.datasetVersions.get(id));
    if ('reason' in got) {
      gaps.push({
        link: 'dataset_version',
        ref: id,
        reason: `dataset version ${id}, which trained ${trained}, is not in this workspace: \`sextant data ls\` lists the datasets here`,
      });
      return null;
    }
    const dv = got.value;
    const ref = `${dv.dataset}@${dv.number}`;
    const upstream = await follow(() =>
      lineage.graph({ ref: `dataset:${ref}`, direction: 'upstream', depth: UPSTREAM_DEPTH }),
    );
    if ('reason' in upstream) gaps.push({ link: 'upstream', ref, reason: upstream.reason });
    else if (upstream.value.truncated)
      gaps.push({ link: 'upstream', ref, reason: 'the upstream graph is larger than the node limit' });
    const graph = 'value' in upstream ? upstream.value : undefined;
    return {
      id: dv.id,
      ref,
      dataset: dv.dataset,
      number: dv.number,
      digest: dv.digest,
      source: dv.source ?? null,
      pii: dv.pii,
      createdAt: dv.createdAt,
      createdBy: dv.createdBy,
      files: dv.files,
      tables: dv.tables.map((t) => ({ path: t.path, format: t.format, rowCount: t.rowCount })),
      rowCount: dv.tables.length ? dv.tables.reduce((n, t) => n + t.rowCount, 0) : null,
      quality: await quality(dv, ref, gaps),
      upstream: graph ? graph.nodes.filter((n) => n.id !== graph.root) : [],
      upstreamEdges: graph?.edges ?? [],
    };
  }

  /** The whole chain behind one prediction id (ValidationError for a malformed id, NotFoundError if unknown). */
  async function trace(predictionId: string): Promise<PredictionTrace> {
    const id = parseOrThrow(predictionIdSchema, predictionId, 'predictionId');
    const prediction = await deps.predictions.get(id).catch((err: unknown) => {
      if (!isAppError(err) || err.code !== 'NOT_FOUND') throw err;
      throw new AppError(
        'NOT_FOUND',
        `prediction ${id} is not in the prediction log of this workspace: list the logged ones with \`sextant predictions ls\` (--deployment <name> narrows it)`,
        { entity: 'prediction', id },
      );
    });
    const gaps: TraceGap[] = [];

    let deployment: PredictionTrace['deployment'] = null;
    const got = await follow(() => deps.deployments.get(prediction.deploymentId));
    if ('value' in got) {
      const { id: depId, name, model, ref } = got.value;
      deployment = { id: depId, name, model, ref };
    } else
      gaps.push({
        link: 'deployment',
        ref: prediction.deploymentId,
        reason: `deployment ${prediction.deploymentId}, which served it, is not in this workspace: \`sextant deployments ls\` lists the deployments`,
      });

    const ref = `${prediction.model}@${prediction.version}`;
    const mv = await follow(() => deps.registry.versions.resolve(ref));
    let version: ModelVersion | undefined;
    if ('reason' in mv)
      gaps.push({
        link: 'model_version',
        ref,
        reason: `model version ${ref} (${prediction.modelVersionId}), which answered, is not in the registry: \`sextant models show ${prediction.model}\` lists its versions`,
      });
    else if (mv.value.id !== prediction.modelVersionId)
      gaps.push({
        link: 'model_version',
        ref,
        reason: `${ref} is now ${mv.value.id}, not the ${prediction.modelVersionId} that answered: \`sextant models history ${prediction.model}\` shows what changed`,
      });
    else version = mv.value;

    const alias = await aliasAt(prediction, gaps);
    const { run, datasets } = await origins(version, ref, gaps);

    return {
      prediction,
      deployment,
      modelVersion: version ? modelVersionView(version) : null,
      alias,
      run,
      datasets,
      gaps,
    };
  }

  /** The training run and dataset versions behind a model version; what cannot be followed lands in gaps. */
  async function origins(
    version: ModelVersion | undefined,
    ref: string,
    gaps: TraceGap[],
  ): Promise<{ run: TraceRun | null; datasets: TraceDataset[] }> {
    let run: TraceRun | null = null;
    if (version && !version.runId)
      gaps.push({
        link: 'run',
        ref: null,
        reason: `${ref} was registered from ${version.source}, not a run`,
      });
    else if (version?.runId) {
      const runId = version.runId;
      const got = await follow(() => deps.runs.get(runId));
      if ('value' in got) run = runView(got.value);
      else
        gaps.push({
          link: 'run',
          ref: runId,
          reason: `run ${runId}, which trained ${ref}, is not in this workspace: \`sextant runs ls\` lists the runs here`,
        });
    }

    const datasets: TraceDataset[] = [];
    if (version && version.datasetVersionIds.length === 0)
      gaps.push({
        link: 'dataset_version',
        ref: null,
        reason: `${ref} records no training dataset versions: register versions from runs that log their dataset inputs (\`sextant train\` does)`,
      });
    for (const dvId of version?.datasetVersionIds ?? []) {
      const d = await dataset(dvId, ref, gaps);
      if (d) datasets.push(d);
    }
    return { run, datasets };
  }

  /**
   * What made a model version: its training run and dataset versions to their upstream lineage, as a
   * prediction's trace shows them (the compliance report reads the same chain).
   */
  async function versionOrigins(
    version: ModelVersion,
  ): Promise<{ run: TraceRun | null; datasets: TraceDataset[]; gaps: TraceGap[] }> {
    const gaps: TraceGap[] = [];
    return { ...(await origins(version, `${version.model}@${version.version}`, gaps)), gaps };
  }

  return { trace, versionOrigins };
}

export type PredictionTracer = ReturnType<typeof createPredictionTracer>;
