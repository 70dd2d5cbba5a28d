import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase } from '../support/backends.js';
import { MLFLOW } from './helpers.js';

/*
 * Property-based fuzzing of the MLflow facade and the native API (issue 16, the hostile-input suite).
 * Whatever a client sends: no 500, every refusal in the API's error shape, and a refusal stores
 * nothing (the audit chain, which every change writes in its own transaction, does not grow). A failure
 * prints its seed and path; fast-check shrinks it to a small counterexample.
 */

// A fixed seed keeps CI reproducible; SEXTANT_FUZZ_SEED / SEXTANT_FUZZ_RUNS explore further by hand.
const RUNS = Number(process.env.SEXTANT_FUZZ_RUNS ?? 40);
const SEED = Number(process.env.SEXTANT_FUZZ_SEED ?? 20_261_203);

/** Strings a hostile client likes: huge digit runs, traversal in encodings, look-alikes, controls. */
const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '../../etc/passwd',
    '..%2f..%2fetc',
    '%2e%2e/%2e%2e/',
    '..\\..\\windows',
    'file:///etc/passwd',
    'mlflow-artifacts:/../..',
    '12345678901234567890123',
    '-9999999999999999999999',
    '1e309',
    'NaN',
    'Infinity',
    'сredit',
    'cred\u200bit',
    '\u0000',
    '<script>alert(1)</script>',
    "' OR 1=1 --",
    'a'.repeat(5000),
    '',
  ),
);
const nastyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    nastyString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(nastyString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

const int64ish = fc.oneof(
  fc.integer(),
  fc.maxSafeNat(),
  fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }).map(String),
  fc.stringMatching(/^-?\d{1,30}$/),
);
const keyValues = fc.array(fc.record({ key: nastyString, value: nastyString }), { maxLength: 4 });

/**
 * What a field of that name plausibly holds, so most requests get past the schema to the rules behind
 * it; one value in five is anything at all.
 */
function fieldValue(field: string, ids: { run: string; experiment: string }): fc.Arbitrary<unknown> {
  const plausible: Record<string, fc.Arbitrary<unknown>> = {
    run_id: fc.constant(ids.run),
    experiment_id: fc.oneof(fc.constant(ids.experiment), nastyString),
    experimentId: fc.oneof(fc.constant(ids.experiment), nastyString),
    experiment_ids: fc.array(fc.oneof(fc.constant(ids.experiment), nastyString), { maxLength: 3 }),
    start_time: int64ish,
    end_time: int64ish,
    startTime: fc.integer(),
    timestamp: int64ish,
    step: int64ish,
    max_results: int64ish,
    value: fc.oneof(nastyString, fc.double()),
    tags: fc.oneof(keyValues, fc.dictionary(nastyString, nastyString, { maxKeys: 3 })),
    params: keyValues,
    metrics: fc.array(
      fc.record({ key: nastyString, value: fc.double(), timestamp: int64ish, step: int64ish }),
      { maxLength: 4 },
    ),
    order_by: fc.array(nastyString, { maxLength: 3 }),
    status: fc.constantFrom('RUNNING', 'FINISHED', 'FAILED', 'KILLED', 'SCHEDULED', 'bogus'),
  };
  return fc.oneof(
    { weight: 4, arbitrary: plausible[field] ?? nastyString },
    { weight: 1, arbitrary: nastyValue },
  );
}

/** A body with the fields an endpoint knows (plausible or hostile values), or anything at all. */
function bodyFor(fields: string[], ids: { run: string; experiment: string }): fc.Arbitrary<unknown> {
  const known = fc.record(Object.fromEntries(fields.map((f) => [f, fieldValue(f, ids)])), {
    requiredKeys: [],
  });
  return fc.oneof(
    { weight: 4, arbitrary: known },
    fc.jsonValue(),
    fc.dictionary(nastyString, nastyValue, { maxKeys: 5 }),
  );
}

describe('hostile: fuzzing the MLflow facade and the native API', () => {
  let t: TestApp;
  let store: Store;
  let drop: () => Promise<void>;
  let experimentId: string;
  let runId: string;

  beforeAll(async () => {
    const db = await createTestDatabase('sqlite');
    drop = db.drop;
    store = await openStore(db.url);
    t = await createTestApp(store);
    experimentId = (await t.services.experiments.create({ actor: 'local', name: `fuzz-${Date.now()}` })).id;
    runId = (await t.services.runs.create({ actor: 'local', experimentId })).id;
  });
  afterAll(async () => {
    await t.close();
    await store.close();
    await drop();
  });

  const ids = () => ({ run: runId, experiment: experimentId });
  const auditCount = async () =>
    Number(
      (
        await store.db
          .selectFrom('audit_entries')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  /** The promises every reply keeps, and the audit chain only grows on success. */
  async function check(res: LightMyRequestResponse, before: number, style: 'mlflow' | 'native') {
    expect(res.statusCode, res.body.slice(0, 500)).toBeLessThan(500);
    if (res.statusCode >= 400) {
      const body = res.json() as Record<string, unknown>;
      if (style === 'mlflow') expect(typeof body.error_code, res.body).toBe('string');
      else expect(typeof (body.error as { code?: unknown } | undefined)?.code, res.body).toBe('string');
      expect(await auditCount(), `a refused request stored something: ${res.body}`).toBe(before);
    }
  }

  const mlflowEndpoints: [string, string[]][] = [
    ['experiments/create', ['name', 'artifact_location', 'tags']],
    ['runs/create', ['experiment_id', 'user_id', 'run_name', 'start_time', 'tags']],
    ['runs/log-batch', ['run_id', 'metrics', 'params', 'tags']],
    ['runs/log-metric', ['run_id', 'key', 'value', 'timestamp', 'step']],
    ['runs/log-parameter', ['run_id', 'key', 'value']],
    ['runs/set-tag', ['run_id', 'key', 'value']],
    ['runs/update', ['run_id', 'status', 'end_time', 'run_name']],
    ['runs/search', ['experiment_ids', 'filter', 'order_by', 'max_results', 'page_token']],
    ['experiments/search', ['filter', 'order_by', 'max_results', 'page_token']],
    ['registered-models/create', ['name', 'description', 'tags']],
    ['model-versions/create', ['name', 'source', 'run_id', 'description']],
  ];

  for (const [path, fields] of mlflowEndpoints) {
    it(`MLflow ${path}: no 500 and nothing stored on refusal, whatever the body`, async () => {
      await fc.assert(
        fc.asyncProperty(bodyFor(fields, ids()), async (payload) => {
          const before = await auditCount();
          const res = await t.app.inject({
            method: 'POST',
            url: `${MLFLOW}/${path}`,
            headers: { 'content-type': 'application/json' },
            payload: JSON.stringify(payload ?? null),
          });
          await check(res, before, 'mlflow');
        }),
        { numRuns: RUNS, seed: SEED },
      );
    }, 120_000);
  }

  it('MLflow GET endpoints: hostile query strings answer 4xx or 200, never 500', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          'runs/get',
          'experiments/get',
          'experiments/get-by-name',
          'metrics/get-history',
          'registered-models/get',
          'artifacts/list',
        ),
        fc.dictionary(
          fc.constantFrom('run_id', 'experiment_id', 'experiment_name', 'metric_key', 'name', 'path'),
          nastyString,
          { maxKeys: 3 },
        ),
        async (path, query) => {
          const qs = new URLSearchParams(query).toString();
          const before = await auditCount();
          const res = await t.app.inject({ method: 'GET', url: `${MLFLOW}/${path}?${qs}` });
          await check(res, before, 'mlflow');
        },
      ),
      { numRuns: RUNS * 2, seed: SEED },
    );
  }, 120_000);

  it('native API: hostile bodies and path segments answer 4xx or 2xx, never 500, and store nothing on refusal', async () => {
    const segment = nastyString.map((s) => encodeURIComponent(s) || 'x');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          bodyFor(['name', 'artifactLocation', 'tags'], ids()).map(
            (b) => ['POST', '/api/v1/experiments', b] as const,
          ),
          bodyFor(['experimentId', 'name', 'startTime', 'userId', 'tags', 'gitCommit'], ids()).map(
            (b) => ['POST', '/api/v1/runs', b] as const,
          ),
          bodyFor(['metrics', 'params', 'tags'], ids()).map(
            (b) => ['POST', `/api/v1/runs/${runId}/batch`, b] as const,
          ),
          segment.map((s) => ['GET', `/api/v1/models/${s}`, undefined] as const),
          segment.map((s) => ['GET', `/api/v1/runs/${runId}/artifacts/${s}`, undefined] as const),
          fc
            .tuple(segment, bodyFor(['newName', 'description'], ids()))
            .map(([s, b]) => ['PATCH', `/api/v1/models/${s}`, b] as const),
          bodyFor(['name', 'model', 'challenger', 'ledgerMode'], ids()).map(
            (b) => ['POST', '/api/v1/deployments', b] as const,
          ),
        ),
        async ([method, url, body]) => {
          const before = await auditCount();
          const res = await t.app.inject({
            method,
            url,
            ...(body === undefined
              ? {}
              : { headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body ?? null) }),
          });
          await check(res, before, 'native');
        },
      ),
      { numRuns: RUNS * 3, seed: SEED },
    );
  }, 180_000);

  // Found by this suite: Fastify's router answered a path parameter over its 100-character default
  // itself, with 414 in its own shape, before the app's error handler saw it.
  it('a long path parameter reaches the route: a 150-character model name is looked up, not refused', async () => {
    const before = await auditCount();
    const name = 'a'.repeat(150);
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/models/${name}` });
    await check(res, before, 'native');
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('NOT_FOUND');
  });

  it('a path parameter over the router limit, or badly percent-encoded, is answered in the API error shape naming the path', async () => {
    for (const url of [`/api/v1/models/${'a'.repeat(5000)}`, '/api/v1/models/%E0%A4%A']) {
      const before = await auditCount();
      const res = await t.app.inject({ method: 'GET', url });
      await check(res, before, 'native');
      expect(res.statusCode, url.slice(0, 40)).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'path' } });
      expect(res.json().error.message).toMatch(/^path: /);
    }
  });
});
