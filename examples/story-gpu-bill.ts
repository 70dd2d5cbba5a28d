/*
 * Story: the doubled GPU bill. GPU costs doubled over a quarter and nobody could say why. Sextant
 * compares the last 30 days with the 30 before, ranks the causes of the increase from its cost
 * attribution (a sweep that ran without early stopping, an idle deployment, an experiment that grew),
 * then the real mechanisms act: a budget on the tuning experiment refuses the sweep's next launch at its
 * first trial (BUDGET_EXCEEDED), and the idle reaper unloads the idle deployment. It ends with the
 * savings those two imply and the commands to look closer.
 *
 * It sets up what it needs (prices from examples/prices.yaml, a small dataset, a model, two
 * deployments, two experiments) and records a quarter of history once (story-gpu-bill-history.ts);
 * run again on the same workspace, it reuses that quarter and tells the same story. The GPU figures
 * are simulated: this machine has no GPU (the usage records say so in their notes).
 */
import fs from 'node:fs';
import path from 'node:path';
import { jobTrialRunner, type Workspace } from '../src/app/index.js';
import type { SextantApi } from '../src/client/index.js';
import { isAppError } from '../src/core/errors.js';
import { type CostCause, type CostReport, parsePriceBookYaml } from '../src/cost/index.js';
import { addPath } from '../src/data/index.js';
import { CREDIT_TARGET, generateCreditData, runSweep, trainModel, writeCreditCsv } from '../src/ml/index.js';
import {
  DAY,
  type HistoryNames,
  HOUR,
  PERIOD,
  RESEARCH_RUNS,
  recordQuarter,
  SWEEPS,
} from './story-gpu-bill-history.js';

const ACTOR = 'local';
const TUNING = 'gpu-bill-tuning';
const RESEARCH = 'gpu-bill-research';
const MODEL = 'gpu-bill-assistant-model';
const ASSISTANT = 'gpu-bill-assistant';
const SCORING = 'gpu-bill-scoring';
const BUDGET = 'gpu-bill-tuning-cap';
const DATASET = 'gpu-bill-credit';
/** The run that marks the quarter as recorded, and when it ends (its tag). */
const ANCHOR_TAG = 'sextant.story.gpu-bill.anchor';
const PRICES = path.join(import.meta.dirname, 'prices.yaml');

export interface GpuBillOutcome {
  /** The three 30-day periods, oldest first, with their totals. */
  periods: { from: string; to: string; total: number }[];
  currency: string;
  /** The last period's total over the one before. */
  ratio: number | null;
  /** The ranked causes of the change between the last two periods. */
  causes: CostCause[];
  /** The sweep without early stopping, and what the budget did to its next launch. */
  sweep: {
    runId: string;
    trials: number;
    budget: string;
    budgetAmount: number;
    /** The error code the next launch was refused with (BUDGET_EXCEEDED), or null when it ran. */
    refusedWith: string | null;
    relaunchRunId: string | null;
    /** Trials of the refused launch: none of them ran (no job, no run). */
    trialsNotRun: number;
    trialRunsOfRelaunch: number;
  };
  /** The idle deployment and what the reaper did. */
  deployment: {
    name: string;
    unloaded: boolean;
    /** The reaper's recorded action for it (deployment_unload), with its audit entry. */
    reaperRecorded: boolean;
    coldStartMs: number | null;
    hours: number;
    idleHours: number;
  };
  experiment: string;
  /** Per 30 days: the sweep's launch not run, and the idle hours not served by an unloaded deployment. */
  savings: { sweep: number; deployment: number; total: number; perTrial: number; perHour: number };
  /** True when the quarter was already recorded in this workspace (a second run). */
  reused: boolean;
}

const money = (n: number) => n.toFixed(2);
const round2 = (n: number) => Math.round(n * 100) / 100;
const day = (iso: string) => iso.slice(0, 10);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function orCreate<T>(find: () => Promise<T>, create: () => Promise<T>): Promise<T> {
  try {
    return await find();
  } catch (err) {
    if (!isAppError(err) || err.code !== 'NOT_FOUND') throw err;
    return create();
  }
}

/** Prices from examples/prices.yaml, set once (a new book version only when it differs). */
async function ensurePrices(api: SextantApi): Promise<number> {
  const yaml = fs.readFileSync(PRICES, 'utf8');
  const current = await api.cost.getPrices().catch(() => undefined);
  const wanted = parsePriceBookYaml(yaml);
  const same =
    current &&
    current.currency === wanted.currency &&
    JSON.stringify(
      current.prices.map((p) => [p.resource, p.key ?? null, p.price, p.effectiveFrom ?? null]),
    ) ===
      JSON.stringify(wanted.prices.map((p) => [p.resource, p.key ?? null, p.price, p.effectiveFrom ?? null]));
  if (same) return current.version;
  return (await api.cost.setPrices({ yaml })).version;
}

/** A dataset, a small model trained on it, and the two deployments serving it. */
async function setUp(api: SextantApi, workDir: string) {
  const dir = path.join(workDir, 'gpu-bill-credit');
  fs.mkdirSync(dir, { recursive: true });
  writeCreditCsv(path.join(dir, 'applications.csv'), { rows: 400, seed: 21 });
  const added = await addPath(api.data, dir, {
    dataset: DATASET,
    source: 'synthetic://credit?seed=21',
    description: 'synthetic credit applications (the GPU bill story)',
  });
  const datasetRef = `${DATASET}@${added.version.number}`;
  for (const name of [TUNING, RESEARCH])
    await orCreate(
      () => api.experiments.getByName(name),
      () => api.experiments.create({ name, tags: { 'sextant.story': 'gpu-bill' } }),
    );
  const version = await orCreate(
    () => api.models.version(`${MODEL}@1`),
    async () => {
      const trained = await trainModel(
        api,
        { datasetRef, target: CREDIT_TARGET, kind: 'linear', seed: 3, params: { max_iter: '30' } },
        { experiment: RESEARCH, runName: 'assistant-model', workDir },
      );
      return api.models.register(MODEL, { runId: trained.runId, path: 'model' });
    },
  );
  const deployment = (name: string) =>
    orCreate(
      () => api.serving.deployments.get(name),
      () => api.serving.deployments.create({ name, model: `${MODEL}@1` }),
    );
  const [assistant, scoring] = [await deployment(ASSISTANT), await deployment(SCORING)];
  return {
    datasetRef,
    names: {
      tuning: TUNING,
      research: RESEARCH,
      assistant: { id: assistant.id, name: ASSISTANT, modelVersionId: version.id },
      scoring: { id: scoring.id, name: SCORING, modelVersionId: version.id },
    } satisfies HistoryNames,
  };
}

/** The end of the recorded quarter, when this workspace has one. */
async function recordedAnchor(api: SextantApi): Promise<number | undefined> {
  const tuning = await api.experiments.getByName(TUNING);
  const { runs } = await api.runs.search({
    experimentIds: [tuning.id],
    filter: `tags.\`${ANCHOR_TAG}\` != ''`,
    maxResults: 1,
  });
  const tag = runs[0]?.tags[ANCHOR_TAG];
  return tag === undefined ? undefined : Number(tag);
}

function printCauses(causes: CostCause[], currency: string): void {
  const rows = causes
    .slice(0, 6)
    .map((c, i) => [
      String(i + 1),
      `${c.delta >= 0 ? '+' : ''}${money(c.delta)}`,
      c.shareOfChange === null ? '' : `${Math.round(c.shareOfChange * 100)}%`,
      c.label,
      c.reason,
    ]);
  const w = [1, 2].map((k) => Math.max(...rows.map((r) => r[k]!.length), k === 1 ? 6 + currency.length : 9));
  console.log(`   #  ${`change ${currency}`.padStart(w[0]!)}  ${'of rise'.padStart(w[1]!)}  cause, and why`);
  for (const r of rows)
    console.log(
      `   ${r[0]}  ${r[1]!.padStart(w[0]!)}  ${r[2]!.padStart(w[1]!)}  ${r[3]}\n${' '.repeat(w[0]! + w[1]! + 10)}${r[4]}`,
    );
  if (causes.length > rows.length)
    console.log(`   (${causes.length - rows.length} smaller causes: sextant cost report ... --causes)`);
}

/** Tells the story of the doubled GPU bill; returns what it found and did. */
export async function gpuBillStory(
  ws: Workspace,
  api: SextantApi,
  opts: { workDir: string },
): Promise<GpuBillOutcome> {
  console.log(
    '\nStory 3: the doubled GPU bill - a quarter of costs compared, the causes ranked, the waste stopped',
  );
  console.log('  (the GPU figures of this story are simulated: this machine has no GPU)');
  const priceVersion = await ensurePrices(api);
  const { datasetRef, names } = await setUp(api, opts.workDir);

  // A quarter of history, once per workspace: the second run tells the same quarter again.
  let anchor = await recordedAnchor(api);
  const reused = anchor !== undefined;
  if (anchor === undefined) {
    anchor = Math.floor(ws.clock.now() / HOUR) * HOUR;
    await recordQuarter(ws, api, names, anchor);
    const tuning = await api.experiments.getByName(TUNING);
    const marker = await api.runs.create({
      experimentId: tuning.id,
      name: 'gpu-bill-quarter',
      tags: { [ANCHOR_TAG]: String(anchor), 'sextant.story': 'gpu-bill' },
    });
    await api.runs.update(marker.id, { status: 'FINISHED', endTime: ws.clock.now() });
  }
  const sweepRuns = await api.runs.search({
    experimentIds: [(await api.experiments.getByName(TUNING)).id],
    filter: `tags.\`sextant.sweep.role\` = 'parent' and attributes.run_name = '${SWEEPS[2].name}'`,
    maxResults: 1,
  });
  const runaway = sweepRuns.runs[0]!;
  console.log(
    `  ${reused ? 'the quarter recorded earlier' : 'a quarter recorded'} (price book v${priceVersion}, examples/prices.yaml): ` +
      `${SWEEPS.length} tuning sweeps (${SWEEPS.map((s) => s.trials).join(', ')} trials), ` +
      `${RESEARCH_RUNS.join(' + ')} research runs, deployments ${SCORING} (busy) and ${ASSISTANT} (new in the last period)`,
  );

  // The bill: three 30-day periods; the last compared with the one before, causes ranked.
  const periods = [3, 2, 1].map((k) => ({ from: anchor - k * PERIOD, to: anchor - (k - 1) * PERIOD }));
  const [p1, p2] = await Promise.all(
    periods.slice(0, 2).map((p) => api.cost.report({ by: 'experiment', ...p })),
  );
  const last: CostReport = await api.cost.report({
    by: 'experiment',
    ...periods[2]!,
    compare: 'auto',
    causes: true,
  });
  const currency = last.currency;
  console.log(`\n  the bill, ${currency} per 30 days:`);
  for (const [i, r] of [p1!, p2!, last].entries())
    console.log(
      `    ${day(r.from)} to ${day(r.to)}  ${money(r.total).padStart(9)}` +
        (i === 2 && last.compare?.ratio ? `   x${last.compare.ratio.toFixed(2)} the period before` : ''),
    );
  const causes = last.causes ?? [];
  console.log(
    `\n  why it rose by ${money(last.compare?.delta ?? 0)} ${currency} (sextant cost report --compare auto --causes):`,
  );
  printCauses(causes, currency);

  // The budget: the tuning experiment's usual spend, from the start of the last period on.
  const sweepCause = causes.find((c) => c.entity === 'sweep' && c.key === runaway.id);
  const baseline = Math.ceil(
    ([p1!, p2!].map((r) => r.groups.find((g) => g.key === TUNING)?.amount ?? 0).reduce((a, b) => a + b, 0) /
      2) *
      1.25,
  );
  const budget = await orCreate(
    async () => ws.budgets.get(BUDGET),
    async () =>
      (
        await ws.budgets.create({
          actor: ACTOR,
          name: BUDGET,
          scope: { kind: 'experiment', value: (await api.experiments.getByName(TUNING)).id },
          period: 'custom',
          from: new Date(periods[2]!.from).toISOString(),
          to: new Date(anchor + 365 * DAY).toISOString(),
          amount: Math.max(baseline, 1),
        })
      ).budget,
  );
  // What the `cost.budgets` job does every few minutes, now.
  await ws.budgets.checkOne(budget.id);
  const checked = await ws.budgets.get(budget.id);
  console.log('\n  what was done:');
  console.log(
    `  - budget '${BUDGET}' on experiment ${TUNING}: ${money(checked.amount)} ${checked.currency} (its usual spend plus a quarter), ` +
      `spent ${money(checked.current?.spent ?? 0)} -> ${checked.current?.exhausted ? 'EXHAUSTED' : 'ok'}`,
  );

  // The sweep's next launch: the same 64-trial grid, no early stopping. Its first trial is refused.
  const launch = `launch-${ws.clock.now().toString(36)}`;
  let refusedWith: string | null = null;
  const grid = {
    learning_rate: ['0.3', '0.2', '0.1', '0.05', '0.03', '0.02', '0.01', '0.005'],
    max_depth: ['2', '3', '4', '5', '6', '7', '8', '9'],
  };
  const trials = grid.learning_rate.length * grid.max_depth.length;
  try {
    await runSweep(
      api,
      {
        base: { datasetRef, target: CREDIT_TARGET, kind: 'gbdt', seed: 11, params: { n_estimators: '40' } },
        grid,
        earlyStop: 'none',
      },
      {
        experiment: TUNING,
        runName: 'tune-nightly-4',
        workDir: opts.workDir,
        trials: jobTrialRunner(ws.jobs, { actor: ACTOR }),
        tags: { 'sextant.story.launch': launch },
      },
    );
  } catch (err) {
    if (!isAppError(err) || err.code !== 'BUDGET_EXCEEDED') throw err;
    refusedWith = err.code;
  }
  const tuningId = (await api.experiments.getByName(TUNING)).id;
  const relaunch = (
    await api.runs.search({
      experimentIds: [tuningId],
      filter: `tags.\`sextant.story.launch\` = '${launch}'`,
    })
  ).runs.find((r) => r.tags['sextant.sweep.role'] === 'parent');
  const children = relaunch
    ? (
        await api.runs.search({
          experimentIds: [tuningId],
          filter: `tags.\`mlflow.parentRunId\` = '${relaunch.id}'`,
        })
      ).runs.length
    : 0;
  console.log(
    refusedWith
      ? `  - its sweep's next launch (tune-nightly-4, ${trials} trials, no early stopping) was refused at its first trial ` +
          `(${refusedWith}, HTTP 402, CLI exit 11): ${trials} trials not run, run ${relaunch?.id ?? '?'} ended ${relaunch?.status ?? '?'}`
      : `  - the sweep's next launch ran: the budget did not stop it`,
  );

  // The reaper: the assistant answers one request, sits idle, is unloaded; the next request wakes it.
  const since = ws.clock.now();
  const { [CREDIT_TARGET]: _label, ...record } = generateCreditData({ rows: 1, seed: 5 }).rows[0]!;
  await ws.serving.host.predict(ASSISTANT, { dataframe_records: [record] });
  await sleep(300);
  // The policy's default is 30 idle minutes (reaper.yaml); the story reaps after 250 ms.
  const unloaded = (await ws.serving.host.unloadIdle(250)).includes(ASSISTANT);
  await ws.serving.host.predict(ASSISTANT, { dataframe_records: [record] });
  const actions = (await ws.reaper.list({ from: since })).filter((a) => a.target === ASSISTANT);
  const wake = actions.filter((a) => a.kind === 'deployment_wake').at(-1);
  const reaperRecorded = actions.some((a) => a.kind === 'deployment_unload');
  console.log(
    `  - the reaper ${unloaded ? 'unloaded' : 'did NOT unload'} deployment ${ASSISTANT} once idle (ONNX session freed, ` +
      `${reaperRecorded ? 'recorded and audited' : 'not recorded'}); the next request woke it, cold start ${wake?.coldStartMs?.toFixed(0) ?? '?'} ms`,
  );

  // Savings per 30 days: the launch not run at the last sweep's cost per trial, and the idle hours
  // an unloaded deployment does not pay for at the assistant's cost per hour.
  const depCause = causes.find((c) => c.entity === 'deployment' && c.key === ASSISTANT);
  const expCause = causes.find((c) => c.entity === 'experiment' && c.key === RESEARCH);
  const sweepTrials = Number(sweepCause?.evidence.trials ?? 0);
  const perTrial = sweepTrials ? (sweepCause?.current ?? 0) / sweepTrials : 0;
  const hours = Number(depCause?.evidence.hours ?? 0);
  const idleHours = Number(depCause?.evidence.idleHours ?? 0);
  const perHour = hours ? (depCause?.current ?? 0) / hours : 0;
  const sweepSaved = refusedWith ? round2(trials * perTrial) : 0;
  const deploymentSaved = unloaded ? round2(idleHours * perHour) : 0;
  const savings = {
    sweep: sweepSaved,
    deployment: deploymentSaved,
    total: round2(sweepSaved + deploymentSaved),
    perTrial: round2(perTrial),
    perHour: round2(perHour),
  };
  console.log(`\n  savings, ${currency} per 30 days:`);
  console.log(
    `    sweep launch not run      ${trials} trials x ${money(perTrial)}      ${money(savings.sweep).padStart(9)}`,
  );
  console.log(
    `    idle hours not served     ${idleHours.toFixed(0)} h x ${money(perHour)}          ${money(savings.deployment).padStart(9)}`,
  );
  console.log(
    `    total                                            ${money(savings.total).padStart(9)}` +
      `  (of a ${money(last.compare?.delta ?? 0)} rise${expCause ? `; ${RESEARCH}'s growth is more work, not waste: its owners' call` : ''})`,
  );
  const measured = await ws.reaper.savings({ from: since, to: ws.clock.now() });
  console.log(
    `    (measured so far by the reaper: ${measured.deployments.unloads} unload(s), ${measured.deployments.hoursSaved.toFixed(5)} deployment-hours)`,
  );

  const from = new Date(periods[2]!.from).toISOString();
  const to = new Date(anchor).toISOString();
  console.log('\n  look closer:');
  console.log(`    npx sextant cost report --from ${from} --to ${to} --compare auto --causes`);
  console.log(`    npx sextant cost report --by deployment --from ${from} --to ${to}`);
  console.log('    npx sextant budgets ls');
  console.log('    npx sextant reaper savings');
  console.log(`    npx sextant runs show ${runaway.id}     # the sweep without early stopping`);
  const web = `http://${ws.config.host}:${ws.config.port}`;
  console.log(
    `    web UI: npx sextant server, then ${web}/cost?from=${from}&to=${to} (the bill and its causes),`,
  );
  console.log(`      ${web}/runs/${runaway.id} and ${web}/deployments/${ASSISTANT}`);

  return {
    periods: [p1!, p2!, last].map((r) => ({ from: r.from, to: r.to, total: r.total })),
    currency,
    ratio: last.compare?.ratio ?? null,
    causes,
    sweep: {
      runId: runaway.id,
      trials: sweepTrials,
      budget: BUDGET,
      budgetAmount: checked.amount,
      refusedWith,
      relaunchRunId: relaunch?.id ?? null,
      trialsNotRun: refusedWith ? trials - children : 0,
      trialRunsOfRelaunch: children,
    },
    deployment: {
      name: ASSISTANT,
      unloaded,
      reaperRecorded,
      coldStartMs: wake?.coldStartMs ?? null,
      hours,
      idleHours,
    },
    experiment: RESEARCH,
    savings,
    reused,
  };
}
