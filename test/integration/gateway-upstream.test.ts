import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/core/errors.js';
import { canonicalJson } from '../../src/core/hashing.js';
import type { ModelVersion, RegisterEndpointBody } from '../../src/registry/index.js';
import { registerEndpointBodySchema } from '../../src/registry/index.js';
import { openGatewayModel, probeEndpoint } from '../../src/serving/index.js';
import {
  type ModelServer,
  sklearnUnavailable,
  startNodeModelServer,
  startSklearnServer,
} from '../support/model-servers.js';

/*
 * The gateway against real model servers started here (child processes, real HTTP): the three
 * protocols, identity, and what happens when the upstream is down, slow or answers garbage.
 */

const features = [
  { name: 'f0', type: 'float' as const },
  { name: 'f1', type: 'float' as const },
  { name: 'f2', type: 'float' as const },
];
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const expectedP = (r: number[]) => sigmoid(0.5 * r[0]! - 0.25 * r[1]! + r[2]! + 0.1);

function body(server: string, over: Partial<RegisterEndpointBody> = {}): RegisterEndpointBody {
  return registerEndpointBodySchema.parse({
    url: server,
    protocol: 'oip',
    upstreamModel: 'tiny',
    features,
    task: 'classification',
    classes: ['0', '1'],
    ...over,
  });
}

/** A registered version as the registry would record it (the endpoint record is its file). */
async function versionOf(
  model: string,
  b: RegisterEndpointBody,
): Promise<{ version: ModelVersion; bytes: Uint8Array }> {
  const probed = await probeEndpoint(model, b);
  const bytes = new TextEncoder().encode(canonicalJson(probed.spec));
  const version = {
    id: `mv_${model}`,
    modelId: `m_${model}`,
    model,
    version: 1,
    format: 'endpoint',
    source: b.url,
    signature: { inputs: [], outputs: [], declared: { ...probed.declared, inputs: probed.features } },
  } as unknown as ModelVersion;
  return { version, bytes };
}

async function failure(
  p: Promise<unknown>,
): Promise<{ code: string; status: number; message: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    if (isAppError(err)) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

describe('the gateway against a Node model server', () => {
  let server: ModelServer;
  beforeAll(async () => {
    server = await startNodeModelServer();
  });
  afterAll(() => server.stop());

  const rows = [
    [1, 2, 3],
    [0, 0, 0],
    [-3, 1, -1],
  ];
  const records = rows.map((r) => ({ f0: r[0], f1: r[1], f2: r[2] }));

  it('answers the same model through MLflow /invocations, OIP and plain JSON with a mapping', async () => {
    const mapping = {
      recordShape: 'records' as const,
      recordsAt: '/payload/instances',
      predictionsAt: '/results',
      prediction: '/label',
      probabilities: '/proba',
    };
    for (const over of [
      { protocol: 'mlflow' as const },
      { protocol: 'oip' as const },
      { protocol: 'json' as const, url: `${server.url}/score`, mapping },
    ]) {
      const { version, bytes } = await versionOf('tiny', body(server.url, over));
      const m = await openGatewayModel(bytes, version);
      const out = await m.predict(records);
      expect(out.map((o) => o.probabilities?.['1'])).toEqual(
        rows.map((r) => expect.closeTo(expectedP(r), 9)),
      );
      expect(out.map((o) => String(o.prediction))).toEqual(
        rows.map((r) => (expectedP(r) >= 0.5 ? '1' : '0')),
      );
      const scores = await m.score(records);
      expect([...scores]).toEqual(rows.map((r) => expect.closeTo(expectedP(r), 9)));
    }
  });

  it('records the identity from OIP metadata, and refuses to serve when the server reports another model', async () => {
    const { version, bytes } = await versionOf('tiny', body(server.url));
    expect(JSON.parse(new TextDecoder().decode(bytes)).identity.source).toBe('metadata');
    await server.control({ identity: 'v2' });
    try {
      const err = await failure(openGatewayModel(bytes, version));
      expect(err).toMatchObject({
        code: 'UPSTREAM_ERROR',
        status: 502,
        details: { reason: 'identity_drift' },
      });
    } finally {
      await server.control({ identity: 'v1' });
    }
  });

  it('notices drift while serving (lazy re-check) and stops answering as that version until it is back', async () => {
    const { version, bytes } = await versionOf(
      'tiny',
      body(server.url, { resilience: { identityCheckMs: 10 } }),
    );
    const m = await openGatewayModel(bytes, version);
    await server.control({ identity: 'v2' });
    let err: Awaited<ReturnType<typeof failure>> | undefined;
    for (let i = 0; i < 100 && err === undefined; i++) {
      await new Promise((r) => setTimeout(r, 20));
      err = await m.predict(records).then(
        () => undefined,
        (e: unknown) => (isAppError(e) ? e : undefined),
      );
    }
    expect(err).toMatchObject({ code: 'UPSTREAM_ERROR', details: { reason: 'identity_drift' } });
    await server.control({ identity: 'v1' });
    let back = false;
    for (let i = 0; i < 100 && !back; i++) {
      await new Promise((r) => setTimeout(r, 20));
      back = await m.predict(records).then(
        () => true,
        () => false,
      );
    }
    expect(back).toBe(true);
  });

  it('reports garbage and upstream 5xx as UPSTREAM_ERROR (502), slowness as UPSTREAM_TIMEOUT (504)', async () => {
    const { version, bytes } = await versionOf(
      'tiny',
      body(server.url, {
        protocol: 'mlflow',
        resilience: { timeoutMs: 300, retries: 0, breakerFailures: 100 },
      }),
    );
    const m = await openGatewayModel(bytes, version);
    try {
      await server.control({ mode: 'garbage' });
      const g = await failure(m.predict(records));
      expect(g).toMatchObject({ code: 'UPSTREAM_ERROR', status: 502 });
      expect(g.message).toMatch(/not JSON: <html>gateway oops/);
      await server.control({ mode: 'error500' });
      const e = await failure(m.predict(records));
      expect(e).toMatchObject({ code: 'UPSTREAM_ERROR', details: { upstreamStatus: 500 } });
      expect(e.message).toMatch(/HTTP 500: model crashed/);
      await server.control({ mode: 'slow' });
      expect(await failure(m.predict(records))).toMatchObject({ code: 'UPSTREAM_TIMEOUT', status: 504 });
    } finally {
      await server.control({ mode: 'ok' });
    }
  });

  it('retries a 503, then answers', async () => {
    const { version, bytes } = await versionOf(
      'tiny',
      body(server.url, { resilience: { retries: 1, backoffMs: 1 } }),
    );
    const m = await openGatewayModel(bytes, version);
    await server.control({ mode: 'error503once' });
    expect((await m.predict(records)).length).toBe(3);
  });

  it('refuses to score past its call budget (explanations over an endpoint are bounded)', async () => {
    const { version, bytes } = await versionOf(
      'tiny',
      body(server.url, { resilience: { batchRows: 2, scoreCallBudget: 1 } }),
    );
    const m = await openGatewayModel(bytes, version);
    expect(await failure(m.score(records))).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'samples', calls: 2 },
    });
  });

  it('down: connection refused is a 502; the breaker opens, fails fast, then a probe closes it once the server is back', async () => {
    const { version, bytes } = await versionOf(
      'tiny',
      body(server.url, { resilience: { retries: 1, backoffMs: 1, breakerFailures: 2, breakerResetMs: 300 } }),
    );
    const m = await openGatewayModel(bytes, version);
    await server.stop();
    try {
      const first = await failure(m.predict(records));
      expect(first).toMatchObject({
        code: 'UPSTREAM_ERROR',
        status: 502,
        details: { cause: 'ECONNREFUSED' },
      });
      await failure(m.predict(records));
      const open = await failure(m.predict(records));
      expect(open).toMatchObject({ code: 'UPSTREAM_ERROR', details: { circuit: 'open' } });
    } finally {
      await server.restart();
    }
    let answered = false;
    for (let i = 0; i < 50 && !answered; i++) {
      await new Promise((r) => setTimeout(r, 50));
      answered = await m.predict(records).then(
        () => true,
        () => false,
      );
    }
    expect(answered).toBe(true);
  });

  it('refuses to register a server that does not answer readably', async () => {
    await server.control({ mode: 'garbage' });
    try {
      expect(await failure(probeEndpoint('tiny', body(server.url, { protocol: 'mlflow' })))).toMatchObject({
        code: 'UPSTREAM_ERROR',
      });
    } finally {
      await server.control({ mode: 'ok' });
    }
    expect(
      await failure(probeEndpoint('tiny', body('http://127.0.0.1:9', { resilience: { retries: 0 } }))),
    ).toMatchObject({ code: 'UPSTREAM_ERROR' });
  });
});

const noSklearn = sklearnUnavailable();
if (noSklearn) console.warn(`SKIPPED: the sklearn model server suite (${noSklearn})`);

describe.skipIf(noSklearn !== null)('the gateway against a Python server over a real sklearn model', () => {
  let sk: { url: string; stop(): Promise<void> };
  beforeAll(async () => {
    sk = await startSklearnServer();
  }, 60_000);
  afterAll(() => sk?.stop());

  it('serves its labels over MLflow /invocations and its probabilities over OIP, with the metadata digest as identity', async () => {
    const records = [
      { f0: 3, f1: 0, f2: 2 },
      { f0: -3, f1: 2, f2: -2 },
    ];
    const mlflow = await versionOf('sk', body(sk.url, { protocol: 'mlflow', upstreamModel: 'sk' }));
    const labels = await (await openGatewayModel(mlflow.bytes, mlflow.version)).predict(records);
    expect(labels.map((o) => o.prediction)).toEqual([1, 0]);
    const oip = await versionOf('sk', body(sk.url, { protocol: 'oip', upstreamModel: 'sk' }));
    expect(JSON.parse(new TextDecoder().decode(oip.bytes)).identity.source).toBe('metadata');
    const out = await (await openGatewayModel(oip.bytes, oip.version)).predict(records);
    expect(out[0]?.probabilities?.['1']).toBeGreaterThan(0.9);
    expect(out[1]?.probabilities?.['1']).toBeLessThan(0.1);
  });
});
