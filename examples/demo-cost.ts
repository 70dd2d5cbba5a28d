/*
 * The Sextant demo story, cost chapter: a price book; a sweep run as jobs (each trial metered where it
 * runs) and a deployment's traffic accrue cost; a budget on the sweep's experiment, once spent, stops
 * the next (runaway) sweep at its first trial; the idle reaper unloads the deployment and the next
 * request wakes it (its cold start recorded); the cost report ranks what drove the spend.
 * Safe to run again: it adds a sweep, predictions and one budget per run.
 */
import { jobTrialRunner, type Workspace } from '../src/app/index.js';
import { createLocalApi } from '../src/cli/local-api.js';
import { isAppError } from '../src/core/errors.js';
import { renderCostReportText } from '../src/cost/index.js';
import { runSweep } from '../src/ml/index.js';

const ACTOR = 'local';
const DEMO_PRICE_NOTE = 'demo prices: CPU billed as a GPU node';
const DEMO_PRICES = {
  currency: 'USD',
  prices: [
    { resource: 'cpu_hour', price: 40, effective_from: '2020-01-01', description: DEMO_PRICE_NOTE },
    { resource: 'memory_gib_hour', price: 0.5, effective_from: '2020-01-01' },
  ],
};
const indent = (text: string, pad = '    ') =>
  text
    .split('\n')
    .map((l) => `${pad}${l}`)
    .join('\n');

export interface CostChapterOptions {
  /** The experiment the sweeps run in (it must exist; the budget is kept on it). */
  experiment: string;
  /** A dataset version ref with a `target` column to sweep on. */
  datasetRef: string;
  target: string;
  /** A deployment name to call, wait idle, and wake. */
  deployment: string;
  /** One record the deployment's model accepts. */
  record: Record<string, unknown>;
  workDir: string;
}

/** Runs the cost chapter; returns what the budget and the reaper did. */
export async function costChapter(
  ws: Workspace,
  o: CostChapterOptions,
): Promise<{ refused: boolean; unloaded: boolean; coldStartMs: number | null }> {
  console.log(
    '\nChapter: cost - price book, metered sweep, a budget that stops a runaway sweep, idle reaper',
  );
  const api = createLocalApi(ws);
  const since = Date.now();
  // Demo prices: the sweep's few CPU-seconds are billed as if its trials ran on a GPU node (40 USD per
  // CPU-hour), so a laptop's sweep spends whole cents. Your own prices: examples/prices.yaml.
  const current = await ws.cost.prices.get().catch(() => undefined);
  if (current?.prices[0]?.description !== DEMO_PRICE_NOTE) {
    const book = await ws.cost.prices.set({ actor: ACTOR, document: DEMO_PRICES });
    console.log(`  price book v${book.version}: demo prices (cpu_hour ${DEMO_PRICES.prices[0]!.price} USD)`);
  }

  const sweep = (grid: string[]) =>
    runSweep(
      api,
      {
        base: {
          datasetRef: o.datasetRef,
          target: o.target,
          kind: 'gbdt',
          seed: 11,
          params: { n_estimators: '40' },
        },
        grid: { learning_rate: grid },
      },
      {
        experiment: o.experiment,
        runName: 'demo-cost-sweep',
        workDir: o.workDir,
        trials: jobTrialRunner(ws.jobs, { actor: ACTOR }),
      },
    );
  const first = await sweep(['0.3', '0.1', '0.03']);
  console.log(
    `  a sweep of ${first.trials.length} trials ran as sweep.trial jobs, each metered (CPU-seconds, memory)`,
  );

  // A budget below what the experiment has spent this month: the next sweep is a runaway one.
  const exp = await api.experiments.getByName(o.experiment);
  const spent = (
    await ws.budgets.create({
      actor: ACTOR,
      name: `demo-cap-${Date.now().toString(36)}`,
      scope: { kind: 'experiment', value: exp.id },
      period: 'month',
      amount: 1_000_000,
    })
  ).budget;
  const [check] = (await ws.budgets.checkAll()).checks.filter((c) => c.budgetId === spent.id);
  const soFar = check?.spent ?? 0;
  // Capped at 90% of the spend so far (and above zero: a budget needs a positive amount).
  const capped = await ws.budgets.update({
    actor: ACTOR,
    ref: spent.id,
    amount: Math.max(Math.round(soFar * 0.9 * 10_000) / 10_000, 0.0001),
  });
  console.log(
    `  budget '${capped.name}' on experiment ${o.experiment}: ${capped.amount.toPrecision(3)} ${capped.currency}/month, ` +
      `spent ${soFar.toPrecision(3)} -> ${capped.current?.exhausted ? 'EXHAUSTED' : 'ok'}` +
      ` (forecast ${capped.current?.forecast?.toPrecision(3) ?? '-'} by month end)`,
  );
  let refused = false;
  try {
    await sweep(['0.5', '0.05', '0.005', '0.0005']);
  } catch (err) {
    if (!isAppError(err) || err.code !== 'BUDGET_EXCEEDED') throw err;
    refused = true;
    console.log(
      `  the next sweep is refused at its first trial (${err.code}, HTTP 402):\n${indent(err.message)}`,
    );
  }
  // Demo workspaces are run again: the cap goes, so the next run starts from a clean slate.
  await ws.budgets.remove({ actor: ACTOR, ref: spent.id });

  // The idle reaper: the deployment answers, sits idle, is unloaded, and the next request wakes it.
  await ws.serving.host.predict(o.deployment, { dataframe_records: [o.record] });
  await new Promise((r) => setTimeout(r, 600));
  // The policy's default is 30 idle minutes (reaper.yaml); the demo reaps after half a second.
  const unloaded = (await ws.serving.host.unloadIdle(500)).includes(o.deployment);
  const woken = await ws.serving.host.predict(o.deployment, { dataframe_records: [o.record] });
  await new Promise((r) => setTimeout(r, 100));
  const wake = (await ws.reaper.list({ from: since }))
    .filter((a) => a.target === o.deployment && a.kind === 'deployment_wake')
    .at(-1);
  console.log(
    `  deployment '${o.deployment}' idle -> ${unloaded ? 'unloaded (ONNX session freed)' : 'still loaded'}; ` +
      `the next request woke it and got ${woken.items.length} prediction(s), cold start ${wake?.coldStartMs?.toFixed(0) ?? '?'} ms`,
  );
  const savings = await ws.reaper.savings({ from: since, to: Date.now() });
  console.log(
    `  reaper savings since the chapter began: ${savings.deployments.unloads} unload(s), ${savings.deployments.hoursSaved.toFixed(5)} deployment-hours`,
  );

  const report = await ws.cost.reports.report({ by: 'experiment', compare: 'auto' });
  console.log('  what drove the spend (sextant cost report --by experiment --compare auto):');
  console.log(indent(renderCostReportText(report).split('\n').slice(0, 16).join('\n')));
  return { refused, unloaded, coldStartMs: wake?.coldStartMs ?? null };
}
