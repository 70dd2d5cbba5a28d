import { UnavailableError, UpstreamError, ValidationError } from '../../core/errors.js';
import { canonicalJson, sha256Hex } from '../../core/hashing.js';
import {
  type EndpointIdentity,
  type EndpointResilience,
  type EndpointSpec,
  endpointResilienceSchema,
  endpointSpecSchema,
  type ModelVersion,
  type RegisterEndpointBody,
} from '../../registry/index.js';
import type { ModelPlan } from '../model/model-plan.js';
import { createRecordChecker } from '../model/record-check.js';
import type { ServingModel } from '../model/serving-model.js';
import type { PredictionOutput } from '../serving.schema.js';
import { type Adapter, adapterFor, type Feature, type Task } from './protocols.js';
import { createUpstreamClient, type UpstreamClient } from './upstream-client.js';

/*
 * A ServingModel whose predictions come from an external model server (the gateway). Everything
 * above it (parsing and checking records, the prediction log, shadow and canary, feedback, trace,
 * KernelSHAP explanations, monitoring's reference scores) is the same code ONNX models go through.
 *
 * Identity: the version records what the server was serving when it was registered (the sha256 of
 * its OIP metadata, of an uploaded artifact, or of its answers to two fixed probe records). A server
 * that now reports something else is refused at load (the version does not serve), and a request
 * that finds the drift on a later re-check fails as UPSTREAM_ERROR (reason identity_drift) until the
 * server serves the registered model again: Sextant never logs another model's answers as this version's.
 */

const PROBE_ROWS = 2;

interface Connection {
  adapter: Adapter;
  /** The identity the server shows now: its metadata's digest (OIP), else its probe answers' digest. */
  identity(): Promise<string>;
}

interface Target {
  protocol: EndpointSpec['protocol'];
  url: string;
  upstreamModel: string;
  mapping: EndpointSpec['mapping'];
  features: Feature[];
  task: Task;
}

function probeRecords(features: readonly Feature[]): Record<string, unknown>[] {
  return Array.from({ length: PROBE_ROWS }, (_, i) =>
    Object.fromEntries(features.map((f) => [f.name, f.type === 'string' ? 'a' : i])),
  );
}

function oipInputsOf(meta: unknown): { name: string; datatype: string }[] | null {
  const inputs = (meta as { inputs?: unknown } | null)?.inputs;
  if (!Array.isArray(inputs)) return null;
  const out: { name: string; datatype: string }[] = [];
  for (const i of inputs) {
    const e = i as { name?: unknown; datatype?: unknown };
    if (typeof e?.name === 'string') out.push({ name: e.name, datatype: String(e.datatype ?? 'FP64') });
  }
  return out.length > 0 ? out : null;
}

async function run(client: UpstreamClient, adapter: Adapter, records: readonly Record<string, unknown>[]) {
  const { url, body } = adapter.request(records);
  return adapter.read(await client.call('POST', url, body), records.length);
}

/** Reaches the server: its metadata (OIP) and one probe call, which must answer readably. */
async function connect(t: Target, client: UpstreamClient): Promise<Connection & { first: string }> {
  let oipInputs: { name: string; datatype: string }[] | null = null;
  let metadataSha: string | null = null;
  const base = adapterFor({ ...t, oipInputs: null });
  if (base.metadataUrl !== null) {
    const meta = await client.call('GET', base.metadataUrl);
    if (meta === null || typeof meta !== 'object' || Array.isArray(meta))
      throw new UpstreamError('the model server reports no model metadata (expected a JSON object)', {
        reason: 'bad_answer',
      });
    oipInputs = oipInputsOf(meta);
    metadataSha = sha256Hex(canonicalJson(meta));
  }
  const adapter = oipInputs === null ? base : adapterFor({ ...t, oipInputs });
  const probe = probeRecords(t.features);
  const probed = sha256Hex(canonicalJson(await run(client, adapter, probe)));
  const identity = async (): Promise<string> => {
    if (adapter.metadataUrl !== null)
      return sha256Hex(canonicalJson(await client.call('GET', adapter.metadataUrl)));
    return sha256Hex(canonicalJson(await run(client, adapter, probe)));
  };
  return { adapter, identity, first: metadataSha ?? probed };
}

function declaredOf(version: ModelVersion): { features: Feature[]; task: Task } {
  const d = version.signature?.declared ?? {};
  const inputs = Array.isArray(d.inputs) ? (d.inputs as { name?: unknown; type?: unknown }[]) : [];
  const features = inputs
    .filter((i) => typeof i?.name === 'string')
    .map((i) => ({
      name: i.name as string,
      type: i.type === 'string' ? ('string' as const) : ('float' as const),
    }));
  const classes =
    Array.isArray(d.classes) && d.classes.every((c) => typeof c === 'string')
      ? (d.classes as string[])
      : null;
  return { features, task: { task: d.task === 'regression' ? 'regression' : 'classification', classes } };
}

/** The record checker's view of an external model: one input per feature, nothing imputed. */
function planOf(features: Feature[]): ModelPlan {
  return {
    kind: 'records',
    features,
    recordInputs: features.map((f) => ({
      name: f.name,
      feed: f.type === 'string' ? 'string' : 'float64',
      rank: 2,
    })),
    tensorInput: null,
    fixedBatch: null,
    tensorOutputs: [],
    imputesMissing: false,
    head: { mode: 'regressor', value: '' },
    fetch: [],
  };
}

/** The endpoint record of an external version, checked (a record that does not parse is refused). */
export function readEndpointSpec(bytes: Uint8Array, label: string): EndpointSpec {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new ValidationError(`${label}: the endpoint record is not JSON`, { field: 'model' });
  }
  const parsed = endpointSpecSchema.safeParse(json);
  if (!parsed.success)
    throw new ValidationError(
      `${label}: the endpoint record is malformed (${parsed.error.issues[0]?.message})`,
      {
        field: 'model',
      },
    );
  return parsed.data;
}

function hostOf(url: string): string {
  return new URL(url).host;
}

/**
 * Opens an external model version for serving: reaches the server, checks it still serves the
 * registered model (UpstreamError, reason identity_drift, when not) and answers through it.
 */
export async function openGatewayModel(
  bytes: Uint8Array,
  version: ModelVersion,
  opts: { now?: () => number; resilience?: Partial<EndpointResilience> } = {},
): Promise<ServingModel> {
  const label = `${version.model}@${version.version}`;
  const spec = readEndpointSpec(bytes, label);
  const now = opts.now ?? Date.now;
  const { features, task } = declaredOf(version);
  if (features.length === 0)
    throw new ValidationError(`${label}: the external model records no features`, { field: 'model' });
  // A deployment's override replaces the version's settings it names.
  const r: EndpointResilience = { ...spec.resilience, ...opts.resilience };
  const client = createUpstreamClient({
    label: `the model server of ${label} (${hostOf(spec.url)})`,
    resilience: r,
    now,
  });
  const target: Target = {
    protocol: spec.protocol,
    url: spec.url,
    upstreamModel: spec.upstreamModel ?? version.model,
    mapping: spec.mapping,
    features,
    task,
  };
  const conn = await connect(target, client);
  const expected = spec.identity;
  const drift = (reported: string) =>
    new UpstreamError(
      `${label}: the model server now serves another model (identity ${reported.slice(0, 12)}, registered ${expected.sha256.slice(0, 12)} from its ${expected.source}); register it as a new version`,
      { reason: 'identity_drift', expected: expected.sha256, reported },
    );
  if (expected.source !== 'artifact' && conn.first !== expected.sha256) throw drift(conn.first);

  const checker = createRecordChecker(planOf(features));
  let released = false;
  let drifted: string | null = null;
  let checkedAt = now();
  let checking = false;
  const counters = { runs: 0, calls: 0, rows: 0, maxCallsPerRun: 1 };

  /** A lazy heartbeat: a request past the interval starts one re-check in the background. */
  function recheck(): void {
    if (expected.source === 'artifact' || r.identityCheckMs === 0 || checking) return;
    if (now() - checkedAt < r.identityCheckMs) return;
    checking = true;
    checkedAt = now();
    conn
      .identity()
      .then(
        (sha) => {
          drifted = sha === expected.sha256 ? null : sha;
        },
        () => undefined, // an unreachable server shows up on the requests themselves
      )
      .finally(() => {
        checking = false;
      });
  }

  async function answer(rows: readonly Record<string, unknown>[]): Promise<PredictionOutput[]> {
    if (released) throw new UnavailableError(`${label} is being unloaded; retry`, { model: label });
    recheck();
    if (drifted !== null) throw drift(drifted);
    counters.calls++;
    const out: PredictionOutput[] = [];
    for (let start = 0; start < rows.length; start += r.batchRows) {
      const part = rows.slice(start, start + r.batchRows);
      counters.runs++;
      counters.rows += part.length;
      out.push(...(await run(client, conn.adapter, part)));
    }
    return out;
  }

  const positive = task.classes?.[task.classes.length - 1];
  return {
    version,
    bytes,
    kind: 'records',
    features,
    parse: checker.parse,
    predict: answer,
    unseenCategories: () => undefined,
    async score(rows) {
      const calls = Math.ceil(rows.length / r.batchRows);
      if (calls > r.scoreCallBudget) {
        throw new ValidationError(
          `scoring ${rows.length} rows through ${label}'s model server takes ${calls} calls; its budget is ${r.scoreCallBudget} (lower samples or the background size)`,
          { field: 'samples', calls, budget: r.scoreCallBudget },
        );
      }
      const outputs = await answer(rows);
      const scores = new Float64Array(rows.length);
      outputs.forEach((o, i) => {
        if (task.task === 'regression') scores[i] = Number(o.prediction);
        else if (o.probabilities !== undefined) {
          const p =
            positive !== undefined ? o.probabilities[positive] : Object.values(o.probabilities).at(-1);
          scores[i] = Number(p);
        } else scores[i] = String(o.prediction) === positive ? 1 : 0;
      });
      return scores;
    },
    async release() {
      released = true;
    },
    stats: () => ({ ...counters }),
  };
}

/** What registering an external model records: the endpoint record, identity included, and its signature facts. */
export interface ProbedEndpoint {
  spec: EndpointSpec;
  features: Feature[];
  declared: Record<string, unknown>;
}

/**
 * Reaches a model server before it is registered: it must answer a probe readably; its identity is
 * the sha256 of its OIP metadata, else of its probe answers (or the artifact's sha256 when given).
 */
export async function probeEndpoint(model: string, input: RegisterEndpointBody): Promise<ProbedEndpoint> {
  const task: Task = { task: input.task, classes: input.classes ?? null };
  if (input.task === 'classification' && input.classes === undefined)
    throw new ValidationError(
      'classes: a classifier needs its class labels, in the order of its probabilities',
      {
        field: 'classes',
      },
    );
  const resilience = endpointResilienceSchema.parse(input.resilience ?? {});
  const client = createUpstreamClient({ label: `the model server at ${hostOf(input.url)}`, resilience });
  const target: Target = {
    protocol: input.protocol,
    url: input.url,
    upstreamModel: input.upstreamModel ?? model,
    mapping: input.mapping,
    features: input.features,
    task,
  };
  const conn = await connect(target, client);
  const identity: EndpointIdentity =
    input.artifactSha256 !== undefined
      ? { source: 'artifact', sha256: input.artifactSha256 }
      : { source: conn.adapter.metadataUrl !== null ? 'metadata' : 'probe', sha256: conn.first };
  const spec = endpointSpecSchema.parse({
    url: input.url,
    protocol: input.protocol,
    ...(input.upstreamModel !== undefined ? { upstreamModel: input.upstreamModel } : {}),
    ...(input.mapping !== undefined ? { mapping: input.mapping } : {}),
    resilience,
    identity,
  });
  return {
    spec,
    features: input.features,
    declared: {
      task: input.task,
      ...(input.classes !== undefined ? { classes: input.classes } : {}),
      ...(input.target !== undefined ? { target: input.target } : {}),
    },
  };
}
