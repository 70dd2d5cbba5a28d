import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Workspace } from '../../src/app/index.js';
import { createLocalApi } from '../../src/cli/local-api.js';
import type { SextantApi } from '../../src/client/index.js';
import {
  findChromium,
  launch,
  pageProblems,
  screenshot,
  seriousA11yViolations,
  serve,
  signedInPage,
} from './web-browser.js';
import { ensureWebBuilt, seedDemoWorkspace, seedManyRuns } from './web-seed.js';

/*
 * The web UI in a real chromium against a real server holding the demo's data (auth on: API tokens),
 * plus an experiment of 10,000 runs. Every page test checks the values shown, that the console stayed
 * clean, and that axe-core finds no serious or critical accessibility violation; each page leaves a
 * screenshot in test-results/web/.
 */
const chromiumPath = findChromium();
const MODEL = 'demo-credit-risk';
const MANY = 10_000;

describe.skipIf(!chromiumPath)('web UI in chromium', () => {
  let home: string;
  let ws: Workspace;
  let api: SextantApi;
  let app: FastifyInstance;
  let url: string;
  let browser: Browser;
  let manyExperiment: string;
  let demoOutput: string;
  const secrets = { admin: '', approver: '', viewer: '' };

  beforeAll(async () => {
    await ensureWebBuilt();
    ({ home, ws, demoOutput } = await seedDemoWorkspace());
    api = createLocalApi(ws);
    manyExperiment = await seedManyRuns(ws, 'web-many-runs', MANY);
    for (const [role, user] of [
      ['admin', 'web-admin'],
      ['viewer', 'web-viewer'],
    ] as const) {
      await api.users.create({ name: user, role });
      secrets[role] = (await api.tokens.create({ user, name: 'web' })).secret;
    }
    // demo-reviewer is the demo's approver.
    secrets.approver = (await api.tokens.create({ user: 'demo-reviewer', name: 'web' })).secret;
    ({ app, url } = await serve(ws, 'token'));
    browser = await launch(chromiumPath!);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await ws?.close();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  const signedIn = (secret: string) => signedInPage(browser, secret);

  /** The checks every page passes: a clean console, no serious a11y violation, a screenshot kept. */
  async function pageChecks(page: Page, errors: string[], name: string) {
    expect(await pageProblems(page, errors, name)).toEqual([]);
  }

  it('serves the UI with a CSP that forbids inline script; deep links answer index.html; /api stays the API', async () => {
    // `npm run demo` ends by naming the URL to open.
    expect(demoOutput.trimEnd().split('\n').at(-1)).toBe(
      'Web UI: npx sextant server, then open http://127.0.0.1:5005/',
    );
    const root = await fetch(`${url}/`);
    expect(root.status).toBe(200);
    const csp = root.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await root.text();
    expect(html).toMatch(/<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const deep = await fetch(`${url}/models/${MODEL}/versions/1`);
    expect(deep.status).toBe(200);
    expect(await deep.text()).toBe(html);
    const unknownApi = await fetch(`${url}/api/v1/no-such-thing`);
    expect(unknownApi.status).toBe(401);
    expect(await unknownApi.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
  });

  it('an anonymous visitor signs in with a token and lands on the page asked for; an approver sees Approvals but not Audit', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${url}/models/${MODEL}`);
    await page.waitForURL(/\/signin\?next=/);
    await page.getByLabel('API token').waitFor();
    // The refused API call is a console error here, by design; the page itself must be accessible.
    expect(await seriousA11yViolations(page), 'axe on signin').toEqual([]);
    await screenshot(page, 'signin');
    await page.getByLabel('API token').fill('sxt_wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('Sign-in failed');
    await page.getByLabel('API token').fill(secrets.approver);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${url}/models/${MODEL}`);
    await page.getByRole('heading', { name: `Model ${MODEL}` }).waitFor();
    expect(await page.getByTestId('who').textContent()).toContain('demo-reviewer (approver)');
    const nav = page.getByRole('navigation', { name: 'main' });
    await expect(nav.getByRole('link', { name: 'Approvals' }).count()).resolves.toBe(1);
    await expect(nav.getByRole('link', { name: 'Audit' }).count()).resolves.toBe(0);
    // An approver cannot write: no promote or rollback form is offered.
    await expect(page.getByRole('button', { name: 'Roll back' }).count()).resolves.toBe(0);
    await screenshot(page, 'signed-in-approver');
    await ctx.close();
  });

  it('a revoked or expired token sends the user back to sign in', async () => {
    const created = await api.tokens.create({ user: 'web-viewer', name: 'short-lived' });
    const { ctx, page } = await signedIn(created.secret);
    await page.goto(`${url}/datasets`);
    await page.getByTestId('datasets-table').waitFor();
    await api.tokens.revoke(created.token.id);
    await page.goto(`${url}/deployments`);
    await page.waitForURL(/\/signin\?next=%2Fdeployments/);
    await page.getByLabel('API token').waitFor();
    await ctx.close();
  });

  it('runs table: 10,000 runs virtualised, MLflow filter, sort pins the metric, columns, then compare', async () => {
    const { ctx, page, errors } = await signedIn(secrets.admin);
    await page.goto(`${url}/experiments/${manyExperiment}`);
    await page.getByText(`${MANY} runs`, { exact: true }).waitFor({ timeout: 30_000 });
    // Virtualised: thousands of runs, a few dozen rows in the DOM.
    const rendered = await page.locator('[data-testid="runs-scroller"] [role="row"]').count();
    expect(rendered).toBeGreaterThan(10);
    expect(rendered).toBeLessThan(100);
    await pageChecks(page, errors, 'runs-10000');

    await page.getByRole('button', { name: 'accuracy', exact: true }).click();
    await page.waitForURL(/order=metrics\.accuracy\+DESC/);
    await page.getByText(`${MANY} runs`, { exact: true }).waitFor();
    const firstRow = page.locator('[data-testid="runs-scroller"] [role="row"]').first();
    await expect(firstRow.locator('.pinned').textContent()).resolves.toBe('0.999');
    const headers = await page.getByRole('columnheader').allTextContents();
    expect(headers[2]).toBe('accuracy ▼');
    await page.getByRole('button', { name: 'accuracy ▼' }).click();
    await page.waitForURL(/order=metrics\.accuracy\+ASC/);
    await expect.poll(() => firstRow.locator('.pinned').textContent()).toBe('0');

    await page.getByLabel('Filter').fill("params.optimizer = 'adam' and metrics.accuracy >= 0.99");
    await page.getByRole('button', { name: 'Search' }).click();
    // accuracy = (i % 1000)/1000 >= 0.99 for i%1000 in 990..999; adam for odd i: 5 per 1000 runs.
    await page.getByText('50 runs', { exact: true }).waitFor();

    await page.getByText('Columns').click();
    await page.getByRole('checkbox', { name: 'depth' }).check();
    await page.getByRole('columnheader', { name: 'depth' }).waitFor();

    await page
      .getByRole('checkbox', { name: /^select trial-/ })
      .nth(0)
      .check();
    await page
      .getByRole('checkbox', { name: /^select trial-/ })
      .nth(1)
      .check();
    await page.getByRole('link', { name: 'Compare 2 runs' }).click();
    await page.getByRole('heading', { name: 'Compare 2 runs' }).waitFor();
    const diff = page.getByTestId('params-diff');
    // The heading shows before the runs' data: wait for the diff to be drawn, then read it
    // (allTextContents does not wait; read at once it raced the fetch on a loaded machine).
    await page.getByText('2 params are the same in every run.').waitFor();
    // Both are accuracy 0.999 runs (i % 1000 = 999): same lr and optimizer, a different depth.
    await expect(diff.getByRole('rowheader').allTextContents()).resolves.toEqual(['depth']);
    await page.getByTestId('line-chart').first().waitFor();
    await pageChecks(page, errors, 'compare');
    await ctx.close();
  });

  it('API errors are shown with their code; long names wrap and empty states say so', async () => {
    const { ctx, page } = await signedIn(secrets.admin);
    await page.goto(`${url}/`);
    await page.getByRole('heading', { name: 'Experiments' }).waitFor();
    await page.getByRole('link', { name: 'demo-credit-risk', exact: true }).waitFor();
    await page.goto(`${url}/models/no-such-model`);
    const alert = page.getByRole('alert').first();
    await alert.waitFor();
    expect(await alert.textContent()).toContain('NOT_FOUND');
    const longName = `an-experiment-whose-name-goes-on-${'and-on-'.repeat(30)}end`;
    const empty = await api.experiments.create({ name: longName });
    await page.goto(`${url}/experiments/${empty.id}`);
    await page.getByText('No runs match.').waitFor();
    const heading = await page.getByRole('heading', { level: 1 }).boundingBox();
    expect(heading!.width).toBeLessThanOrEqual(1400);
    expect(
      await page.evaluate(
        () =>
          (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document
            .documentElement.scrollWidth,
      ),
    ).toBeLessThanOrEqual(1400);
    await screenshot(page, 'long-name-empty');
    await ctx.close();
  });

  it('the demo sweep and a run page: params, metric charts over steps, artifacts with preview', async () => {
    const { ctx, page, errors } = await signedIn(secrets.admin);
    const experiment = await api.experiments.getByName('demo-credit-risk');
    const { runs } = await api.runs.search({
      experimentIds: [experiment.id],
      orderBy: ['metrics.val_accuracy DESC'],
      maxResults: 1,
    });
    const best = runs[0]!;
    await page.goto(`${url}/experiments/${experiment.id}`);
    await page.getByRole('link', { name: best.name }).first().waitFor();
    await pageChecks(page, errors, 'runs-demo');
    await page.goto(`${url}/runs/${best.id}`);
    await page.getByRole('heading', { name: new RegExp(`Run ${best.name}`) }).waitFor();
    const accuracy = best.metrics.find((m) => m.key === 'val_accuracy')!;
    await expect(page.getByTestId('run-metrics').textContent()).resolves.toContain('val_accuracy');
    await page.getByTestId('line-chart').first().waitFor();
    expect(Number(await page.getByTestId('line-chart').first().getAttribute('data-points'))).toBeGreaterThan(
      1,
    );
    expect(accuracy.value).toBeGreaterThan(0);
    await pageChecks(page, errors, 'run');

    // The model's training run: browse into a folder and preview a JSON artifact.
    const trained = (await api.models.version(`${MODEL}@1`)).runId!;
    await page.goto(`${url}/runs/${trained}`);
    await page.getByRole('button', { name: 'evaluation' }).click();
    await page.getByRole('button', { name: 'report.json' }).click();
    let stored = '';
    for await (const chunk of await api.runs.downloadArtifact(trained, 'evaluation/report.json'))
      stored += chunk;
    await expect.poll(() => page.locator('pre.artifact-text').textContent()).toBe(stored);
    await pageChecks(page, errors, 'run-artifact');
    await ctx.close();
  });

  it('models: versions, alias timeline, a version page whose model card is sanitised Markdown', async () => {
    await api.models.updateVersion(MODEL, 2, {
      card: {
        caveats:
          '**Bold caveat** <img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> [x](javascript:window.__pwned=3)',
      },
    });
    const { ctx, page, errors } = await signedIn(secrets.admin);
    await page.goto(`${url}/models`);
    await page.getByTestId('models-table').getByRole('link', { name: MODEL }).waitFor();
    await pageChecks(page, errors, 'models');
    await page.getByTestId('models-table').getByRole('link', { name: MODEL }).click();
    await page.getByTestId('alias-timeline').waitFor();
    const timeline = await page.getByTestId('alias-timeline').textContent();
    expect(timeline).toContain('incident: latency regression');
    expect(timeline).toContain('first production model');
    await pageChecks(page, errors, 'model');
    await page.goto(`${url}/models/${MODEL}/versions/2`);
    await page.locator('.markdown strong', { hasText: 'Bold caveat' }).waitFor();
    expect(
      await page.locator('.markdown script, .markdown [onerror], .markdown a[href^="javascript"]').count(),
    ).toBe(0);
    expect(
      await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned),
    ).toBeUndefined();
    // Raw HTML in a card is shown as text, not parsed.
    expect(await page.locator('.markdown').textContent()).toContain('<script>window.__pwned=2</script>');
    await pageChecks(page, errors, 'model-version');

    // An editor fills a card field in the browser; the card and the version record both change.
    await page.getByText('Edit the model card').click();
    await page.getByLabel('owners').fill('risk-team (web)');
    await page.getByRole('button', { name: 'Save the card' }).click();
    await page.locator('.markdown', { hasText: 'risk-team (web)' }).waitFor();
    expect((await api.models.version(`${MODEL}@2`)).card.owners).toBe('risk-team (web)');
    await ctx.close();
  });

  it('the approver rejects one promotion with a comment, approves the next, and the champion alias moves', async () => {
    const champion = async () =>
      (await api.models.get(MODEL)).aliases.find((a) => a.alias === 'champion')?.version;
    expect(await champion()).toBe(1);
    const first = await api.models.promote({
      ref: `${MODEL}@2`,
      alias: 'champion',
      reason: 'web: try v2 again',
    });
    expect(first.status).toBe('pending');
    const { ctx, page, errors } = await signedIn(secrets.approver);
    await page.goto(`${url}/promotions`);
    const card1 = page.getByTestId(`promotion-${first.id}`);
    await card1.getByText('web: try v2 again').waitFor();
    await card1.getByLabel('Comment').fill('not before the fairness review');
    await card1.getByRole('button', { name: 'Reject' }).click();
    await expect.poll(async () => (await api.models.request(first.id)).status).toBe('rejected');
    expect(await champion()).toBe(1);
    await pageChecks(page, errors, 'promotions');

    const second = await api.models.promote({
      ref: `${MODEL}@2`,
      alias: 'champion',
      reason: 'web: fairness reviewed',
    });
    await page.goto(`${url}/promotions/${second.id}`);
    const card2 = page.getByTestId(`promotion-${second.id}`);
    await card2.getByRole('button', { name: 'Approve' }).click();
    await card2.getByText('executed').waitFor();
    expect(await champion()).toBe(2);
    await page.goto(`${url}/models/${MODEL}`);
    await page.getByTestId('alias-timeline').getByText('web: fairness reviewed').waitFor();
    expect(await page.getByTestId('alias-timeline').locator('li').first().textContent()).toContain('1 → 2');
    await pageChecks(page, errors, 'model-after-approval');
    await ctx.close();
  });

  it('datasets: versions with digest, files, profiles with histograms, quality results, drift against training', async () => {
    const { ctx, page, errors } = await signedIn(secrets.viewer);
    const datasets = await api.data.listDatasets();
    const train = datasets.find((d) => d.name.includes('train'))!;
    const other = datasets.find((d) => d !== train)!;
    await page.goto(`${url}/datasets`);
    await page.getByTestId('datasets-table').getByRole('link', { name: train.name }).waitFor();
    // A viewer is offered neither the approvals inbox nor the audit log.
    const nav = page.getByRole('navigation', { name: 'main' });
    expect(await nav.getByRole('link').allTextContents()).toEqual([
      'Runs',
      'Models',
      'Datasets',
      'Deployments',
      'Predictions',
      'Pipelines',
      'Cost',
      'Lineage',
    ]);
    await pageChecks(page, errors, 'datasets');
    await page.goto(`${url}/datasets/${train.name}/versions/1`);
    const version = await api.data.show(`${train.name}@1`);
    await page.getByText(version.digest).waitFor();
    await page.getByTestId('profile-table').first().waitFor();
    expect(await page.locator('svg.histogram').count()).toBeGreaterThan(0);
    await page
      .getByText(/passed,/)
      .first()
      .waitFor();
    await page.getByLabel('Compare with').fill(`${train.name}@1`);
    await page.getByLabel('as').selectOption('drift');
    await page.getByLabel('Compare with').fill(`${other.name}@latest`);
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.getByTestId('dataset-drift').waitFor();
    expect(await page.getByTestId('dataset-drift').textContent()).toMatch(/columns\s+drifted/);
    await pageChecks(page, errors, 'dataset-version');
    await ctx.close();
  });

  it('deployments and a prediction: errors, traffic and latency, the trace to the data, the explanation chart', async () => {
    const { ctx, page, errors } = await signedIn(secrets.viewer);
    const [deployment] = await api.serving.deployments.list();
    await page.goto(`${url}/deployments`);
    await page.getByTestId('deployments-table').getByRole('link', { name: deployment!.name }).click();
    await page.getByTestId('traffic').waitFor();
    expect(await page.getByTestId('traffic').textContent()).toContain('champion v1');
    // The demo's one refused request (a missing feature), counted by its serving process's heartbeat.
    const stats = await api.serving.deployments.stats(deployment!.name);
    expect(stats.errorsByCode.VALIDATION_FAILED).toBeGreaterThanOrEqual(1);
    expect(await page.getByTestId('errors').textContent()).toMatch(
      new RegExp(
        `Errors: ${stats.errors} of ${stats.requests} requests \\(\\d+\\.\\d%\\).*VALIDATION_FAILED \\d+`,
      ),
    );
    await pageChecks(page, errors, 'deployment');
    const { predictions } = await api.serving.predictions.list({ deployment: deployment!.name, limit: 1 });
    await page.goto(`${url}/predictions?deployment=${deployment!.name}`);
    await expect.poll(() => page.getByTestId('predictions-table').locator('tbody tr').count()).toBe(100);
    await page.getByRole('link', { name: 'Older predictions' }).waitFor();
    await pageChecks(page, errors, 'predictions');
    await page.getByRole('link', { name: predictions[0]!.id }).click();
    await page.getByTestId('trace').waitFor();
    const trace = await page.getByTestId('trace').textContent();
    expect(trace).toContain(`${MODEL}@1`);
    expect(trace).toContain('Dataset');
    await page.getByTestId('explanation-chart').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('explanation-chart').locator('rect').count()).toBeGreaterThan(3);
    await pageChecks(page, errors, 'prediction');
    await ctx.close();
  });

  it('lineage as a graph whose nodes open their pages; the audit log with filters and a verified chain', async () => {
    const { ctx, page, errors } = await signedIn(secrets.admin);
    await page.goto(`${url}/lineage?ref=${MODEL}@1`);
    const graph = page.getByTestId('lineage-graph');
    await graph.waitFor();
    expect(await graph.locator('g.node').count()).toBeGreaterThanOrEqual(3);
    expect(await graph.locator('g.node-dataset_version').count()).toBeGreaterThan(0);
    await pageChecks(page, errors, 'lineage');
    await graph.locator('g.node-run').first().click();
    await page.waitForURL(/\/runs\/run_/);
    await page.goto(`${url}/audit`);
    await page.getByTestId('audit-table').waitFor();
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    await expect(page.getByTestId('audit-verify').textContent()).resolves.toMatch(/^ok \d+ entries/);
    await page.getByLabel('Entity type').fill('promotion_request');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/entityType=promotion_request/);
    await pageChecks(page, errors, 'audit');
    await ctx.close();
  });
});
