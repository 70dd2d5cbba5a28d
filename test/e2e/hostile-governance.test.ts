import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Role } from '../../src/auth/index.js';
import { modelVersionSchema, promotionRequestSchema } from '../../src/registry/index.js';
import { deploymentSchema } from '../../src/serving/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { MLFLOW, nativeError, uniq } from './helpers.js';
import { tinyOnnxModel } from './registry-fixtures.js';

/*
 * Hostile inputs against governance (issue 16, findings 4 and 5): who counts as a model's author, and
 * whether production can be moved around the promotion a protected alias demands.
 */

type Who = 'editor' | 'approver' | 'admin' | 'other';

describeEachBackend('hostile: separation of duties and production moves', (getStore) => {
  let t: TestApp;
  const users = {} as Record<Who, { name: string; secret: string }>;
  let expId: string;

  beforeAll(async () => {
    t = await createTestApp(getStore(), { SEXTANT_AUTH: 'token' });
    const roles: Record<Who, Role> = {
      editor: 'editor',
      approver: 'approver',
      admin: 'admin',
      other: 'approver',
    };
    for (const [key, role] of Object.entries(roles) as [Who, Role][]) {
      const user = await t.services.auth.createUser({ actor: 'system', name: uniq(key), role });
      const token = await t.services.auth.createToken({ actor: 'system', user: user.name, name: 'e2e' });
      users[key] = { name: user.name, secret: token.secret };
    }
    expId = (await t.services.experiments.create({ actor: users.editor.name, name: uniq('hostile') })).id;
  });
  afterAll(async () => {
    await t.services.webhooks.close();
    await t.close();
  });

  const call = (who: Who, method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, payload?: unknown) =>
    t.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${users[who].secret}` },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const okJson = <S extends z.ZodType>(res: LightMyRequestResponse, schema: S, status = 200): z.infer<S> => {
    expect(res.statusCode, res.body).toBe(status);
    return schema.parse(res.json());
  };
  const uploadFile = async (who: Who, model: string, weights: [number, number, number]) =>
    okJson(
      await t.app.inject({
        method: 'PUT',
        url: `/api/v1/models/${encodeURIComponent(model)}/versions/file?filename=model.onnx`,
        headers: {
          authorization: `Bearer ${users[who].secret}`,
          'content-type': 'application/octet-stream',
        },
        payload: Buffer.from(tinyOnnxModel(weights)),
      }),
      modelVersionSchema,
      201,
    );
  const openPromotion = async (who: Who, ref: string) =>
    okJson(
      await call(who, 'POST', '/api/v1/promotions', { ref, alias: 'champion', reason: 'hostile' }),
      promotionRequestSchema,
      201,
    );
  /** Makes `<model>@<version>` champion through a request by the editor and an approval by `approver`. */
  const promote = async (model: string, version: number, approver: Who = 'approver') => {
    const req = await openPromotion('editor', `${model}@${version}`);
    const done = okJson(
      await call(approver, 'POST', `/api/v1/promotions/${req.id}/approve`, {}),
      promotionRequestSchema,
    );
    expect(done.status).toBe('executed');
  };

  describe('finding 4: the author of record is the authenticated principal', () => {
    it('a run created over MLflow claiming another user_id is still authored by its caller', async () => {
      const res = await call('admin', 'POST', `${MLFLOW}/runs/create`, {
        experiment_id: expId,
        user_id: users.editor.name,
        tags: [{ key: 'mlflow.user', value: users.editor.name }],
      });
      expect(res.statusCode, res.body).toBe(200);
      const run = z
        .object({
          run: z.object({
            info: z.object({ run_id: z.string(), user_id: z.string() }),
            data: z.object({ tags: z.array(z.object({ key: z.string(), value: z.string() })) }),
          }),
        })
        .parse(res.json()).run;
      expect(run.info.user_id).toBe(users.admin.name);
      // The claims are kept, as tags only.
      const tags = Object.fromEntries(run.data.tags.map((x) => [x.key, x.value]));
      expect(tags['mlflow.user']).toBe(users.editor.name);
      expect(tags['sextant.claimed.user_id']).toBe(users.editor.name);

      await t.services.artifacts.put({
        actor: users.admin.name,
        runId: run.info.run_id,
        path: 'model/model.onnx',
        content: tinyOnnxModel([0.3, 0.2, 0.1]),
      });
      const model = uniq('spoofed');
      const v = okJson(
        await call('admin', 'POST', `/api/v1/models/${model}/versions`, { runId: run.info.run_id }),
        modelVersionSchema,
        201,
      );
      expect(v.runAuthor).toBe(users.admin.name);
      const req = await openPromotion('editor', `${model}@1`);
      const refused = nativeError(
        await call('admin', 'POST', `/api/v1/promotions/${req.id}/approve`, {}),
        403,
        'FORBIDDEN',
      );
      expect(refused.message).toMatch(/authored run .*\(separation of duties\)/);
      expect((await t.services.registry.models.get(model)).aliases).toEqual([]);
    });

    it('the uploader of a file version counts as its author and may not approve it', async () => {
      const model = uniq('uploaded');
      const v = await uploadFile('admin', model, [0.1, 0.2, 0.3]);
      expect(v.runId).toBeNull();
      expect(v.runAuthor).toBe(users.admin.name);
      const req = await openPromotion('editor', `${model}@1`);
      const refused = nativeError(
        await call('admin', 'POST', `/api/v1/promotions/${req.id}/approve`, {}),
        403,
        'FORBIDDEN',
      );
      expect(refused.message).toMatch(/uploaded the file of .*\(separation of duties\)/);
      expect((await t.services.registry.models.get(model)).aliases).toEqual([]);
      // Somebody else may.
      const done = okJson(
        await call('approver', 'POST', `/api/v1/promotions/${req.id}/approve`, {}),
        promotionRequestSchema,
      );
      expect(done.status).toBe('executed');
    });
  });

  describe('finding 5: production moves only through promotion', () => {
    it('an editor cannot repoint a champion deployment at an unapproved version, pinned or as a canary', async () => {
      const model = uniq('credit');
      await uploadFile('admin', model, [0.5, -0.25, 1]);
      await uploadFile('admin', model, [0.9, 0.9, 0.9]);
      await promote(model, 1);
      const name = uniq('credit-prod');
      okJson(
        await call('editor', 'POST', '/api/v1/deployments', { name, model: `${model}@champion` }),
        deploymentSchema,
        201,
      );
      const patch = (body: unknown) => call('editor', 'PATCH', `/api/v1/deployments/${name}`, body);

      const pinned = nativeError(await patch({ model: `${model}@2` }), 403, 'FORBIDDEN');
      expect(pinned.message).toMatch(/serves production .*'champion'.* promotion request/);
      const canary = nativeError(
        await patch({ challenger: { ref: '2', mode: 'canary', percent: 100 } }),
        403,
        'FORBIDDEN',
      );
      expect(canary.message).toMatch(/canary answering 100%/);
      const other = uniq('weaker');
      await uploadFile('admin', other, [0.1, 0.1, 0.1]);
      nativeError(await patch({ model: `${other}@1` }), 403, 'FORBIDDEN');
      // The admin is held to the same rule: only a promotion moves production.
      nativeError(
        await call('admin', 'PATCH', `/api/v1/deployments/${name}`, { model: `${model}@2` }),
        403,
        'FORBIDDEN',
      );
      const unchanged = okJson(await call('editor', 'GET', `/api/v1/deployments/${name}`), deploymentSchema);
      expect(unchanged).toMatchObject({ model, ref: 'champion', challenger: null });

      // What serves nobody, or what the alias holds now, is no move of production.
      okJson(await patch({ challenger: { ref: '2', mode: 'shadow' } }), deploymentSchema);
      okJson(await patch({ model: `${model}@1`, challenger: null }), deploymentSchema);
      okJson(await patch({ ledgerMode: 'async' }), deploymentSchema);
    });

    it('a deployment follows the model it was bound to across a rename, not a new model of the old name', async () => {
      const model = uniq('credit');
      const original = await uploadFile('admin', model, [0.5, -0.25, 1]);
      await promote(model, 1);
      const name = uniq('credit-live');
      okJson(
        await call('editor', 'POST', '/api/v1/deployments', { name, model: `${model}@champion` }),
        deploymentSchema,
        201,
      );
      // The model's own, stricter policy is bound to its id too.
      const strict = 'protectedAliases: [champion]\napprovals: 2\n';
      expect(
        (await call('admin', 'PUT', `/api/v1/models/${model}/policy`, { yaml: strict })).statusCode,
      ).toBe(200);
      // Rename the governed model away, then make a new model of the old name a champion.
      const renamed = `${model}-old`;
      expect(
        (await call('editor', 'PATCH', `/api/v1/models/${model}`, { newName: renamed })).statusCode,
      ).toBe(200);
      const impostor = await uploadFile('editor', model, [9, 9, 9]);
      await promote(model, 1, 'other');

      const res = await call('editor', 'POST', `/api/v1/deployments/${name}/predict`, [[1, 2, 3]]);
      expect(res.statusCode, res.body).toBe(200);
      const body = z
        .object({ predictions: z.array(z.object({ model: z.string(), version: z.number() })) })
        .parse(res.json());
      expect(body.predictions[0]).toMatchObject({ model: renamed, version: 1 });
      const d = okJson(await call('editor', 'GET', `/api/v1/deployments/${name}`), deploymentSchema);
      expect(d.modelId).toBe(original.modelId);
      const policyOf = async (m: string) =>
        z
          .object({ source: z.string(), yaml: z.string() })
          .parse((await call('editor', 'GET', `/api/v1/models/${m}/policy`)).json());
      expect(await policyOf(renamed)).toMatchObject({ source: 'model', yaml: strict });
      expect((await policyOf(model)).source).not.toBe('model');
      expect(impostor.modelId).not.toBe(original.modelId);
    });
  });
});
