import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Workspace } from '../../src/app/index.js';
import { createLocalApi } from '../../src/cli/local-api.js';
import type { SextantApi } from '../../src/client/index.js';
import { findChromium, launch, pageProblems, serve, signedInPage } from './web-browser.js';
import { ensureWebBuilt, seedDemoWorkspace } from './web-seed.js';

/*
 * The operations pages in a real chromium against a real server holding the demo's data (auth on):
 * a deployment's monitoring, pipelines and a pipeline run's DAG, the cost report with its ranked
 * causes, and a model version's compliance report. Each test reads what it expects from the API and
 * checks the page shows it, with a clean console and no serious axe-core violation.
 */
const chromiumPath = findChromium();
const MODEL = 'demo-credit-risk';
const DEPLOYMENT = `${MODEL}-champion`;
const DAY = 86_400_000;

describe.skipIf(!chromiumPath)('operations pages in chromium', () => {
  let home: string;
  let ws: Workspace;
  let api: SextantApi;
  let app: FastifyInstance;
  let url: string;
  let browser: Browser;
  let admin = '';

  beforeAll(async () => {
    await ensureWebBuilt();
    ({ home, ws } = await seedDemoWorkspace());
    api = createLocalApi(ws);
    await api.users.create({ name: 'ops-admin', role: 'admin' });
    admin = (await api.tokens.create({ user: 'ops-admin', name: 'web' })).secret;
    ({ app, url } = await serve(ws, 'token'));
    browser = await launch(chromiumPath!);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await ws?.close();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('monitoring: the drifted feature shows DRIFT, a steady one OK; performance, alerts and their actions; acknowledge', async () => {
    const [monitor] = await api.monitoring.list({ deployment: DEPLOYMENT });
    expect(monitor).toBeDefined();
    const [latest] = await api.monitoring.runs(monitor!.id, 1);
    const points = (await api.monitoring.series({ monitorId: monitor!.id })).filter(
      (p) => p.runId === latest!.id && p.feature && !p.slice && p.metric.startsWith('skew.'),
    );
    const skewed = points.find((p) => p.status === 'alert')!.feature!;
    const steady = [...new Set(points.map((p) => p.feature!))].find((f) =>
      points.filter((p) => p.feature === f).every((p) => p.status === 'ok'),
    )!;
    expect(skewed).toBeDefined();
    expect(steady).toBeDefined();
    // A second monitor estimates accuracy (CBPE) before labels arrive and measures fairness by sex,
    // over the demo's traffic.
    await api.monitoring.create({
      deployment: DEPLOYMENT,
      spec: 'name: web-estimates\nwindow: 1h\nlabel:\n  positive: 1\nestimation: true\nprotected:\n  attribute: sex\n',
    });
    const [estimated] = await api.monitoring.run({
      deployment: DEPLOYMENT,
      monitor: 'web-estimates',
      from: new Date(Date.now() - 6 * 3_600_000).toISOString(),
      to: new Date().toISOString(),
    });
    const estimate = estimated!.points.find((p) => p.metric === 'estimate.accuracy' && !p.slice)!;
    const groups = estimated!.points.filter((p) => p.metric.startsWith('fairness.') && p.slice);
    expect(estimate.value).not.toBeNull();
    expect(groups.length).toBeGreaterThan(0);

    const { ctx, page, errors } = await signedInPage(browser, admin);
    await page.goto(`${url}/deployments/${DEPLOYMENT}`);
    await page.getByRole('link', { name: /monitors, drift/ }).click();
    await page.waitForURL(`${url}/deployments/${DEPLOYMENT}/monitoring`);
    const watch = page.getByRole('region', { name: 'monitor demo-watch' });
    const features = watch.getByTestId('monitor-features');
    await features.waitFor();
    const cell = (feature: string) => features.locator(`tr[data-feature="${feature}"] [data-testid="skew"]`);
    await expect(cell(skewed).textContent()).resolves.toMatch(/^DRIFT/);
    await expect(cell(steady).textContent()).resolves.toMatch(/^OK/);
    // Realised accuracy with label coverage, per window.
    const perf = await watch.getByTestId('monitor-performance').textContent();
    expect(perf).toContain('Realised accuracy');
    expect(await watch.getByTestId('monitor-performance').locator('tbody tr').count()).toBe(2);

    // The estimate with its band next to the realised accuracy, and fairness per group.
    const estimates = page.getByRole('region', { name: 'monitor web-estimates' });
    const sig = (v: unknown) => String(Number((v as number).toPrecision(4)));
    const row = await estimates.getByTestId('monitor-performance').locator('tbody tr').last().textContent();
    expect(row).toContain(sig(estimate.value));
    expect(row).toContain(`${sig(estimate.details.lower)} – ${sig(estimate.details.upper)}`);
    const fairness = estimates.getByTestId('monitor-fairness');
    expect(await fairness.locator('tbody tr').count()).toBe(groups.length);
    expect(await fairness.textContent()).toContain(groups[0]!.slice);

    const alerts = page.getByTestId('monitor-alerts');
    const retrain = alerts.locator('tr[data-rule="accuracy-drop"]');
    await expect(retrain.textContent()).resolves.toContain('retrain of demo-credit-risk@1 requested');
    await expect(retrain.textContent()).resolves.toContain('firing');
    expect(await pageProblems(page, errors, 'monitoring')).toEqual([]);
    // An admin acknowledges the alert; the page and the API say so.
    await retrain.getByRole('button', { name: 'Acknowledge' }).click();
    await retrain.getByText('by ops-admin').waitFor();
    const [acked] = (await api.alerts.list({ deployment: DEPLOYMENT })).filter(
      (a) => a.rule === 'accuracy-drop',
    );
    expect(acked).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'ops-admin' });
    await ctx.close();
  });

  it('pipelines: recent runs link to a run whose DAG and steps show the cached steps, child runs and logs', async () => {
    const { runs } = await api.pipelines.runs({ limit: 100 });
    let cachedRun: Awaited<ReturnType<SextantApi['pipelines']['get']>> | undefined;
    for (const r of runs) {
      const d = await api.pipelines.get(r.id);
      if (d.steps.some((s) => s.status === 'cached')) cachedRun = d;
    }
    expect(
      cachedRun,
      'the demo fires the CT pipeline twice; the second run is served from the cache',
    ).toBeDefined();
    const cached = cachedRun!.steps.find((s) => s.status === 'cached')!;
    const ran = cachedRun!.steps.find((s) => s.status === 'succeeded' && s.trackingRunId);

    const { ctx, page, errors } = await signedInPage(browser, admin);
    await page.goto(`${url}/experiments`);
    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Pipelines' }).click();
    await page.getByTestId('pipeline-runs-table').waitFor();
    expect(await pageProblems(page, errors, 'pipelines')).toEqual([]);
    await page.getByRole('link', { name: cachedRun!.id }).click();
    await page.waitForURL(`${url}/pipelines/runs/${cachedRun!.id}`);
    const steps = page.getByTestId('pipeline-steps');
    await steps.waitFor();
    expect(await steps.locator('tbody tr').count()).toBe(cachedRun!.steps.length);
    await expect(steps.locator(`tr[data-step="${cached.name}"]`).textContent()).resolves.toContain(
      'cached from the cache',
    );
    const dag = page.getByTestId('pipeline-dag');
    await dag.getByRole('button', { name: new RegExp(`^${cached.name}\\W*cached`) }).waitFor();
    expect(await dag.getByRole('button').count()).toBe(cachedRun!.steps.length);
    if (ran) {
      const row = steps.locator(`tr[data-step="${ran.name}"]`);
      await expect(row.getByRole('link', { name: ran.trackingRunId! }).getAttribute('href')).resolves.toBe(
        `/runs/${ran.trackingRunId}`,
      );
      await row.getByRole('button', { name: 'log' }).click();
      await page.getByRole('heading', { name: `Log of ${ran.name}` }).waitFor();
      const logs = await api.pipelines.logs(cachedRun!.id, { step: ran.name });
      if (logs.chunks.length > 0)
        await expect(page.getByTestId('step-logs').textContent()).resolves.toContain(
          logs.chunks[0]!.text.trim().split('\n')[0],
        );
    }
    expect(await pageProblems(page, errors, 'pipeline-run')).toEqual([]);
    await ctx.close();
  });

  it('cost: the period against the one before, the causes ranked as the API ranks them, budgets and the reaper', async () => {
    const [budget] = await api.budgets.list();
    // The GPU bill story's last period starts where its budget does, and lasts 30 days.
    const from = budget!.current!.from;
    const to = new Date(Date.parse(from) + 30 * DAY).toISOString();
    const report = await api.cost.report({ by: 'experiment', from, to, causes: true });
    const labels = (report.causes ?? []).map((c) => c.label);
    expect(labels.length).toBeGreaterThan(1);

    const { ctx, page, errors } = await signedInPage(browser, admin);
    await page.goto(`${url}/cost?${new URLSearchParams({ from, to, by: 'experiment' })}`);
    const causes = page.getByTestId('cost-causes');
    await causes.waitFor();
    expect(await causes.locator('li > strong').allTextContents()).toEqual(labels);
    await expect(causes.locator('li').first().textContent()).resolves.toContain(report.causes![0]!.reason);
    await expect(page.getByTestId('cost-total').textContent()).resolves.toContain(
      `${report.total.toFixed(2)} ${report.currency}`,
    );
    expect(await page.getByTestId('cost-groups').locator('tbody tr').count()).toBe(report.groups.length);
    const row = page.getByTestId('budgets-table').locator(`tr[data-budget="${budget!.name}"]`);
    await expect(row.textContent()).resolves.toContain(budget!.current!.exhausted ? 'exhausted' : 'ok');
    expect(await pageProblems(page, errors, 'cost')).toEqual([]);
    // The reaper unloaded the idle deployment after that period: the default period (the last 30
    // days, to now) shows it.
    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Cost' }).click();
    await page.waitForURL(`${url}/cost`);
    const savings = page.getByTestId('reaper-savings');
    await savings.waitFor();
    await expect(savings.textContent()).resolves.toMatch(/unloaded [1-9]/);
    expect(await page.getByTestId('reaper-actions').textContent()).toContain('deployment_unload');
    await ctx.close();
  });

  it('a model version links its compliance report, fetched with the token, naming the training data', async () => {
    const report = await api.compliance.report({ model: MODEL, ref: 'champion' });
    const version = String(report.model.version);
    const dataset = report.data.datasets[0]!.ref;
    const { ctx, page, errors } = await signedInPage(browser, admin);
    await page.goto(`${url}/models/${MODEL}/versions/${version}`);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Compliance report' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`compliance-${MODEL}-v${version}.html`);
    const html = fs.readFileSync((await download.path())!, 'utf8');
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain(dataset);
    expect(await pageProblems(page, errors, 'model-version-compliance')).toEqual([]);
    await ctx.close();
  });
});
