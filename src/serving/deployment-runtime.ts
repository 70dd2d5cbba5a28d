import { performance } from 'node:perf_hooks';
import type { Clock } from '../core/clock.js';
import { isAppError, UnavailableError, ValidationError } from '../core/errors.js';
import { newId, newIds } from '../core/ids.js';
import { type Logger, silentLogger } from '../core/logger.js';
import type { ModelVersion } from '../registry/index.js';
import { routesToChallenger } from './canary.js';
import type { PredictionLedger } from './ledger/index.js';
import { DEFAULT_MAX_RECORDS, type ServingModel } from './model/index.js';
import { isServableFormat, type ModelRunnerOptions, openModelFor } from './model-runner.js';
import { aliasOf, ModelSlot } from './model-slot.js';
import { itemsJsonOf, outputsJsonOf } from './reply-json.js';
import { createRequestTally } from './request-counts.js';
import type { Deployment, PredictionOutput, RequestCounts } from './serving.schema.js';
import type { ServingMetrics } from './serving-metrics.js';

/** The registry reads a runtime needs (services.registry.versions fits). */
export interface RuntimeRegistry {
  versions: {
    resolve(ref: string): Promise<ModelVersion>;
    /** `<n>`, `<alias>` or `latest` inside the model with this id, whatever it is called now. */
    resolveIn(modelId: string, selector: string): Promise<ModelVersion>;
    /** The stored bytes, verified against their hash while streaming. */
    download(ref: string): Promise<{ version: ModelVersion; stream: NodeJS.ReadableStream }>;
    /** As download, inside the model with this id. */
    downloadIn(
      modelId: string,
      selector: string,
    ): Promise<{ version: ModelVersion; stream: NodeJS.ReadableStream }>;
  };
}

export interface DeploymentRuntimeOptions {
  deployment: Deployment;
  registry: RuntimeRegistry;
  /** The runtime owns it from here: close() flushes and closes it. */
  ledger: PredictionLedger;
  metrics: ServingMetrics;
  clock: Clock;
  /** How often the followed refs are re-resolved (default 2000; 0 turns polling off, refresh() still works). */
  pollIntervalMs?: number;
  logger?: Logger;
  /** Records one request may carry (default the model's DEFAULT_MAX_RECORDS, 10,000): more is a 413. */
  maxRecords?: number;
  /** How long a request waits for the shadow challenger before logging it as timed out (default 1000). */
  shadowTimeoutMs?: number;
  /** How a version's bytes become a ServingModel (default openModelFor: ONNX in process, external models through the gateway). */
  openModel?: (bytes: Uint8Array, version: ModelVersion, opts?: ModelRunnerOptions) => Promise<ServingModel>;
}

/** One answered record as the API returns it (+ `explanation` when asked for). */
export interface PredictResponseItem {
  prediction_id: string;
  model: string;
  version: number;
  prediction: PredictionOutput['prediction'];
  probabilities?: Record<string, number>;
  outputs?: Record<string, unknown>;
  /** Categorical values the model never kept in training (encoded as unknown): feature -> value. */
  unseen_categories?: Record<string, string>;
  explanation?: unknown;
}

export interface PredictOptions {
  /** Canary stickiness: the same key always lands on the same side; logged with each prediction. */
  requestKey?: string | undefined;
  /**
   * Runs while the answering model is still held (a swap cannot release it underneath): one result
   * per record, attached to the items as `explanation`.
   */
  explain?: (served: { model: ServingModel; records: Record<string, unknown>[] }) => Promise<unknown[]>;
}

export interface PredictResult {
  items: PredictResponseItem[];
  /** The JSON text of `items`, when the runtime built it on the way (reply-json.ts); undefined otherwise. */
  itemsJson?: string | undefined;
  served: { model: ServingModel; records: Record<string, unknown>[] };
}

export interface DeploymentRuntime {
  readonly deployment: Deployment;
  /** Parses, predicts, logs (durable: waits for the commit) and answers; never serves an unlogged prediction. */
  predict(body: unknown, opts?: PredictOptions): Promise<PredictResult>;
  /** Re-resolves the followed refs now and swaps in a moved alias's version with no failed or lost request. */
  refresh(): Promise<void>;
  /** True once loaded and until close() starts. */
  ready(): boolean;
  /** What is being served now. */
  serving(): { champion: ModelVersion; challenger: ModelVersion | null };
  /** Flushes the ledger (feedback calls it before looking a prediction up). */
  flush(): Promise<void>;
  /** Its predict requests so far: answered, failed and the failures by code (the heartbeat writes them). */
  counts(): RequestCounts;
  /** Stops accepting, waits for in-flight requests, closes the ledger, releases the models. */
  close(): Promise<void>;
}

const FAILED_RETRY_MS = 60_000;

async function readAll(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

function messageOf(err: unknown): string {
  return String((err as Error)?.message ?? err).slice(0, 500);
}

/**
 * Opens a deployment's runtime: loads the champion (its failure is the caller's error) and the
 * challenger (its failure is logged; polling retries it), then follows the refs.
 */
export async function createDeploymentRuntime(opts: DeploymentRuntimeOptions): Promise<DeploymentRuntime> {
  const { deployment: dep, registry, ledger, metrics, clock } = opts;
  const logger = (opts.logger ?? silentLogger).child({ deployment: dep.name });
  const openModel = opts.openModel ?? openModelFor;
  const maxRecords = opts.maxRecords ?? DEFAULT_MAX_RECORDS;
  const shadowTimeoutMs = opts.shadowTimeoutMs ?? 1000;
  const pollIntervalMs = opts.pollIntervalMs ?? 2000;
  const name = dep.name;
  const challengerSpec = dep.challenger;

  const ok = metrics.requests.labels(name, '200');
  const tally = createRequestTally();
  const swaps = metrics.swaps.labels(name);
  const unwatch = metrics.watchLedger(name, () => ledger.stats());

  let champion: ModelSlot | undefined;
  let challenger: ModelSlot | null = null;
  const failed = new Map<'champion' | 'challenger', { versionId: string; at: number }>();
  let inflight = 0;
  let closing = false;
  let drained: (() => void) | undefined;
  let closed: Promise<void> | undefined;
  let refreshChain: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  // The deployment follows its model's id: a rename keeps it, a new model of the old name is not it.
  // Deployments made before ids were kept (model_id null) still follow the name.
  const resolveSide = (selector: string) =>
    dep.modelId === null
      ? registry.versions.resolve(`${dep.model}@${selector}`)
      : registry.versions.resolveIn(dep.modelId, selector);

  /** Loads version `n` fully; `followed` is the ref the deployment follows (its alias goes in the log). */
  async function load(n: number, followed: string): Promise<ModelSlot> {
    const { version, stream } =
      dep.modelId === null
        ? await registry.versions.download(`${dep.model}@${n}`)
        : await registry.versions.downloadIn(dep.modelId, String(n));
    if (!isServableFormat(version.format)) {
      (stream as { destroy?: () => void }).destroy?.();
      throw new ValidationError(
        `'${version.model}@${version.version}' is not an ONNX or external model (${version.format})`,
      );
    }
    const bytes = await readAll(stream);
    const model = await openModel(bytes, version, { resilience: dep.resilience });
    return new ModelSlot(model, version, aliasOf(followed), logger);
  }

  /** Re-resolves one side; on a new version loads it fully, then swaps the pointer. */
  async function refreshSide(side: 'champion' | 'challenger', explicit: boolean): Promise<void> {
    const ref = side === 'champion' ? dep.ref : challengerSpec?.ref;
    if (ref === undefined) return;
    const fullRef = `${dep.model}@${ref}`;
    let version: ModelVersion;
    try {
      version = await resolveSide(ref);
    } catch (err) {
      logger.warn(
        { err: messageOf(err), ref: fullRef },
        'the followed ref does not resolve; keeping the loaded model',
      );
      return;
    }
    const current = side === 'champion' ? champion : challenger;
    if (current?.version.id === version.id) return;
    const lastFailure = failed.get(side);
    if (!explicit && lastFailure?.versionId === version.id && clock.now() - lastFailure.at < FAILED_RETRY_MS)
      return;
    let slot: ModelSlot;
    try {
      // Pinned to the resolved number: the alias may move again while this loads.
      slot = await load(version.version, ref);
    } catch (err) {
      failed.set(side, { versionId: version.id, at: clock.now() });
      metrics.loadFailures.labels(name, String(version.version)).inc();
      logger.error(
        { err: messageOf(err), version: `${version.model}@${version.version}`, side },
        current
          ? 'the new model version failed to load; the previous one keeps serving'
          : 'the model failed to load',
      );
      if (!current && side === 'champion') throw err;
      return;
    }
    failed.delete(side);
    if (closing) {
      slot.retire();
      return;
    }
    // The swap: new requests take the new slot from here; running ones finish on the old one.
    if (side === 'champion') champion = slot;
    else challenger = slot;
    if (current) {
      current.retire();
      swaps.inc();
      logger.info(
        {
          from: `${current.version.model}@${current.version.version}`,
          to: `${version.model}@${version.version}`,
          side,
        },
        'model swapped',
      );
    }
  }

  function refresh(explicit = true): Promise<void> {
    // One refresh at a time; a failed one does not stop the next.
    refreshChain = refreshChain
      .catch(() => undefined)
      .then(async () => {
        if (closing) return;
        await refreshSide('champion', explicit);
        await refreshSide('challenger', explicit);
      });
    return refreshChain;
  }

  /** The shadow's answer, per record; never rejects and never waits past shadowTimeoutMs. */
  async function runShadow(
    slot: ModelSlot,
    records: Record<string, unknown>[],
  ): Promise<{ outputs: PredictionOutput[] | null; error: string | null }> {
    let t: NodeJS.Timeout | undefined;
    // The slot is given back when the shadow's run ends, even one that outlived its timeout.
    const run = slot.model.predict(records);
    run.then(
      () => slot.giveBack(),
      () => slot.giveBack(),
    );
    try {
      const outputs = await Promise.race([
        run,
        new Promise<never>((_, reject) => {
          t = setTimeout(() => reject(new Error(`timed out after ${shadowTimeoutMs} ms`)), shadowTimeoutMs);
        }),
      ]);
      metrics.predictions.labels(name, slot.label, 'shadow').inc(records.length);
      return { outputs, error: null };
    } catch (err) {
      metrics.errors.labels(name, 'SHADOW_FAILED').inc();
      return { outputs: null, error: messageOf(err) };
    } finally {
      clearTimeout(t);
    }
  }

  /** A request's prediction ids in one go (increasing; the canary key's id, made first, stays first). */
  function requestIds(count: number, firstId: string | undefined, now: number): string[] {
    const ids = newIds('pred', Math.max(0, count - (firstId === undefined ? 0 : 1)), now);
    if (firstId !== undefined && count > 0) ids.unshift(firstId);
    return ids;
  }

  /** The log columns every row of one request shares. */
  function sharedColumns(
    slot: ModelSlot,
    role: 'champion' | 'challenger',
    servedAt: number,
    requestKey: string | null,
  ) {
    const v = slot.version;
    return {
      deploymentId: dep.id,
      modelVersionId: v.id,
      model: v.model,
      version: v.version,
      alias: slot.alias,
      role,
      servedAt,
      requestKey,
    };
  }

  /**
   * Logs a request the model failed (an external model server down, slow or answering garbage): its
   * records as failed predictions, with the error and no output, as durably as answered ones. A log
   * that cannot take them is logged here; the caller still gets the model's error.
   */
  async function logFailed(
    records: Record<string, unknown>[],
    slot: ModelSlot,
    role: 'champion' | 'challenger',
    f: {
      code: string;
      message: string;
      latencyUs: number;
      requestKey: string | null;
      firstId?: string | undefined;
    },
  ): Promise<void> {
    const now = clock.now();
    try {
      await ledger.appendBatch({
        ids: requestIds(records.length, f.firstId, now),
        ...sharedColumns(slot, role, now, f.requestKey),
        inputs: records,
        outputs: [],
        latencyUs: f.latencyUs,
        shadow: null,
        error: { code: f.code, message: f.message },
      });
    } catch (err) {
      logger.error({ err, rows: records.length }, 'the failed predictions could not be logged');
    }
  }

  async function predict(body: unknown, popts: PredictOptions = {}): Promise<PredictResult> {
    if (closing) {
      metrics.requests.labels(name, '503').inc();
      tally.failed('UNAVAILABLE');
      throw new UnavailableError(`deployment '${name}' is draining`);
    }
    const t0 = performance.now();
    inflight++;
    const champ = champion as ModelSlot;
    const chal = challenger;
    let slot = champ;
    let firstId: string | undefined;
    if (chal && challengerSpec?.mode === 'canary') {
      let key = popts.requestKey;
      if (key === undefined) {
        firstId = newId('pred', clock.now());
        key = firstId;
      }
      if (routesToChallenger(key, challengerSpec.percent ?? 0)) slot = chal;
    }
    const shadow = chal && challengerSpec?.mode === 'shadow' ? chal : null;
    // Taken before the first await: a swap from here on leaves these requests on these models.
    slot.acquire();
    shadow?.acquire();
    let shadowHeld = shadow !== null;
    /** Set once the model itself failed the parsed records (their failure is logged). */
    let failedRecords: Record<string, unknown>[] | null = null;
    try {
      const records = slot.model.parse(body, { maxRecords });
      let shadowRun: ReturnType<typeof runShadow> | null = null;
      if (shadow) {
        shadowHeld = false;
        shadowRun = runShadow(shadow, records);
      }
      const outputs = await slot.model.predict(records).catch((err: unknown) => {
        failedRecords = records;
        throw err;
      });
      const latencyUs = Math.round((performance.now() - t0) * 1000);
      const shadowOut = shadowRun ? await shadowRun : null;
      const now = clock.now();
      const v = slot.version;
      const role = slot === champ ? 'champion' : 'challenger';
      const requestKey = popts.requestKey ?? null;
      const ids = requestIds(records.length, firstId, now);
      // Each output as JSON once: the log keeps this text, and the reply is built from it.
      const outputsJson = outputsJsonOf(outputs);
      // One append for the request's records: one promise, the shared columns given once.
      const logged = ledger.appendBatch({
        ids,
        ...sharedColumns(slot, role, now, requestKey),
        inputs: records,
        outputs,
        outputsJson,
        latencyUs,
        shadow:
          shadow && shadowOut
            ? { modelVersionId: shadow.version.id, outputs: shadowOut.outputs, error: shadowOut.error }
            : null,
      });
      const items: PredictResponseItem[] = new Array(records.length);
      let unseenOf: (Record<string, string> | undefined)[] | null = null;
      for (let i = 0; i < records.length; i++) {
        const out = outputs[i] as PredictionOutput;
        const item: PredictResponseItem = {
          prediction_id: ids[i] as string,
          model: v.model,
          version: v.version,
          prediction: out.prediction,
        };
        if (out.probabilities !== undefined) item.probabilities = out.probabilities;
        if (out.outputs !== undefined) item.outputs = out.outputs;
        const unseen = slot.model.unseenCategories(records[i] as Record<string, unknown>);
        if (unseen !== undefined) {
          item.unseen_categories = unseen;
          unseenOf ??= new Array(records.length);
          unseenOf[i] = unseen;
        }
        items[i] = item;
      }
      let itemsJson: string | undefined;
      if (popts.explain) {
        const [explanations] = await Promise.all([popts.explain({ model: slot.model, records }), logged]);
        for (let i = 0; i < items.length; i++)
          (items[i] as PredictResponseItem).explanation = explanations[i];
      } else {
        itemsJson = itemsJsonOf(ids, v.model, v.version, outputs, outputsJson, unseenOf);
        await logged;
      }
      const m = countersOf(slot, role);
      m.latency.observe(latencyUs / 1e6);
      m.predictions.inc(records.length);
      ok.inc();
      tally.answered();
      return { items, itemsJson, served: { model: slot.model, records } };
    } catch (err) {
      const status = isAppError(err) ? err.status : 500;
      const code = isAppError(err) ? err.code : 'INTERNAL';
      metrics.requests.labels(name, String(status)).inc();
      metrics.errors.labels(name, code).inc();
      tally.failed(code);
      if (failedRecords !== null)
        await logFailed(failedRecords, slot, slot === champ ? 'champion' : 'challenger', {
          code,
          message: messageOf(err),
          latencyUs: Math.round((performance.now() - t0) * 1000),
          requestKey: popts.requestKey ?? null,
          firstId,
        });
      // The upstream's failures are not the caller's: logged with what the gateway knows of them.
      if (code === 'UPSTREAM_ERROR' || code === 'UPSTREAM_TIMEOUT')
        logger.warn(
          {
            code,
            version: `${slot.version.model}@${slot.version.version}`,
            details: (err as { details?: unknown }).details,
          },
          messageOf(err),
        );
      throw err;
    } finally {
      slot.giveBack();
      if (shadowHeld) shadow?.giveBack();
      inflight--;
      if (closing && inflight === 0) drained?.();
    }
  }

  /** The metric children of a slot, looked up once (labels hash on every call otherwise). */
  const counters = new WeakMap<ModelSlot, ReturnType<typeof childrenOf>>();
  // A slot answers in one role for its whole life: the champion's, or the canary challenger's.
  function childrenOf(slot: ModelSlot, role: 'champion' | 'challenger') {
    return {
      latency: metrics.latency.labels(name, slot.label),
      predictions: metrics.predictions.labels(name, slot.label, role),
    };
  }
  function countersOf(slot: ModelSlot, role: 'champion' | 'challenger') {
    let c = counters.get(slot);
    if (!c) {
      c = childrenOf(slot, role);
      counters.set(slot, c);
    }
    return c;
  }

  async function close(): Promise<void> {
    if (closed) return closed;
    closing = true;
    if (timer) clearInterval(timer);
    closed = (async () => {
      if (inflight > 0) await new Promise<void>((resolve) => (drained = resolve));
      await refreshChain.catch(() => undefined);
      try {
        await ledger.close();
      } finally {
        unwatch();
        champion?.retire();
        challenger?.retire();
      }
    })();
    return closed;
  }

  // The first load: a champion that cannot load is the caller's error; a challenger's is not.
  try {
    await refreshSide('champion', true);
  } catch (err) {
    unwatch();
    await ledger.close().catch(() => undefined);
    throw err;
  }
  await refreshSide('challenger', true);
  /*
   * A poll, not a job: what a runtime holds (its loaded model) lives in this process, and every process
   * serving the deployment must follow the alias: a broadcast, where a job or an event subscriber runs
   * once per cluster. The poll (one indexed read per side) bounds how long an alias move takes to
   * arrive, from this process or any other.
   */
  if (pollIntervalMs > 0) {
    timer = setInterval(() => {
      void refresh(false).catch((err: unknown) => logger.error({ err }, 'refreshing the deployment failed'));
    }, pollIntervalMs);
    timer.unref();
  }

  return {
    deployment: dep,
    predict,
    refresh: () => refresh(true),
    ready: () => !closing && champion !== undefined,
    serving: () => ({ champion: (champion as ModelSlot).version, challenger: challenger?.version ?? null }),
    flush: () => ledger.flush(),
    counts: tally.counts,
    close,
  };
}
