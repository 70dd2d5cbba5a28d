import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { gcReportSchema } from '../../src/governance/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { MLFLOW, mlflowError, ok, PROXY, uniq } from './helpers.js';

/*
 * Multipart uploads on a server with tokens: MLflow's client PUTs parts with only the headers the server
 * handed out, so those carry the caller's authorization; without them a part is refused. Parts waiting
 * for completion are blobs that gc must not take.
 */
describeEachBackend('MLflow multipart upload with authentication and gc', (getStore) => {
  let t: TestApp;
  let editor: Record<string, string>;
  let admin: Record<string, string>;
  beforeAll(async () => {
    t = await createTestApp(getStore(), { SEXTANT_AUTH: 'token' });
    const token = async (role: 'admin' | 'editor') => {
      const user = await t.services.auth.createUser({ actor: 'system', name: uniq(role), role });
      const { secret } = await t.services.auth.createToken({ actor: 'system', user: user.name, name: 'e2e' });
      return { authorization: `Bearer ${secret}` };
    };
    editor = await token('editor');
    admin = await token('admin');
  });
  afterAll(() => t.close());

  it('parts upload with the handed-out headers only, survive gc, and join into the artifact', async () => {
    const post = (url: string, payload: object, headers = editor) =>
      t.app.inject({ method: 'POST', url, payload, headers });
    const exp = z
      .object({ experiment_id: z.string() })
      .parse((await post(`${MLFLOW}/experiments/create`, { name: uniq('mpu') })).json()).experiment_id;
    const runId = z
      .object({ run: z.object({ info: z.object({ run_id: z.string() }) }) })
      .parse((await post(`${MLFLOW}/runs/create`, { experiment_id: exp })).json()).run.info.run_id;
    const path = `${exp}/${runId}/artifacts/weights.bin`;
    const parts = [randomBytes(4000), randomBytes(1000)];
    const created = ok(
      await post(`/api/2.0/mlflow-artifacts/mpu/create/${path}`, { path, num_parts: 2 }),
      z.object({
        upload_id: z.string(),
        credentials: z.array(
          z.object({ part_number: z.number(), url: z.string(), headers: z.record(z.string(), z.string()) }),
        ),
      }),
    );
    const first = created.credentials[0]!;
    const url = (c: typeof first) => new URL(c.url).pathname;
    mlflowError(
      await t.app.inject({ method: 'PUT', url: url(first), payload: parts[0] }),
      401,
      'UNAUTHENTICATED',
    );
    const etags = [];
    for (const c of created.credentials) {
      expect(c.headers).toEqual({ authorization: editor.authorization });
      const res = await t.app.inject({
        method: 'PUT',
        url: url(c),
        payload: parts[c.part_number - 1],
        headers: c.headers,
      });
      expect(res.statusCode, res.body).toBe(200);
      etags.push({ part_number: c.part_number, etag: String(res.headers.etag) });
    }
    // gc with no grace period: the parts are referenced by the upload, so they stay.
    const report = ok(await post('/api/v1/gc', { delete: true, graceSeconds: 0 }, admin), gcReportSchema);
    expect(report.dryRun).toBe(false);
    ok(
      await post(`/api/2.0/mlflow-artifacts/mpu/complete/${path}`, {
        path,
        upload_id: created.upload_id,
        parts: etags,
      }),
      z.strictObject({}),
    );
    const got = await t.app.inject({ method: 'GET', url: `${PROXY}/${path}`, headers: editor });
    expect(got.rawPayload.equals(Buffer.concat(parts))).toBe(true);
  });
});
