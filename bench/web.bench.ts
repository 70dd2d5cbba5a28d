import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { openWorkspace } from '../src/app/index.js';
import { createLocalApi } from '../src/cli/local-api.js';
import { loadConfig } from '../src/core/config.js';
import { findChromium, launch, serve } from '../test/web/web-browser.js';
import { ensureWebBuilt, seedManyRuns } from '../test/web/web-seed.js';
import { fmtMs, fmtRatio, intEnv, median, printTable, tempDir } from './support.js';

/*
 * Web UI benchmarks in chromium (npm run bench:web). Prints tables and ratios; asserts nothing.
 *   1. The runs table of 10,000 runs: navigation start -> first rows in the DOM (the page's clock),
 *      against the bare API call for 1,000 runs (fetch from the same page) and the 1 s target.
 *   2. A metric chart of 100,000 points (uPlot on the run page): draw time, against a bare canvas
 *      loop drawing the same points and against the 500 ms target.
 *   3. The initial JavaScript (entry + preloads), gzipped, against the 300 KB budget.
 * Knobs: BENCH_WEB_RUNS (10000), BENCH_WEB_POINTS (100000), BENCH_WEB_REPS (5).
 */
const RUNS = intEnv('BENCH_WEB_RUNS', 10_000);
const POINTS = intEnv('BENCH_WEB_POINTS', 100_000);
const REPS = intEnv('BENCH_WEB_REPS', 5);
const root = path.resolve(import.meta.dirname, '..');

/** The baseline: the same number of points as one path on a bare canvas (page-side source). */
const bareCanvasDraw = (n: number) => `(() => {
  const canvas = document.createElement('canvas');
  canvas.width = 1200;
  canvas.height = 220;
  document.body.append(canvas);
  const g = canvas.getContext('2d');
  const t0 = performance.now();
  g.beginPath();
  for (let i = 0; i < ${n}; i += 1) g.lineTo((i / ${n}) * 1200, 110 + 100 * Math.sin(i / 50));
  g.stroke();
  g.getImageData(0, 0, 1, 1);
  const ms = performance.now() - t0;
  canvas.remove();
  return ms;
})()`;

function initialJsGzipped(): { files: string[]; bytes: number } {
  const dist = path.join(root, 'web/dist');
  const html = fs.readFileSync(path.join(dist, 'index.html'), 'utf8');
  const files = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
  const bytes = files.reduce((n, f) => n + gzipSync(fs.readFileSync(path.join(dist, f))).length, 0);
  return { files, bytes };
}

async function main(): Promise<void> {
  const chromiumPath = findChromium();
  if (!chromiumPath) return;
  await ensureWebBuilt();
  console.log(
    `sextant web bench: node ${process.version}, chromium ${chromiumPath}; numbers are noisy on a shared machine`,
  );
  const home = tempDir('sextant-bench-web-');
  const ws = await openWorkspace(loadConfig({ SEXTANT_HOME: home }));
  const api = createLocalApi(ws);
  const experimentId = await seedManyRuns(ws, 'bench-web', RUNS);
  const chartRun = await api.runs.create({ experimentId, name: 'long-curve' });
  for (let s = 0; s < POINTS; s += 1000) {
    const n = Math.min(1000, POINTS - s);
    await api.runs.logBatch(chartRun.id, {
      metrics: Array.from({ length: n }, (_, i) => ({
        key: 'loss',
        value: Math.exp(-(s + i) / POINTS) + 0.05 * Math.sin((s + i) / 50),
        timestamp: 0,
        step: s + i,
      })),
    });
  }
  const { app, url } = await serve(ws, 'off');
  const browser = await launch(chromiumPath);
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    // When the first row appears, in the page's own clock (0 = navigation start): Playwright's
    // polling from outside would add its own delay while the page parses the next pages of runs.
    await page.addInitScript(`new MutationObserver((_, obs) => {
      if (document.querySelector('[data-testid="runs-scroller"] [role="row"]')) {
        window.__firstRowMs = performance.now();
        obs.disconnect();
      }
    }).observe(document, { subtree: true, childList: true });`);
    const tableMs: number[] = [];
    const apiMs: number[] = [];
    for (let r = 0; r < REPS; r += 1) {
      await page.goto(`${url}/experiments/${experimentId}`);
      await page.locator('[data-testid="runs-scroller"] [role="row"]').first().waitFor();
      tableMs.push(await page.evaluate<number>('window.__firstRowMs'));
      apiMs.push(
        await page.evaluate(async (id) => {
          const t0 = performance.now();
          const res = await fetch('/api/v1/runs/search', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ experimentIds: [id], maxResults: 1000 }),
          });
          await res.json();
          return performance.now() - t0;
        }, experimentId),
      );
    }
    const chartMs: number[] = [];
    const bareMs: number[] = [];
    for (let r = 0; r < REPS; r += 1) {
      await page.goto(`${url}/runs/${chartRun.id}`);
      const chart = page.locator(`[data-testid="line-chart"][data-points="${POINTS}"]`);
      await chart.waitFor({ timeout: 60_000 });
      chartMs.push(Number(await chart.getAttribute('data-draw-ms')));
      bareMs.push(await page.evaluate<number>(bareCanvasDraw(POINTS)));
    }
    const js = initialJsGzipped();
    printTable(
      ['measure', 'sextant p50 (ms)', 'baseline p50 (ms)', 'baseline'],
      [
        [
          `runs table, ${RUNS} runs: first rows`,
          fmtMs(median(tableMs)),
          fmtMs(median(apiMs)),
          'API search alone (1000 runs)',
        ],
        [
          `chart, ${POINTS} points: draw`,
          fmtMs(median(chartMs)),
          fmtMs(median(bareMs)),
          'bare canvas lineTo loop',
        ],
      ],
    );
    console.log(
      `RATIO runs-table first rows / 1000 ms target = ${fmtRatio(median(tableMs) / 1000)} (target <= 1.00x)`,
    );
    console.log(
      `RATIO runs-table first rows / API call alone = ${fmtRatio(median(tableMs) / median(apiMs))}`,
    );
    console.log(`RATIO chart draw / 500 ms target = ${fmtRatio(median(chartMs) / 500)} (target <= 1.00x)`);
    console.log(`RATIO chart draw / bare canvas = ${fmtRatio(median(chartMs) / median(bareMs))}`);
    console.log(
      `RATIO initial JS ${(js.bytes / 1024).toFixed(1)} KB gzipped / 300 KB budget = ${fmtRatio(js.bytes / (300 * 1024))} (${js.files.join(', ')})`,
    );
  } finally {
    await browser.close();
    await app.close();
    await ws.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

await main();
