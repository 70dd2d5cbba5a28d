import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import type { Role } from '../../src/auth/index.js';
import { sha256Hex } from '../../src/core/hashing.js';
import {
  aliasAtSchema,
  aliasEventSchema,
  modelCardSchema,
  modelVersionSchema,
  promotionRequestSchema,
  registeredModelSchema,
  rollbackResultSchema,
} from '../../src/registry/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { nativeError, uniq } from './helpers.js';
import { externalDataOnnx, tinyOnnxModel } from './registry-fixtures.js';

const historySchema = z.object({ events: z.array(aliasEventSchema), at: z.array(aliasAtSchema).optional() });

describeEachBackend('model registry: versions, governed promotion, history, rollback', (getStore) => {
  let t: TestApp;
  const users = {} as Record<'alice' | 'bob' | 'carol' | 'dave' | 'vic', { name: string; secret: string }>;
  let expId: string;

  beforeAll(async () => {
    t = await createTestApp(getStore(), { SEXTANT_AUTH: 'token' });
    const roles: Record<keyof typeof users, Role> = {
      alice: 'editor',
      bob: 'approver',
      carol: 'approver',
      dave: 'admin',
      vic: 'viewer',
    };
    for (const [key, role] of Object.entries(roles) as [keyof typeof users, Role][]) {
      const user = await t.services.auth.createUser({ actor: 'system', name: uniq(key), role });
      const token = await t.services.auth.createToken({ actor: 'system', user: user.name, name: 'e2e' });
      users[key] = { name: user.name, secret: token.secret };
    }
    expId = (await t.services.experiments.create({ actor: users.alice.name, name: uniq('reg') })).id;
  });
  afterAll(async () => {
    await t.services.webhooks.close();
    await t.close();
  });

  const as = (who: keyof typeof users) => ({ authorization: `Bearer ${users[who].secret}` });
  const call = (
    who: keyof typeof users,
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    payload?: unknown,
  ) =>
    t.app.inject({
      method,
      url,
      headers: as(who),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const okJson = <S extends z.ZodType>(res: LightMyRequestResponse, schema: S, status = 200): z.infer<S> => {
    expect(res.statusCode, res.body).toBe(status);
    return schema.parse(res.json());
  };

  /** A finished run by `author` with model/model.onnx, model/signature.json and the given metrics. */
  async function trainedRun(
    author: string,
    metrics: Record<string, number>,
    weights?: [number, number, number],
  ) {
    const run = await t.services.runs.create({
      actor: author,
      experimentId: expId,
      gitCommit: 'abc1234',
      command: 'sextant train',
    });
    await t.services.runs.logBatch({
      actor: author,
      runId: run.id,
      metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, step: 0 })),
      params: [{ key: 'seed', value: '7' }],
      tags: [{ key: 'sextant.env.node', value: 'v20.99.0' }],
    });
    const bytes = tinyOnnxModel(weights);
    await t.services.artifacts.put({
      actor: author,
      runId: run.id,
      path: 'model/model.onnx',
      content: bytes,
    });
    const signature = {
      format: 'onnx',
      task: 'classification',
      target: 'default',
      inputs: [{ name: 'features', type: 'float' }],
      outputs: [{ name: 'score', type: 'float' }],
      trainer: 'linear',
    };
    await t.services.artifacts.put({
      actor: author,
      runId: run.id,
      path: 'model/signature.json',
      content: JSON.stringify(signature),
    });
    return { runId: run.id, sha256: sha256Hex(bytes) };
  }

  const register = async (model: string, runId: string) =>
    okJson(
      await call('alice', 'POST', `/api/v1/models/${encodeURIComponent(model)}/versions`, { runId }),
      modelVersionSchema,
      201,
    );

  it('a version records its run, code, params, metrics, environment, ONNX signature and content hash', async () => {
    const model = uniq('credit');
    const { runId, sha256 } = await trainedRun(users.alice.name, { auc: 0.91, accuracy: 0.88 });
    const v = await register(model, runId);
    expect(v).toMatchObject({
      model,
      version: 1,
      runId,
      runAuthor: users.alice.name,
      format: 'onnx',
      sha256,
      codeCommit: 'abc1234',
      command: 'sextant train',
      params: { seed: '7' },
      metrics: { auc: 0.91, accuracy: 0.88 },
      environment: { node: 'v20.99.0', source: 'run' },
      source: `runs:/${runId}/model`,
      createdBy: users.alice.name,
    });
    expect(v.signature?.inputs).toEqual([{ name: 'features', type: 'float32', shape: ['N', 3] }]);
    expect(v.signature?.outputs).toEqual([{ name: 'score', type: 'float32', shape: ['N', 1] }]);
    expect(v.signature?.declared).toMatchObject({ task: 'classification', trainer: 'linear' });
    expect(v.files.map((f) => f.path)).toEqual(['model/model.onnx', 'model/signature.json']);

    const download = await call('vic', 'GET', `/api/v1/models/${model}/versions/1/download`);
    expect(download.statusCode).toBe(200);
    expect(sha256Hex(download.rawPayload)).toBe(sha256);
    const latest = okJson(
      await call('vic', 'GET', `/api/v1/models/${model}/versions/latest`),
      modelVersionSchema,
    );
    expect(latest.version).toBe(1);
  });

  it('an uploaded ONNX file is opened and checked; a malformed one is refused and nothing is stored', async () => {
    const model = uniq('upload');
    const good = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/models/${model}/versions/file?filename=model.onnx`,
      headers: { ...as('alice'), 'content-type': 'application/octet-stream' },
      payload: Buffer.from(tinyOnnxModel()),
    });
    const v = okJson(good, modelVersionSchema, 201);
    expect(v).toMatchObject({ version: 1, format: 'onnx', runId: null, source: 'file:model.onnx' });
    const bad = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/models/${model}/versions/file?filename=broken.onnx`,
      headers: { ...as('alice'), 'content-type': 'application/octet-stream' },
      payload: Buffer.from('this is not a protobuf ONNX graph'),
    });
    const err = nativeError(bad, 400, 'VALIDATION_FAILED');
    expect(err.message).toMatch(/^file: not a valid ONNX model/);
    // A tensor reading an external file is refused before onnxruntime opens it (it would read the file).
    const hostile = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/models/${model}/versions/file?filename=hostile.onnx`,
      headers: { ...as('alice'), 'content-type': 'application/octet-stream' },
      payload: Buffer.from(externalDataOnnx('package.json')),
    });
    expect(nativeError(hostile, 400, 'VALIDATION_FAILED').message).toMatch(
      /^file: not a valid ONNX model.*external/,
    );
    const list = okJson(
      await call('vic', 'GET', `/api/v1/models/${model}/versions`),
      z.object({ versions: z.array(modelVersionSchema) }),
    );
    expect(list.versions.map((x) => x.version)).toEqual([1]);
    const generic = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/models/${model}/versions/file?filename=weights.bin`,
      headers: { ...as('alice'), 'content-type': 'application/octet-stream' },
      payload: Buffer.from('opaque weights'),
    });
    expect(okJson(generic, modelVersionSchema, 201)).toMatchObject({
      version: 2,
      format: 'generic',
      signature: null,
    });
  });

  it('names that differ only by URL-encoding, Unicode form or case are the same name (409)', async () => {
    const base = uniq('café model');
    okJson(await call('alice', 'POST', '/api/v1/models', { name: base }), registeredModelSchema, 201);
    const twins = [
      base.replace('é', 'e\u0301'),
      base.toUpperCase(),
      base.replace(' ', '%20'),
      base.replace('c', '%63').replace(' ', '%2520'),
      base.replace('m', '\uff4d'),
    ];
    for (const twin of twins) {
      const err = nativeError(
        await call('alice', 'POST', '/api/v1/models', { name: twin }),
        409,
        'ALREADY_EXISTS',
      );
      expect(err.message).toContain(base);
    }
    const got = okJson(
      await call('vic', 'GET', `/api/v1/models/${encodeURIComponent(base.toUpperCase())}`),
      registeredModelSchema,
    );
    expect(got.name).toBe(base);
  });

  it('unknown models, versions and aliases are 404s that say what is missing', async () => {
    const model = uniq('missing');
    expect(
      nativeError(await call('vic', 'GET', `/api/v1/models/${model}`), 404, 'NOT_FOUND').message,
    ).toContain(model);
    const { runId } = await trainedRun(users.alice.name, { auc: 0.5 });
    await register(model, runId);
    expect(
      nativeError(await call('vic', 'GET', `/api/v1/models/${model}/versions/9`), 404, 'NOT_FOUND').message,
    ).toContain(`${model}@9`);
    expect(
      nativeError(await call('vic', 'GET', `/api/v1/models/${model}/versions/champion`), 404, 'NOT_FOUND')
        .message,
    ).toContain(`alias '${model}@champion'`);
    const noRun = nativeError(
      await call('alice', 'POST', `/api/v1/models/${model}/versions`, { runId: 'run_nope' }),
      404,
      'NOT_FOUND',
    );
    expect(noRun.message).toContain('run_nope');
    await t.services.runs.delete(users.alice.name, runId);
    const deleted = nativeError(
      await call('alice', 'POST', `/api/v1/models/${model}/versions`, { runId }),
      409,
      'CONFLICT',
    );
    expect(deleted.message).toMatch(/deleted/);
    const noArtifact = await trainedRun(users.alice.name, { auc: 0.5 });
    nativeError(
      await call('alice', 'POST', `/api/v1/models/${model}/versions`, {
        runId: noArtifact.runId,
        path: 'nowhere',
      }),
      404,
      'NOT_FOUND',
    );
  });

  it('promotion: viewers cannot open, editors cannot approve, requesters and run authors cannot approve; an approval executes it', async () => {
    const model = uniq('fraud');
    const { runId } = await trainedRun(users.carol.name, { auc: 0.9 });
    await register(model, runId);
    const open = { ref: `${model}@1`, alias: 'champion', reason: 'first champion' };
    nativeError(await call('vic', 'POST', '/api/v1/promotions', open), 403, 'FORBIDDEN');
    nativeError(await call('bob', 'POST', '/api/v1/promotions', open), 403, 'FORBIDDEN');
    const req = okJson(await call('dave', 'POST', '/api/v1/promotions', open), promotionRequestSchema, 201);
    expect(req).toMatchObject({
      status: 'pending',
      version: 1,
      alias: 'champion',
      requestedBy: users.dave.name,
      approvalsNeeded: 1,
    });

    nativeError(await call('alice', 'POST', `/api/v1/promotions/${req.id}/approve`, {}), 403, 'FORBIDDEN');
    const own = nativeError(
      await call('dave', 'POST', `/api/v1/promotions/${req.id}/approve`, {}),
      403,
      'FORBIDDEN',
    );
    expect(own.message).toMatch(/separation of duties/);
    const author = nativeError(
      await call('carol', 'POST', `/api/v1/promotions/${req.id}/approve`, {}),
      403,
      'FORBIDDEN',
    );
    expect(author.message).toMatch(/authored run/);
    expect(
      okJson(await call('vic', 'GET', `/api/v1/models/${model}`), registeredModelSchema).aliases,
    ).toEqual([]);

    const done = okJson(
      await call('bob', 'POST', `/api/v1/promotions/${req.id}/approve`, { comment: 'lgtm' }),
      promotionRequestSchema,
    );
    expect(done.status).toBe('executed');
    expect(done.decisions).toMatchObject([{ actor: users.bob.name, decision: 'approve', comment: 'lgtm' }]);
    const champ = okJson(
      await call('vic', 'GET', `/api/v1/models/${model}/versions/champion`),
      modelVersionSchema,
    );
    expect(champ.version).toBe(1);
    const h = okJson(await call('vic', 'GET', `/api/v1/models/${model}/history`), historySchema);
    expect(h.events).toMatchObject([
      {
        alias: 'champion',
        kind: 'promote',
        fromVersion: null,
        toVersion: 1,
        actor: users.bob.name,
        reason: 'first champion',
        requestId: req.id,
        approvals: [{ actor: users.bob.name, comment: 'lgtm' }],
      },
    ]);
    const again = nativeError(
      await call('bob', 'POST', `/api/v1/promotions/${req.id}/approve`, {}),
      409,
      'INVALID_TRANSITION',
    );
    expect(again.message).toMatch(/executed/);
    const direct = nativeError(
      await call('alice', 'PUT', `/api/v1/models/${model}/aliases/champion`, { version: 1 }),
      403,
      'FORBIDDEN',
    );
    expect(direct.message).toMatch(/protected/);
  });

  it('gates: absolute and relative metric thresholds, documentation, data quality and fairness block with reasons', async () => {
    const model = uniq('gated');
    const first = await trainedRun(users.alice.name, { auc: 0.9 });
    await register(model, first.runId);
    const policy = 'approvals: 1\ngates:\n  - metric: auc >= 0.80\n  - metric: auc >= champion.auc - 0.005\n';
    okJson(
      await call('dave', 'PUT', `/api/v1/models/${model}/policy`, { yaml: policy }),
      z.object({ source: z.literal('model') }),
    );
    nativeError(
      await call('alice', 'PUT', `/api/v1/models/${model}/policy`, { yaml: policy }),
      403,
      'FORBIDDEN',
    );
    const bad = nativeError(
      await call('dave', 'PUT', `/api/v1/models/${model}/policy`, {
        yaml: 'gates:\n  - metric: auc >>= 1\n',
      }),
      400,
      'VALIDATION_FAILED',
    );
    expect(bad.message).toMatch(/^policy\.gates\[0\]/);

    const r1 = okJson(
      await call('alice', 'POST', '/api/v1/promotions', { ref: `${model}@1`, alias: 'champion' }),
      promotionRequestSchema,
      201,
    );
    expect(r1.openGates.map((g) => g.status)).toEqual(['pass', 'pass']);
    expect(r1.openGates[1]?.message).toMatch(/no version holds 'champion' yet/);
    okJson(await call('bob', 'POST', `/api/v1/promotions/${r1.id}/approve`, {}), promotionRequestSchema);

    const worse = await trainedRun(users.alice.name, { auc: 0.89 });
    await register(model, worse.runId);
    const r2 = okJson(
      await call('alice', 'POST', '/api/v1/promotions', { ref: `${model}@2`, alias: 'champion' }),
      promotionRequestSchema,
      201,
    );
    expect(r2.status).toBe('blocked');
    expect(r2.openGates[1]).toMatchObject({ status: 'fail', type: 'metric' });
    expect(r2.openGates[1]?.message).toMatch(/does not satisfy >= champion.auc \(0.9\) - 0.005 = 0.895/);
    nativeError(
      await call('bob', 'POST', `/api/v1/promotions/${r2.id}/approve`, {}),
      409,
      'INVALID_TRANSITION',
    );

    const strict = `gates:
  - documentation: [card.intended_use, description]
  - data_quality: passed
  - fairness: { metric: demographic_parity_difference, max: 0.1 }
  - drift: { metric: psi, max: 0.2 }
`;
    okJson(await call('dave', 'PUT', `/api/v1/models/${model}/policy`, { yaml: strict }), z.object({}));
    const r3 = okJson(
      await call('alice', 'POST', '/api/v1/promotions', { ref: `${model}@2`, alias: 'challenger' }),
      promotionRequestSchema,
      201,
    );
    expect(r3.status).toBe('blocked');
    expect(r3.openGates.map((g) => [g.type, g.status])).toEqual([
      ['documentation', 'fail'],
      ['data_quality', 'no_data'],
      ['fairness', 'no_data'],
      ['drift', 'no_data'],
    ]);
    expect(r3.openGates[0]?.message).toBe('missing: card.intended_use, description');
    expect(r3.openGates[2]?.message).toMatch(/no fairness measurement 'demographic_parity_difference'/);
    okJson(
      await call('alice', 'PATCH', `/api/v1/models/${model}/versions/2`, {
        description: 'retrained',
        card: { intended_use: 'credit triage' },
      }),
      modelVersionSchema,
    );
    okJson(
      await call('dave', 'PUT', `/api/v1/models/${model}/policy`, {
        yaml: 'gates:\n  - documentation: [card.intended_use, description]\n',
      }),
      z.object({}),
    );
    const r4 = okJson(
      await call('alice', 'POST', '/api/v1/promotions', { ref: `${model}@2`, alias: 'challenger' }),
      promotionRequestSchema,
      201,
    );
    expect(r4.status).toBe('pending');
  });

  it('concurrent promotions to one alias: exactly one opens, the others get 409', async () => {
    const model = uniq('race');
    const { runId } = await trainedRun(users.alice.name, { auc: 0.9 });
    for (let i = 0; i < 5; i++) await register(model, runId);
    const replies = await Promise.all(
      [1, 2, 3, 4, 5, 1, 2, 3, 4, 5].map((v) =>
        call('alice', 'POST', '/api/v1/promotions', { ref: `${model}@${v}`, alias: 'champion' }),
      ),
    );
    const codes = replies.map((r) => r.statusCode).sort();
    expect(codes).toEqual([201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    for (const r of replies.filter((x) => x.statusCode === 409))
      expect(r.json().error.message).toMatch(/already open/);
  });

  it('history answers "which version was champion at T"; rollback moves back, audited; non-admins need approval', async () => {
    const model = uniq('timeline');
    const { runId } = await trainedRun(users.alice.name, { auc: 0.9 });
    for (let i = 0; i < 3; i++) await register(model, runId);
    okJson(
      await call('dave', 'PUT', `/api/v1/models/${model}/policy`, { yaml: 'approvals: 0\n' }),
      z.object({}),
    );
    const before = new Date(Date.now() - 1000).toISOString();
    for (const v of [1, 2, 3]) {
      const r = okJson(
        await call('alice', 'POST', '/api/v1/promotions', {
          ref: `${model}@${v}`,
          alias: 'champion',
          reason: `v${v}`,
        }),
        promotionRequestSchema,
        201,
      );
      expect(r.status).toBe('executed');
      await new Promise((res) => setTimeout(res, 5));
    }
    const { events } = okJson(
      await call('vic', 'GET', `/api/v1/models/${model}/history?alias=champion`),
      historySchema,
    );
    expect(events.map((e) => [e.fromVersion, e.toVersion])).toEqual([
      [null, 1],
      [1, 2],
      [2, 3],
    ]);
    const at = async (iso: string) =>
      okJson(
        await call(
          'vic',
          'GET',
          `/api/v1/models/${model}/history?alias=champion&at=${encodeURIComponent(iso)}`,
        ),
        historySchema,
      ).at?.[0]?.version;
    expect(await at(before)).toBeNull();
    expect(await at(events[0]!.at)).toBe(1);
    expect(await at(new Date(Date.parse(events[1]!.at) + 1).toISOString())).toBe(2);
    expect(await at(new Date(Date.now() + 60_000).toISOString())).toBe(3);
    expect(await at('2999-01-01T00:00Z')).toBe(3);
    expect(await at('2999-01-01T00:00')).toBe(3);
    expect(await at('2000-01-01')).toBeNull();
    nativeError(
      await call('vic', 'GET', `/api/v1/models/${model}/history?at=yesterday`),
      400,
      'VALIDATION_FAILED',
    );

    okJson(
      await call('dave', 'PUT', `/api/v1/models/${model}/policy`, { yaml: 'approvals: 1\n' }),
      z.object({}),
    );
    const asked = okJson(
      await call('alice', 'POST', `/api/v1/models/${model}/rollback`, { reason: 'bad latency' }),
      rollbackResultSchema,
    );
    if (asked.outcome !== 'requested') throw new Error('an editor rollback must open a request');
    expect(asked.request).toMatchObject({ kind: 'rollback', version: 2, fromVersion: 3, status: 'pending' });
    okJson(
      await call('bob', 'POST', `/api/v1/promotions/${asked.request.id}/approve`, {}),
      promotionRequestSchema,
    );
    expect(
      okJson(await call('vic', 'GET', `/api/v1/models/${model}/versions/champion`), modelVersionSchema)
        .version,
    ).toBe(2);

    const emergency = okJson(
      await call('dave', 'POST', `/api/v1/models/${model}/rollback`, {
        alias: 'champion',
        reason: 'incident 42',
      }),
      rollbackResultSchema,
    );
    if (emergency.outcome !== 'rolled_back') throw new Error('an admin rollback is immediate');
    expect(emergency.event).toMatchObject({
      kind: 'rollback',
      emergency: true,
      fromVersion: 2,
      toVersion: 3,
      reason: 'incident 42',
    });
    const audit = await t.services.audit.list({ entityType: 'model_alias', limit: 1000 });
    expect(
      audit.some(
        (e) =>
          e.action === 'model_alias.rollback' && e.actor === users.dave.name && e.details?.emergency === true,
      ),
    ).toBe(true);

    okJson(
      await call('dave', 'PUT', `/api/v1/models/${model}/policy`, { yaml: 'emergencyRollback: none\n' }),
      z.object({}),
    );
    const noEmergency = okJson(
      await call('dave', 'POST', `/api/v1/models/${model}/rollback`, {}),
      rollbackResultSchema,
    );
    expect(noEmergency.outcome).toBe('requested');
  });

  it('model cards are generated from registry, run and data, with editable fields, in Markdown and HTML', async () => {
    const model = uniq('card');
    const { runId } = await trainedRun(users.alice.name, { auc: 0.93 });
    await register(model, runId);
    okJson(
      await call('alice', 'PATCH', `/api/v1/models/${model}/versions/1`, {
        card: { intended_use: 'Rank <loan> applications', limitations: 'Trained on 2025 data' },
      }),
      modelVersionSchema,
    );
    nativeError(
      await call('alice', 'PATCH', `/api/v1/models/${model}/versions/1`, { card: { colour: 'red' } }),
      400,
      'VALIDATION_FAILED',
    );
    const md = okJson(await call('vic', 'GET', `/api/v1/models/${model}/versions/1/card`), modelCardSchema);
    expect(md.content).toContain(`# Model card: ${model} version 1`);
    // Markdown keeps no raw HTML: what users wrote shows as text.
    expect(md.content).toContain('Rank &lt;loan&gt; applications');
    expect(md.content).toContain('| auc | 0.93 |');
    expect(md.content).toContain(runId);
    expect(md.content).toMatch(/## Ethical considerations\n\n_Not documented yet_/);
    const html = okJson(
      await call('vic', 'GET', `/api/v1/models/${model}/versions/1/card?format=html`),
      modelCardSchema,
    );
    expect(html.content).toContain('Rank &lt;loan&gt; applications');
    expect(html.content).not.toContain('<loan>');
    expect(html.content).toMatch(/^<!doctype html>/);
  });

  it('audit verify passes after the workflow and fails when a registry audit row is edited', async () => {
    expect((await t.services.audit.verify()).ok).toBe(true);
    const db = getStore().db;
    const row = await db
      .selectFrom('audit_entries')
      .select(['seq'])
      .where('action', '=', 'model_alias.promote')
      .orderBy('seq')
      .limit(1)
      .executeTakeFirstOrThrow();
    await sql`update audit_entries set actor = 'mallory' where seq = ${row.seq}`.execute(db);
    const result = await t.services.audit.verify();
    expect(result.ok).toBe(false);
    expect(result.problems).toContainEqual(expect.objectContaining({ kind: 'edited', seq: row.seq }));
  });
});
