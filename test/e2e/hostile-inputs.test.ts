import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { createSecretBox } from '../../src/events/webhooks/secret-box.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { mlflowError, mlflowSession, nativeError, uniq } from './helpers.js';
import { constantOfShapeBomb, tinyOnnxModel } from './registry-fixtures.js';

/*
 * Hostile inputs, the smaller holes of issue 16 (finding 8): look-alike model names, local artifact
 * locations, timestamps too long to be times, raw HTML in Markdown model cards, webhook secrets in
 * plaintext. Each refusal is a 4xx naming the field, and nothing is stored.
 */

// The key test/support/app.ts gives the server.
const AUDIT_KEY = 'test-audit-key-0123456789';

describeEachBackend('hostile inputs', (getStore) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(getStore(), { SEXTANT_WEBHOOK_ALLOW: '127.0.0.1' });
  });
  afterAll(async () => {
    await t.services.webhooks.close();
    await t.close();
  });
  const app = () => t.app;
  const { client, newExperiment, newRun, getRun, logBatch } = mlflowSession(app);
  /** Digits only: every letter of a test name is chosen, so its look-alikes are known. */
  const digits = () => `${Date.now()}${Math.floor(Math.random() * 1e6)}`;

  it('look-alike model names are refused: Cyrillic twins, zero-width characters, mixed scripts, I for l', async () => {
    const create = (name: string) => client.post('registered-models/create', { name });
    const d = digits();
    // Every letter of "aceopx" has a Cyrillic twin: "асеорх" reads the same and is all Cyrillic.
    expect((await create(`aceopx-${d}`)).statusCode).toBe(200);
    expect(mlflowError(await create(`асеорх-${d}`), 400, 'INVALID_PARAMETER_VALUE')).toMatch(
      /'асеорх-\d+' looks like the existing model 'aceopx-\d+'/,
    );
    expect(mlflowError(await create(`аceopx-${d}-2`), 400, 'INVALID_PARAMETER_VALUE')).toMatch(
      /mixes Latin letters with Cyrillic/,
    );
    for (const invisible of ['\u200b', '\u2060', '\u00ad', '\ufeff'])
      expect(mlflowError(await create(`ace${invisible}opx-${d}`), 400, 'INVALID_PARAMETER_VALUE')).toMatch(
        /invisible characters/,
      );
    // The native API (a version into a new name) and a rename are held to the same rule.
    const native = await app().inject({
      method: 'PUT',
      url: `/api/v1/models/${encodeURIComponent(`асеорх-${d}`)}/versions/file?filename=model.onnx`,
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.from(tinyOnnxModel()),
    });
    expect(nativeError(native, 409, 'CONFLICT').message).toMatch(/looks like the existing model/);
    expect((await create(`lake-${d}`)).statusCode).toBe(200);
    expect((await create(`pond-${d}`)).statusCode).toBe(200);
    const rename = await app().inject({
      method: 'PATCH',
      url: `/api/v1/models/pond-${d}`,
      payload: { newName: `Iake-${d}` },
    });
    expect(nativeError(rename, 409, 'CONFLICT').message).toMatch(
      /'Iake-\d+' looks like the existing model 'lake-/,
    );
    // Nothing was stored along the way.
    const list = await t.services.registry.models.list({ limit: 1000 });
    const names = list.models.map((m: { name: string }) => m.name).filter((x: string) => x.endsWith(d));
    expect(names.sort()).toEqual([`aceopx-${d}`, `lake-${d}`, `pond-${d}`]);
  });

  it('experiments/create refuses file:// and other local artifact locations, and stores nothing', async () => {
    for (const location of [
      'file:///etc',
      'file:/tmp/x',
      '/var/lib/sextant',
      'relative/folder',
      'C:\\Users\\x',
      'mlflow-artifacts:/../../etc',
      'mlflow-artifacts:/%2e%2e/%2e%2e/etc',
      'ftp://host/x',
    ]) {
      const name = uniq('exp');
      const res = await client.post('experiments/create', { name, artifact_location: location });
      expect(mlflowError(res, 400, 'INVALID_PARAMETER_VALUE'), location).toMatch(/^artifact_location: /);
      mlflowError(
        await client.get('experiments/get-by-name', { experiment_name: name }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
    }
    for (const location of ['s3://bucket/prefix', 'mlflow-artifacts:/team-a']) {
      const res = await client.post('experiments/create', { name: uniq('exp'), artifact_location: location });
      expect(res.statusCode, `${location}: ${res.body}`).toBe(200);
    }
  });

  it('a 23-digit timestamp is refused, not stored as 1e23', async () => {
    const exp = await newExperiment();
    const tooLong = '12345678901234567890123';
    expect(
      mlflowError(
        await client.post('runs/create', { experiment_id: exp, start_time: tooLong }),
        400,
        'INVALID_PARAMETER_VALUE',
      ),
    ).toMatch(/^start_time: must be epoch milliseconds before year 10000/);
    const run = await newRun(exp);
    const batch = await logBatch(run.info.run_id, {
      metrics: [{ key: 'loss', value: 1, timestamp: tooLong, step: '0' }],
    });
    expect(mlflowError(batch, 400, 'INVALID_PARAMETER_VALUE')).toMatch(/^metrics\[0\]\.timestamp: /);
    const steps = await logBatch(run.info.run_id, {
      metrics: [{ key: 'loss', value: 1, timestamp: '1700000000000', step: tooLong }],
    });
    expect(mlflowError(steps, 400, 'INVALID_PARAMETER_VALUE')).toMatch(/^metrics\[0\]\.step: /);
    expect((await getRun(run.info.run_id)).data.metrics).toEqual([]);
    const end = await client.post('runs/update', {
      run_id: run.info.run_id,
      status: 'FINISHED',
      end_time: tooLong,
    });
    expect(mlflowError(end, 400, 'INVALID_PARAMETER_VALUE')).toMatch(/^end_time: /);
  });

  it('a Markdown model card keeps no raw HTML from what users wrote', async () => {
    const name = uniq('carded');
    const up = await app().inject({
      method: 'PUT',
      url: `/api/v1/models/${name}/versions/file?filename=model.onnx&description=${encodeURIComponent('<img src=x onerror=alert(1)>')}`,
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.from(tinyOnnxModel([0.7, 0.1, 0.2])),
    });
    expect(up.statusCode, up.body).toBe(201);
    const patch = await app().inject({
      method: 'PATCH',
      url: `/api/v1/models/${name}/versions/1`,
      payload: {
        card: {
          intended_use: '<script>alert(1)</script> scoring',
          limitations: '[click](javascript:alert(1)) and ![x](http://tracker.example/p.png)',
        },
      },
    });
    expect(patch.statusCode, patch.body).toBe(200);
    const card = z
      .object({ content: z.string() })
      .parse((await app().inject({ method: 'GET', url: `/api/v1/models/${name}/versions/1/card` })).json());
    // No tag, and no link or image: every ']' before a '(' and every '[' after a '!' is escaped.
    expect(card.content).not.toMatch(/<script|<img|(?<!\\)\]\(|!\[/i);
    expect(card.content).toContain('&lt;script&gt;alert(1)&lt;/script&gt; scoring');
    expect(card.content).toContain('\\[click\\](javascript:alert(1))');
  });

  it.runIf(process.platform === 'linux')(
    'a 171-byte ONNX file that would allocate a gigabyte is refused at registration, and nothing is stored',
    async () => {
      const name = uniq('bomb');
      const bomb = constantOfShapeBomb(16000);
      const res = await app().inject({
        method: 'PUT',
        url: `/api/v1/models/${name}/versions/file?filename=model.onnx`,
        headers: { 'content-type': 'application/octet-stream' },
        payload: Buffer.from(bomb),
      });
      const err = nativeError(res, 400, 'VALIDATION_FAILED');
      expect(err.message).toMatch(/^file: the model needs more than 512 MiB of memory to open/);
      nativeError(await app().inject({ method: 'GET', url: `/api/v1/models/${name}` }), 404, 'NOT_FOUND');
    },
    60_000,
  );

  it('webhook targets at IPv4 loopback written as IPv6 (mapped, translated, compatible) are refused', async () => {
    // 127.0.0.1 is allowed in this app; 127.0.0.2 is not, in any spelling.
    for (const host of [
      '[::ffff:0:7f00:2]',
      '[::127.0.0.2]',
      '[::ffff:127.0.0.2]',
      '[0:0:0:0:0:ffff:7f00:2]',
    ]) {
      const err = await t.services.webhooks
        .add({ actor: 'ada', url: `http://${host}:8080/hook`, events: ['alias.moved'] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err, host).toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringMatching(/loopback/),
      });
    }
    expect(
      (await t.services.webhooks.list()).filter(
        (w) => w.url.includes('7f00:2') || w.url.includes('127.0.0.2'),
      ),
    ).toEqual([]);
  });

  it('webhook secrets are sealed at rest with the server key; plaintext ones from before are sealed in place', async () => {
    {
      const s = t.services;
      const created = await s.webhooks.add({
        actor: 'ada',
        url: 'http://127.0.0.1:9/hook',
        events: ['alias.moved'],
      });
      const stored = await getStore()
        .db.selectFrom('webhook_targets')
        .select('secret')
        .where('id', '=', created.target.id)
        .executeTakeFirstOrThrow();
      expect(stored.secret).toMatch(/^enc:v1:/);
      expect(stored.secret).not.toContain(created.secret);
      expect(createSecretBox(AUDIT_KEY).open(stored.secret)).toBe(created.secret);
      expect(() => createSecretBox('another-server-key-0123').open(stored.secret)).toThrow(/server key/);

      // A row written before sealing existed.
      await getStore()
        .db.updateTable('webhook_targets')
        .set({ secret: 'whsec_legacy-plaintext-secret' })
        .where('id', '=', created.target.id)
        .execute();
      // The first delivery pass of a process (the events.deliver job runs it) seals it: a restarted server.
      const restarted = await createTestApp(getStore(), { SEXTANT_WEBHOOK_ALLOW: '127.0.0.1' });
      try {
        await restarted.services.events.deliverDue();
      } finally {
        await restarted.services.webhooks.close();
        await restarted.close();
      }
      const resealed = await getStore()
        .db.selectFrom('webhook_targets')
        .select('secret')
        .where('id', '=', created.target.id)
        .executeTakeFirstOrThrow();
      expect(resealed.secret).toMatch(/^enc:v1:/);
      expect(createSecretBox(AUDIT_KEY).open(resealed.secret)).toBe('whsec_legacy-plaintext-secret');
      expect(await s.webhooks.sealStoredSecrets()).toBe(0);
    }
  });
});
