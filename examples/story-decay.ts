// biome-ignore-all lint/suspicious/noTemplateCurlyInString: trigger params are written in the ${{ }} syntax on purpose
/*
 * Story 2, the silent decay. A credit model serves week after week while applicants drift; their
 * outcomes (the labels) arrive two weeks late. Monitoring sees the drift and the estimated accuracy
 * (CBPE, from the model's own confidence) fall at once; two weeks later the labels confirm it, the
 * accuracy alert fires and asks for a retrain (model.retrain_requested), a trigger starts the
 * continuous-training pipeline (examples/pipelines/continuous-training.yaml): a challenger trained on
 * fresh labelled data is judged on the same holdout, shadowed, passes the gates; a reviewer approves;
 * it is promoted, and the next window's accuracy is back.
 *
 * Time: the workspace runs on the story clock, four weekly windows in the past up to now; the labels
 * of week k arrive at the close of week k+2; the pipeline runs today. The last window is served after
 * the promotion, today, and its labels are delivered at once so the story can end (said in the output).
 * Each run of the story uses its own model and deployment (decay-credit, decay-credit-2, ...), so
 * windows of earlier runs never mix with this one's.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Workspace } from '../src/app/index.js';
import type { SextantApi } from '../src/client/index.js';
import { CREDIT_TARGET, generateCreditData, trainModel, writeCreditCsv } from '../src/ml/index.js';
import type { MetricPoint } from '../src/monitoring/metric-point.schema.js';
import type { PipelineRunDetail } from '../src/pipelines/index.js';
import { type StoryClock, WEEK_MS } from './story-clock.js';
import {
  assertPastWritable,
  num,
  pct,
  putFile,
  REPO_ROOT,
  reviewerApi,
  sextantOnPath,
  showTable,
} from './story-shared.js';

const ACTOR = 'local';
const ROWS = 500;
const LABEL_SHARE = 0.8;

/** One row of the timeline. */
export interface DecayWindow {
  name: string;
  from: number;
  to: number;
  servedBy: number;
  traffic: string;
  driftShare: number | null;
  /** CBPE at the window's close (no labels needed) and whether it left the reference's band. */
  estimatedAccuracy: number | null;
  estimateAlert: boolean;
  /** Labelled accuracy, measured when the labels arrived; coverage then; when that was. */
  realisedAccuracy: number | null;
  labelCoverage: number | null;
  realisedKnownAt: number | null;
  alerts: string[];
  action: string;
}

/** What the story saw and did, for a test to check. */
export interface DecayOutcome {
  model: string;
  deployment: string;
  windows: DecayWindow[];
  /** When the estimate first left its band, and when labels first showed the accuracy under the floor. */
  estimateDropKnownAt: number | null;
  labelledDropKnownAt: number | null;
  floor: number;
  alertsFired: string[];
  retrainRequested: boolean;
  pipelineRun: { id: string; status: string; steps: { name: string; status: string }[] } | null;
  challenger: number | null;
  championBefore: number;
  championAfter: number;
  shadowed: number;
}

interface Served {
  from: number;
  to: number;
  labels: { prediction_id: string; label: number }[];
}

/** Tells the decay story on `ws`. `externalWorker`: a worker process works the jobs (else one runs here). */
export async function decayStory(
  ws: Workspace,
  api: SextantApi,
  opts: { workDir: string; clock: StoryClock; home: string; externalWorker?: boolean; webUrl?: string },
): Promise<DecayOutcome> {
  const { clock } = opts;
  const now = clock.now();
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const reviewer = await reviewerApi(ws, api);
  const taken = (await api.serving.deployments.list()).filter((d) =>
    /^decay-credit(-\d+)?$/.test(d.name),
  ).length;
  const name = taken === 0 ? 'decay-credit' : `decay-credit-${taken + 1}`;
  console.log('\nStory 2: the silent decay - drift, late labels, an alert, continuous training, recovery');
  sextantOnPath(opts.workDir, opts.home);

  // ---- Four weeks and a day ago: the model, its data and holdout, its deployment and monitor.
  await assertPastWritable(api, now - 4 * WEEK_MS);
  clock.travelTo(now - 4 * WEEK_MS - WEEK_MS / 7);
  const dataset = async (ds: string, rows: number, seed: number, drift: number, description: string) => {
    const dir = path.join(opts.workDir, `${ds}-${seed}`);
    fs.mkdirSync(dir, { recursive: true });
    writeCreditCsv(path.join(dir, 'credit.csv'), { rows, seed, covariateDrift: drift, conceptDrift: drift });
    const { version } = await ws.data.versions.create({
      actor: ACTOR,
      dataset: ds,
      files: [await putFile(ws, path.join(dir, 'credit.csv'))],
      description,
    });
    return `${ds}@${version.number}`;
  };
  const trainRef = await dataset(`${name}-train`, 3000, 41, 0, 'applications of last year, with outcomes');
  const trained = await trainModel(
    api,
    { datasetRef: trainRef, target: CREDIT_TARGET, kind: 'linear', seed: 7 },
    { experiment: name, runName: `${name}-v1` },
  );
  const v1 = await api.models.register(name, { runId: trained.runId, path: 'model' });
  await api.models.setPolicy(name, 'protectedAliases: []\napprovals: 0\n');
  await api.models.setAlias(name, 'champion', v1.version, 'first production model');
  await api.models.setPolicy(
    name,
    'protectedAliases: [champion]\napprovals: 1\napproverRoles: [approver, admin]\nseparationOfDuties: true\n' +
      'gates:\n  - metric: "val_roc_auc >= champion.val_roc_auc - 0.2"\n',
  );
  await api.serving.deployments.create({ name, model: `${name}@champion` });
  const floor = Math.round(((trained.metrics.val_accuracy ?? 0.7) - 0.05) * 1000) / 1000;
  await ws.monitoring.monitors.create({ actor: ACTOR, deployment: name, spec: monitorSpec(floor) });

  // The pipeline, its holdout (recent labelled applications: the world as it is now) and its trigger.
  const holdout = await dataset(`${name}-holdout`, 800, 43, 1, 'recent applications with known outcomes');
  const template = path.join(opts.workDir, 'ct', 'continuous-training.yaml');
  fs.mkdirSync(path.dirname(template), { recursive: true });
  fs.copyFileSync(path.join(REPO_ROOT, 'examples/pipelines/continuous-training.yaml'), template);
  await ws.triggers.create({
    actor: ACTOR,
    name: `${name}-retrain`,
    pipeline: template,
    on: { event: { types: ['model.retrain_requested'], where: { model: name } } },
    params: {
      dataset: `${name}-fresh@latest`,
      holdout,
      online: holdout,
      model: name,
      deployment: name,
      trainer: 'linear',
      suite: path.join(REPO_ROOT, 'examples/pipelines/credit-suite.yaml'),
    },
  });
  console.log(
    `  ${day(clock.now())}  ${name}@${v1.version} (trained on ${trainRef}) serves deployment '${name}'; ` +
      `monitor: drift, CBPE estimate, accuracy floor ${floor} -> retrain`,
  );

  // ---- Four weeks of traffic; each window's labels arrive two windows later.
  const weeks = [
    { drift: 0, traffic: 'ordinary' },
    { drift: 1, traffic: 'drifting' },
    { drift: 1, traffic: 'drifted' },
    { drift: 1, traffic: 'drifted' },
  ];
  const windows: DecayWindow[] = [];
  const served: Served[] = [];
  let estimateDropKnownAt: number | null = null;
  let labelledDropKnownAt: number | null = null;
  const alertsFired: string[] = [];
  for (const [k, w] of weeks.entries()) {
    const from = now - (4 - k) * WEEK_MS;
    clock.travelTo(from);
    served.push(await serve(ws, name, { from, rows: ROWS, seed: 500 + k, drift: w.drift, clock }));
    clock.travelTo(from + WEEK_MS);
    if (k === 3) clock.present();
    const row = newWindow({
      name: `w${k + 1} ${day(from)}`,
      from,
      to: from + WEEK_MS,
      servedBy: v1.version,
      traffic: w.traffic,
    });
    windows.push(row);
    const late = k >= 2 ? { window: windows[k - 2]!, served: served[k - 2]! } : undefined;
    if (late) {
      // Labels of two weeks ago arrive; the fresh labelled data goes into a dataset version too.
      await ws.serving.feedback.submit({ actor: ACTOR, items: late.served.labels });
      if (k === 3)
        await dataset(`${name}-fresh`, 2000, 600 + k, 1, 'applications of the last weeks, outcomes arrived');
    }
    const fired = await measure(ws, name, row, late?.window, clock.now());
    alertsFired.push(...fired);
    if (row.estimateAlert && estimateDropKnownAt === null) estimateDropKnownAt = clock.now();
    if (
      late &&
      late.window.realisedAccuracy !== null &&
      late.window.realisedAccuracy < floor &&
      labelledDropKnownAt === null
    )
      labelledDropKnownAt = clock.now();
  }

  // ---- Today: the accuracy alert asked for a retrain; the trigger started the CT pipeline.
  const [retrain] = await ws.events
    .events({ types: ['model.retrain_requested'], limit: 20 })
    .then((es) => es.filter((e) => (e.payload as { model?: string }).model === name));
  const worker = opts.externalWorker ? undefined : ws.jobs.work({ queues: ['default'], concurrency: 2 });
  let pipelineRun: PipelineRunDetail | undefined;
  let shadowed = 0;
  try {
    await ws.events.flush(10_000);
    const firing = (await ws.triggers.get(`${name}-retrain`)).firings.find((f) => f.runId);
    if (firing?.runId) pipelineRun = await settle(ws, firing.runId);
    // The challenger in shadow: today's requests are answered by the champion and scored by both.
    const today = await serve(ws, name, { from: clock.now(), rows: 200, seed: 700, drift: 1, clock });
    shadowed = (
      await api.serving.predictions.list({
        deployment: name,
        since: new Date(today.from).toISOString(),
        limit: 500,
      })
    ).predictions.filter((p) => p.shadow !== null).length;
  } finally {
    await worker?.close();
  }
  const championBefore = v1.version;
  const [request] = await api.models.requests({ model: name, status: 'pending' });
  if (request) await reviewer.approve(request.id, 'gates passed; shadow and online comparison reviewed');
  const championAfter = (await api.models.version(`${name}@champion`)).version;
  const challenger = championAfter !== championBefore ? championAfter : null;
  const last = windows.at(-1)!;
  last.action = pipelineRun
    ? `CT run ${pipelineRun.status}: v${challenger ?? '?'} shadowed, gated, approved, promoted`
    : 'no pipeline run';

  // ---- After the promotion: the next window, served by the new champion.
  const after = await serve(ws, name, { from: clock.now(), rows: ROWS, seed: 800, drift: 1, clock });
  await ws.serving.feedback.submit({ actor: ACTOR, items: after.labels });
  const w5 = newWindow({
    name: `w5 ${day(after.from)}`,
    from: after.from,
    to: after.to,
    servedBy: championAfter,
    traffic: 'drifted',
    action: 'labels delivered at once (the story ends)',
  });
  windows.push(w5);
  alertsFired.push(...(await measure(ws, name, w5, w5, clock.now())));

  console.log('\n  the timeline (labels arrive two weeks late):');
  console.log(
    showTable(
      [
        'WEEK',
        'SERVED BY',
        'TRAFFIC',
        'DRIFT SHARE',
        'EST. ACCURACY',
        'REALISED (LABELS, KNOWN)',
        'ALERTS AT CLOSE',
        'ACTION',
      ],
      windows.map((w) => [
        w.name,
        `v${w.servedBy}`,
        w.traffic,
        pct(w.driftShare),
        `${num(w.estimatedAccuracy)}${w.estimateAlert ? ' !' : ''}`,
        w.realisedAccuracy === null
          ? '-'
          : `${num(w.realisedAccuracy)} (${pct(w.labelCoverage)}, ${day(w.realisedKnownAt ?? w.to)})`,
        w.alerts.join(', ') || '-',
        w.action,
      ]),
    ),
  );
  const lead =
    estimateDropKnownAt !== null && labelledDropKnownAt !== null
      ? (labelledDropKnownAt - estimateDropKnownAt) / 86_400_000
      : null;
  console.log(
    `  the estimate fell on ${estimateDropKnownAt ? day(estimateDropKnownAt) : '-'}; the labels confirmed it on ` +
      `${labelledDropKnownAt ? day(labelledDropKnownAt) : '-'}${lead !== null ? ` (${Math.round(lead)} days later)` : ''}`,
  );
  if (pipelineRun) {
    console.log(
      `\n  CT pipeline run ${pipelineRun.id} (started by the alert's retrain request): ${pipelineRun.status}`,
    );
    console.log(
      `    ${pipelineRun.steps.map((s) => `${s.name} ${s.status === 'succeeded' ? 'ok' : s.status}`).join(', ')}`,
    );
  }
  console.log(
    `  champion ${name}@${championBefore} -> ${name}@${championAfter}; ${shadowed} requests scored by the challenger in shadow first`,
  );
  console.log('\n  look closer:');
  console.log(
    `    npx sextant monitor report ${name} --html report.html; npx sextant alerts ls --deployment ${name}`,
  );
  if (pipelineRun) console.log(`    npx sextant pipelines show ${pipelineRun.id}`);
  console.log(`    npx sextant models history ${name} --alias champion`);
  const web = opts.webUrl ?? 'http://127.0.0.1:5005';
  console.log(
    `    npx sextant server, then ${web}/deployments/${name}/monitoring (drift, estimate, accuracy, alerts),`,
  );
  if (pipelineRun) console.log(`      ${web}/pipelines/runs/${pipelineRun.id} (the CT run's steps)`);
  console.log(`      ${web}/models/${name} (the alias timeline)`);
  return {
    model: name,
    deployment: name,
    windows,
    estimateDropKnownAt,
    labelledDropKnownAt,
    floor,
    alertsFired,
    retrainRequested: retrain !== undefined,
    pipelineRun: pipelineRun
      ? {
          id: pipelineRun.id,
          status: pipelineRun.status,
          steps: pipelineRun.steps.map((s) => ({ name: s.name, status: s.status })),
        }
      : null,
    challenger,
    championBefore,
    championAfter,
    shadowed,
  };
}

/** A timeline row before anything is measured. */
const newWindow = (
  w: Pick<DecayWindow, 'name' | 'from' | 'to' | 'servedBy' | 'traffic'> & { action?: string },
): DecayWindow => ({
  driftShare: null,
  estimatedAccuracy: null,
  estimateAlert: false,
  realisedAccuracy: null,
  labelCoverage: null,
  realisedKnownAt: null,
  alerts: [],
  action: '-',
  ...w,
});

const monitorSpec = (floor: number) => `
name: decay-watch
window: 7d
estimation: true
drift:
  minRows: 50
label:
  positive: 1
alerts:
  - name: drift
    metric: skew.share
    condition: { status: alert }
    severity: warning
  - name: estimated-accuracy
    metric: estimate.accuracy
    condition: { status: alert }
    severity: warning
  - name: accuracy-drop
    metric: performance.accuracy
    condition: { op: '<', threshold: ${floor} }
    severity: critical
    action: retrain
`;

/** Serves `rows` applications through the deployment, spread over the first hours of `from`; keeps the labels aside. */
async function serve(
  ws: Workspace,
  deployment: string,
  o: { from: number; rows: number; seed: number; drift: number; clock: StoryClock },
): Promise<Served> {
  const data = generateCreditData({
    rows: o.rows,
    seed: o.seed,
    covariateDrift: o.drift,
    conceptDrift: o.drift,
  });
  const rt = await ws.serving.openRuntime({ actor: ACTOR, deployment });
  const labels: Served['labels'] = [];
  try {
    for (let i = 0; i < data.rows.length; i += 50) {
      const batch = data.rows.slice(i, i + 50);
      const r = await rt.predict({ dataframe_records: batch.map(({ [CREDIT_TARGET]: _y, ...x }) => x) });
      r.items.forEach((it, j) => {
        if ((i + j) % 10 < LABEL_SHARE * 10)
          labels.push({ prediction_id: it.prediction_id, label: Number(batch[j]![CREDIT_TARGET]) });
      });
    }
  } finally {
    await rt.close();
  }
  return { from: o.from, to: o.clock.now() + 1, labels };
}

/** Measures `row`'s window (drift, estimate) and, when labels arrived, `late`'s again; returns the alerts fired. */
async function measure(
  ws: Workspace,
  deployment: string,
  row: DecayWindow,
  late: DecayWindow | undefined,
  at: number,
): Promise<string[]> {
  const before = new Set((await ws.alerts.list({ deployment })).map((a) => a.id));
  const pick = (pts: MetricPoint[], metric: string) =>
    pts.find((p) => p.metric === metric && p.feature === null && p.slice === null);
  if (late && late !== row) {
    const [again] = await ws.monitoring.runDeployment({
      actor: ACTOR,
      deployment,
      from: late.from,
      to: late.to,
    });
    late.realisedAccuracy = pick(again?.points ?? [], 'performance.accuracy')?.value ?? null;
    late.labelCoverage = pick(again?.points ?? [], 'performance.label_coverage')?.value ?? null;
    late.realisedKnownAt = at;
  }
  const [run] = await ws.monitoring.runDeployment({ actor: ACTOR, deployment, from: row.from, to: row.to });
  const pts = run?.points ?? [];
  row.driftShare = pick(pts, 'skew.share')?.value ?? null;
  const est = pick(pts, 'estimate.accuracy');
  row.estimatedAccuracy = est?.value ?? null;
  row.estimateAlert = est?.status === 'alert';
  if (late === row) {
    row.realisedAccuracy = pick(pts, 'performance.accuracy')?.value ?? null;
    row.labelCoverage = pick(pts, 'performance.label_coverage')?.value ?? null;
    row.realisedKnownAt = at;
  }
  await ws.events.flush(10_000);
  const fired = (await ws.alerts.list({ deployment })).filter((a) => !before.has(a.id));
  row.alerts.push(...fired.map((a) => a.rule));
  const retrain = fired.find((a) => a.action === 'retrain');
  if (retrain) row.action = 'retrain requested (model.retrain_requested) -> CT trigger';
  return fired.map((a) => a.rule);
}

async function settle(ws: Workspace, runId: string): Promise<PipelineRunDetail> {
  for (const until = Date.now() + 300_000; ; ) {
    const r = await ws.pipelines.service.getRun(runId);
    if (r.status !== 'running' || Date.now() > until) return r;
    await new Promise((res) => setTimeout(res, 200));
  }
}
