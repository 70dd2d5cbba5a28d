import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { experimentSchema, runSchema } from '../../src/tracking/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import {
  mlflowClient,
  mlflowError,
  mlflowErrorSchema,
  nativeError,
  nativeErrorSchema,
  PROXY,
  rawRequest,
  uniq,
} from './helpers.js';

/** Every file under a folder, as paths relative to it. */
function filesUnder(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return (fs.readdirSync(root, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((d) => !d.isDirectory())
    .map((d) => path.relative(root, path.join(d.parentPath, d.name)))
    .sort();
}

describeEachBackend('bad input is refused and loses nothing already stored', (getStore) => {
  let t: TestApp;
  let port: number;
  let expId: string;
  let runId: string;
  const kept = Buffer.from(`model weights ${uniq('w')}\n`);

  beforeAll(async () => {
    t = await createTestApp(getStore());
    const exp = experimentSchema.parse(
      (
        await t.app.inject({ method: 'POST', url: '/api/v1/experiments', payload: { name: uniq('bad') } })
      ).json(),
    );
    expId = exp.id;
    runId = runSchema.parse(
      (await t.app.inject({ method: 'POST', url: '/api/v1/runs', payload: { experimentId: expId } })).json(),
    ).id;
    const batch = {
      metrics: [{ key: 'acc', value: 0.5, step: 1 }],
      params: [{ key: 'lr', value: '0.1' }],
      tags: [{ key: 'k', value: 'v' }],
    };
    expect(
      (await t.app.inject({ method: 'POST', url: `/api/v1/runs/${runId}/batch`, payload: batch })).statusCode,
    ).toBe(200);
    expect(
      (
        await t.app.inject({
          method: 'PUT',
          url: `/api/v1/runs/${runId}/artifacts/keep/model.bin`,
          payload: kept,
        })
      ).statusCode,
    ).toBe(201);
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as AddressInfo).port;
  });
  afterAll(() => t.close());

  /** Everything a refused request must leave as it was: rows, artifacts, blobs, audit trail, files. */
  async function snapshot() {
    const run = (await t.app.inject({ method: 'GET', url: `/api/v1/runs/${runId}` })).json();
    const exp = (await t.app.inject({ method: 'GET', url: `/api/v1/experiments/${expId}` })).json();
    const artifacts = (
      await t.app.inject({ method: 'GET', url: `/api/v1/runs/${runId}/artifacts?path=keep` })
    ).json();
    const bytes = (
      await t.app.inject({ method: 'GET', url: `/api/v1/runs/${runId}/artifacts/keep/model.bin` })
    ).rawPayload;
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from audit_entries`.execute(
      t.services.store.db,
    );
    return {
      run,
      exp,
      artifacts,
      bytes: bytes.toString('hex'),
      audit: Number(rows[0]?.n),
      files: filesUnder(t.config.home),
    };
  }
  /** Runs the refused requests and checks that nothing changed, in the database or on disk. */
  async function refusedLosingNothing(fn: () => Promise<void>) {
    const before = await snapshot();
    await fn();
    expect(await snapshot()).toEqual(before);
    // Besides blobs, the home holds only the audit head witness (written by earlier, accepted changes).
    const strays = filesUnder(t.config.home).filter(
      (f) => !f.startsWith(`blobs${path.sep}`) && !/^audit-witness-[0-9a-f]+\.json$/.test(f),
    );
    expect(strays).toEqual([]);
  }

  describe('artifact paths that try to leave the run', () => {
    const marker = uniq('escape');
    const attacks = [
      `../${marker}`,
      `a/../../${marker}`,
      `%2e%2e%2f${marker}`,
      `%2E%2E/${marker}`,
      `%252e%252e%252f${marker}`,
      `..\\${marker}`,
      `..%5C${marker}`,
      '/etc/passwd',
      `C:/${marker}`,
      `c:%5C${marker}`,
      `a%00${marker}`,
    ];

    it.each(attacks)(
      '%s is a 400 naming the path, on the native API and through the MLflow proxy',
      async (attack) => {
        await refusedLosingNothing(async () => {
          const urls = [
            ['PUT', `/api/v1/runs/${runId}/artifacts/${attack}`],
            ['GET', `/api/v1/runs/${runId}/artifacts/${attack}`],
            ['GET', `/api/v1/runs/${runId}/artifacts?path=${attack}`],
            ['PUT', `${PROXY}/${expId}/${runId}/artifacts/${attack}`],
            ['GET', `${PROXY}/${expId}/${runId}/artifacts/${attack}`],
            ['DELETE', `${PROXY}/${expId}/${runId}/artifacts/${attack}`],
            ['GET', `${PROXY}?path=${expId}/${runId}/artifacts/${attack}`],
            ['PUT', `${PROXY}/${attack}`],
          ] as const;
          for (const [method, url] of urls) {
            const res = await rawRequest(port, method, url, method === 'PUT' ? 'pwned' : undefined);
            expect(res.status, `${method} ${url}: ${res.body}`).toBe(400);
            const body = JSON.parse(res.body.toString('utf8')) as unknown;
            const message = url.startsWith('/api/v1')
              ? nativeErrorSchema.parse(body).error.message
              : mlflowErrorSchema.parse(body).message;
            expect(message, `${method} ${url}`).toMatch(/^path: /);
          }
        });
        for (const dir of [
          os.tmpdir(),
          t.config.home,
          path.dirname(t.config.home),
          path.join(t.config.home, 'blobs'),
          process.cwd(),
        ]) {
          expect(fs.existsSync(path.join(dir, marker)), `${dir}/${marker}`).toBe(false);
        }
      },
    );
  });

  it('never follows a symlink planted in the blob store: the download fails instead of serving its target', async () => {
    const original = Buffer.from(`original ${uniq('bytes')}`);
    const put = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/runs/${runId}/artifacts/victim.txt`,
      payload: original,
    });
    const { sha256 } = put.json() as { sha256: string };
    const blobFile = path.join(t.config.home, 'blobs', sha256.slice(0, 2), sha256.slice(2, 4), sha256);
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-outside-'));
    const secret = Buffer.from(`TOP SECRET ${'x'.repeat(original.length)}`);
    fs.writeFileSync(path.join(outside, 'secret'), secret);
    try {
      fs.rmSync(blobFile);
      fs.symlinkSync(path.join(outside, 'secret'), blobFile);
      const native = await t.app.inject({ method: 'GET', url: `/api/v1/runs/${runId}/artifacts/victim.txt` });
      nativeError(native, 500, 'INTEGRITY_ERROR');
      const proxied = await t.app.inject({
        method: 'GET',
        url: `${PROXY}/${expId}/${runId}/artifacts/victim.txt`,
      });
      mlflowError(proxied, 500, 'DATA_LOSS');
      for (const res of [native, proxied]) expect(res.body).not.toContain('TOP SECRET');
      // Uploading the same bytes again replaces the link (never writes through it) and repairs the artifact.
      await t.app.inject({
        method: 'PUT',
        url: `/api/v1/runs/${runId}/artifacts/victim.txt`,
        payload: original,
      });
      expect(fs.lstatSync(blobFile).isSymbolicLink()).toBe(false);
      expect(
        (
          await t.app.inject({ method: 'GET', url: `/api/v1/runs/${runId}/artifacts/victim.txt` })
        ).rawPayload.equals(original),
      ).toBe(true);
      expect(fs.readFileSync(path.join(outside, 'secret')).equals(secret)).toBe(true);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('refuses names over the limits, naming the field', async () => {
    await refusedLosingNothing(async () => {
      const cases: [string, string, unknown, string][] = [
        ['POST', '/api/v1/experiments', { name: 'e'.repeat(501) }, 'body.name'],
        ['POST', '/api/v1/runs', { experimentId: expId, name: 'r'.repeat(501) }, 'body.name'],
        [
          'POST',
          `/api/v1/runs/${runId}/batch`,
          { metrics: [{ key: 'k'.repeat(251), value: 1 }] },
          'body.metrics.0.key',
        ],
        [
          'POST',
          `/api/v1/runs/${runId}/batch`,
          { params: [{ key: 'p', value: 'v'.repeat(6001) }] },
          'body.params.0.value',
        ],
        [
          'POST',
          `/api/v1/runs/${runId}/batch`,
          { tags: [{ key: 't', value: 'v'.repeat(8001) }] },
          'body.tags.0.value',
        ],
        ['PUT', `/api/v1/runs/${runId}/artifacts/${'a'.repeat(1100)}`, 'x', 'path'],
      ];
      for (const [method, url, payload, field] of cases) {
        const err = nativeError(
          await t.app.inject({ method: method as 'POST', url, payload: payload as string }),
          400,
          'VALIDATION_FAILED',
        );
        expect(err.details?.field, url).toBe(field);
        expect(err.message.startsWith(`${field}: `), err.message).toBe(true);
      }
      const mlflow = mlflowClient(t.app);
      expect(
        mlflowError(
          await mlflow.post('experiments/create', { name: 'e'.repeat(501) }),
          400,
          'INVALID_PARAMETER_VALUE',
        ),
      ).toMatch(/name/);
      expect(
        mlflowError(
          await mlflow.post('runs/set-tag', { run_id: runId, key: 'k'.repeat(251), value: 'v' }),
          400,
          'INVALID_PARAMETER_VALUE',
        ),
      ).toMatch(/key/);
      for (const tag of [
        { key: 'k'.repeat(251), value: 'v' },
        { key: 'note', value: 'v'.repeat(8001) },
      ]) {
        const run = await mlflow.post('runs/create', { experiment_id: expId, tags: [tag] });
        expect(mlflowError(run, 400, 'INVALID_PARAMETER_VALUE')).toMatch(/^body\.tags\.0\./);
      }
      for (const [endpoint, body] of [
        ['runs/log-parameter', { run_id: runId, key: 'p', value: 'v'.repeat(6001) }],
        ['runs/log-metric', { run_id: runId, key: 'k'.repeat(251), value: 1, timestamp: 1 }],
        ['runs/set-tag', { run_id: runId, key: 't', value: 'v'.repeat(8001) }],
      ] as const) {
        expect(
          mlflowError(await mlflow.post(endpoint, body), 400, 'INVALID_PARAMETER_VALUE'),
          endpoint,
        ).toMatch(/^body\.(key|value): /);
      }
    });
  });

  it('refuses unknown fields, wrong types and malformed JSON, naming the field', async () => {
    await refusedLosingNothing(async () => {
      const native: [string, unknown, string][] = [
        ['/api/v1/experiments', { name: uniq('x'), colour: 'red' }, 'colour'],
        ['/api/v1/runs', { experimentId: expId, startTime: 'soon' }, 'body.startTime'],
        ['/api/v1/runs', { experimentId: Number(expId) }, 'body.experimentId'],
        [
          `/api/v1/runs/${runId}/batch`,
          { metrics: [{ key: 'acc', value: 1, step: '2' }] },
          'body.metrics.0.step',
        ],
        [`/api/v1/runs/${runId}/batch`, { metrics: [{ key: 'acc', value: 'high' }] }, 'body.metrics.0.value'],
        [`/api/v1/runs/${runId}/batch`, { params: [{ key: 'lr', value: 0.5 }] }, 'body.params.0.value'],
        [`/api/v1/runs/${runId}/batch`, { metrics: { key: 'acc' } }, 'body.metrics'],
      ];
      for (const [url, payload, field] of native) {
        const err = nativeError(
          await t.app.inject({ method: 'POST', url, payload: payload as object }),
          400,
          'VALIDATION_FAILED',
        );
        expect(err.message, url).toContain(field);
      }
      const mlflow = mlflowClient(t.app);
      const wire: [string, unknown, string][] = [
        ['experiments/create', { name: uniq('x'), colour: 'red' }, 'colour'],
        ['runs/create', { experiment_id: expId, start_time: 'soon' }, 'start_time'],
        [
          'runs/log-batch',
          { run_id: runId, metrics: [{ key: 'acc', value: 'high', timestamp: 1 }] },
          'value',
        ],
        [
          'runs/log-batch',
          { run_id: runId, metrics: [{ key: 'acc', value: 1, timestamp: 1, step: 1.5 }] },
          'step',
        ],
        ['runs/log-parameter', { run_id: runId, key: 'lr', value: 0.5 }, 'value'],
      ];
      for (const [endpoint, payload, field] of wire) {
        expect(
          mlflowError(await mlflow.post(endpoint, payload), 400, 'INVALID_PARAMETER_VALUE'),
          endpoint,
        ).toContain(field);
      }
      const json = { 'content-type': 'application/json' };
      const badJson = '{"metrics": [{"key": "acc", "value": 1,]}';
      const n = await t.app.inject({
        method: 'POST',
        url: `/api/v1/runs/${runId}/batch`,
        payload: badJson,
        headers: json,
      });
      expect(nativeError(n, 400, 'VALIDATION_FAILED').message).toMatch(/^body: /);
      const m = await t.app.inject({
        method: 'POST',
        url: '/api/2.0/mlflow/runs/log-batch',
        payload: badJson,
        headers: json,
      });
      expect(mlflowError(m, 400, 'INVALID_PARAMETER_VALUE')).toMatch(/^body: /);
    });
  });

  it('answers a body over the configured limit with 413 PAYLOAD_TOO_LARGE', async () => {
    const small = await createTestApp(t.services.store, { SEXTANT_BODY_LIMIT_BYTES: '2048' });
    try {
      await refusedLosingNothing(async () => {
        const metrics = Array.from({ length: 100 }, (_, i) => ({ key: `metric_${i}`, value: i, step: i }));
        const res = await small.app.inject({
          method: 'POST',
          url: `/api/v1/runs/${runId}/batch`,
          payload: { metrics },
        });
        expect(nativeError(res, 413, 'PAYLOAD_TOO_LARGE').message).toMatch(/^body: /);
        const big = await small.app.inject({
          method: 'POST',
          url: '/api/2.0/mlflow/experiments/create',
          payload: { name: 'n'.repeat(400), tags: metrics.map((m) => ({ key: m.key, value: 'v' })) },
        });
        mlflowError(big, 413, 'RESOURCE_LIMIT_EXCEEDED');
        // log-batch has MLflow's own 1 MB limit, but a smaller configured limit still wins.
        const batch = await small.app.inject({
          method: 'POST',
          url: '/api/2.0/mlflow/runs/log-batch',
          payload: { run_id: runId, metrics: metrics.map((m) => ({ ...m, timestamp: 1 })) },
        });
        mlflowError(batch, 413, 'RESOURCE_LIMIT_EXCEEDED');
      });
      // Under the limit, the same app accepts the write.
      const fine = await small.app.inject({
        method: 'POST',
        url: `/api/v1/runs/${runId}/batch`,
        payload: { metrics: [{ key: 'small', value: 1 }] },
      });
      expect(fine.statusCode, fine.body).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('answers an unknown endpoint with 404 in the shape of the API it was meant for', async () => {
    await refusedLosingNothing(async () => {
      nativeError(await t.app.inject({ method: 'GET', url: '/api/v1/no-such-thing' }), 404, 'NOT_FOUND');
      nativeError(await t.app.inject({ method: 'DELETE', url: '/api/v1/experiments' }), 404, 'NOT_FOUND');
      mlflowError(
        await t.app.inject({ method: 'POST', url: '/api/2.0/mlflow/runs/no-such-thing', payload: {} }),
        404,
        'ENDPOINT_NOT_FOUND',
      );
      mlflowError(
        await t.app.inject({ method: 'GET', url: '/ajax-api/2.0/mlflow/no-such-thing' }),
        404,
        'ENDPOINT_NOT_FOUND',
      );
      mlflowError(
        await t.app.inject({ method: 'POST', url: '/api/2.0/mlflow-artifacts/mpu/nope' }),
        404,
        'ENDPOINT_NOT_FOUND',
      );
    });
  });
});
