import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { loadConfig } from '../../src/core/config.js';
import { alertSchema } from '../../src/monitoring/alerts/index.js';
import type { MetricPoint } from '../../src/monitoring/metric-point.schema.js';
import { buildApp } from '../../src/server/app.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { cli } from '../support/cli.js';
import { uniq } from './helpers.js';
import { tinyOnnxModel } from './registry-fixtures.js';

const admin = { name: 'ada', role: 'admin' as const };
const HOUR = 3_600_000;

/** A model with a deployment, and one firing alert on a feature named like markup. */
async function seed(s: Workspace | TestApp['services']) {
  const model = uniq('credit');
  await s.registry.versions.registerFile({
    actor: admin,
    model,
    filename: 'model.onnx',
    content: tinyOnnxModel(),
  });
  const mv = await s.registry.versions.resolve(`${model}@1`);
  const dep = await s.serving.deployments.create({
    actor: 'ada',
    name: uniq('credit-live'),
    model: `${model}@1`,
  });
  const point: MetricPoint = {
    monitorId: uniq('mon'),
    runId: uniq('run'),
    deploymentId: dep.id,
    modelVersionId: mv.id,
    metric: 'drift.psi',
    feature: '<script>x</script>',
    slice: null,
    windowStart: 0,
    windowEnd: HOUR,
    value: 0.42,
    status: 'alert',
    details: {},
  };
  const { fired } = await s.alerts.evaluateRun(
    {
      id: point.monitorId,
      deploymentId: dep.id,
      alerts: [{ name: 'psi-high', metric: 'drift.psi', condition: { op: '>', threshold: 0.2 } }],
    },
    [point],
  );
  return { dep, alert: fired[0]! };
}

describeEachBackend('alerts API and the monitoring report route', (getStore) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(getStore());
  });
  afterAll(() => t.close());

  it('lists, gets and acknowledges over HTTP; errors name the field; the report is self-contained HTML', async () => {
    const { dep, alert } = await seed(t.services);
    const list = await t.app.inject({
      method: 'GET',
      url: `/api/v1/alerts?deployment=${dep.name}&state=firing`,
    });
    expect(list.statusCode).toBe(200);
    expect(
      z
        .object({ alerts: z.array(alertSchema) })
        .parse(list.json())
        .alerts.map((a) => a.id),
    ).toEqual([alert.id]);
    const bad = await t.app.inject({ method: 'GET', url: '/api/v1/alerts?state=burning' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.field).toBe('querystring.state');
    const ack = await t.app.inject({
      method: 'POST',
      url: `/api/v1/alerts/${alert.id}/ack`,
      payload: { comment: 'on it' },
    });
    expect(alertSchema.parse(ack.json())).toMatchObject({ state: 'acknowledged', comment: 'on it' });
    const twice = await t.app.inject({ method: 'POST', url: `/api/v1/alerts/${alert.id}/ack`, payload: {} });
    expect(twice.statusCode).toBe(409);
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/alerts/alr_00000000000000000000000000' }))
        .statusCode,
    ).toBe(404);

    const report = await t.app.inject({
      method: 'GET',
      url: `/api/v1/deployments/${dep.name}/monitoring/report`,
    });
    expect(report.statusCode).toBe(200);
    expect(report.headers['content-type']).toMatch(/^text\/html/);
    expect(report.body).toContain('psi-high');
    expect(report.body).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(report.body).not.toMatch(/<script|https?:\/\//i);
    const badRange = await t.app.inject({
      method: 'GET',
      url: `/api/v1/deployments/${dep.name}/monitoring/report?from=yesterday`,
    });
    expect(badRange.json().error.details.field).toBe('from');
  });
});

describeEachBackend('sextant alerts and monitor report, local and over HTTP', () => {
  let dir: string;
  let ws: Workspace;
  let app: FastifyInstance;
  let seeded: Awaited<ReturnType<typeof seed>>;
  let envs: Record<'local' | 'remote', Record<string, string>>;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-alerts-cli-'));
    ws = await openWorkspace(loadConfig({ SEXTANT_HOME: dir }));
    seeded = await seed(ws);
    app = await buildApp(ws);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    envs = {
      local: { SEXTANT_HOME: dir },
      remote: { SEXTANT_HOME: path.join(dir, 'client'), SEXTANT_URL: url },
    };
  });
  afterAll(async () => {
    await app.close();
    await ws.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const transport of ['local', 'remote'] as const) {
    it(`[${transport}] ls, show, ack, report; a bad state exits 2 with one line`, async () => {
      const env = envs[transport];
      const ls = await cli(env, 'alerts', 'ls', '--deployment', seeded.dep.name);
      expect(ls.code).toBe(0);
      expect(ls.out).toContain(seeded.alert.id);
      expect(ls.out).toContain('psi-high');
      const show = await cli(env, '--json', 'alerts', 'show', seeded.alert.id);
      expect(alertSchema.parse(JSON.parse(show.out)).feature).toBe('<script>x</script>');
      const ack = await cli(env, 'alerts', 'ack', seeded.alert.id, '--comment', transport);
      if (transport === 'local') expect(ack.out).toContain(`acknowledged ${seeded.alert.id}`);
      else expect(ack.code).toBe(4); // acknowledged already by the local run
      const bad = await cli(env, 'alerts', 'ls', '--state', 'burning');
      expect(bad.code).toBe(2);
      expect(bad.err.trim().split('\n')).toHaveLength(1);
      const out = path.join(dir, `report-${transport}.html`);
      const report = await cli(env, 'monitor', 'report', seeded.dep.name, '--html', out);
      expect(report.code).toBe(0);
      const html = fs.readFileSync(out, 'utf8');
      expect(html).toContain(seeded.dep.name);
      expect(html).not.toMatch(/<script/i);
    });
  }
}, ['sqlite']);
