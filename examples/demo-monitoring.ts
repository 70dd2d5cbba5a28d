/*
 * The Sextant demo story, monitoring chapter: the champion keeps serving while the world moves. A
 * monitor watches its deployment against the training data's stored profiles; one window of ordinary
 * applicants, then one of younger, poorer ones whose outcomes also follow a new pattern (covariate and
 * concept drift from the credit generator). Delayed labels arrive for part of each window. The drift
 * rule fires, the accuracy rule fires and asks for a retrain (model.retrain_requested, which a
 * pipeline trigger can consume), and the report is written as one HTML file.
 */

import fs from 'node:fs';
import path from 'node:path';
import type { Workspace } from '../src/app/index.js';
import { table } from '../src/cli/output.js';
import { CREDIT_TARGET, generateCreditData } from '../src/ml/index.js';

const SPEC = (accuracyFloor?: number) => `
name: demo-watch
window: 1h
drift:
  minRows: 50
label:
  positive: 1
alerts:
  - name: serving-skew
    metric: skew.share
    condition: { status: alert }
    severity: warning
    notify: [webhook, slack]
${
  accuracyFloor === undefined
    ? ''
    : `  - name: accuracy-drop
    metric: performance.accuracy
    condition: { op: '<', threshold: ${accuracyFloor} }
    severity: critical
    action: retrain
    notify: [webhook]
`
}`;

/** Serves one window of traffic through the deployment's runtime; labels `labelShare` of it later. */
async function window(
  ws: Workspace,
  deployment: string,
  o: { rows: number; seed: number; drift: number; labelShare: number },
): Promise<{ from: number; to: number; labelled: number }> {
  const from = Date.now();
  const rt = await ws.serving.openRuntime({ actor: 'local', deployment });
  const data = generateCreditData({
    rows: o.rows,
    seed: o.seed,
    covariateDrift: o.drift,
    conceptDrift: o.drift,
  });
  const items: { prediction_id: string; label: number }[] = [];
  try {
    for (let i = 0; i < data.rows.length; i += 100) {
      const batch = data.rows.slice(i, i + 100);
      const records = batch.map(({ [CREDIT_TARGET]: _label, ...features }) => features);
      const r = await rt.predict({ dataframe_records: records });
      r.items.forEach((it, j) => {
        if ((i + j) % 100 < o.labelShare * 100)
          items.push({ prediction_id: it.prediction_id, label: Number(batch[j]![CREDIT_TARGET]) });
      });
    }
  } finally {
    await rt.close();
  }
  const to = Date.now() + 1;
  // The true outcomes arrive later (delayed labels), joined to their predictions.
  const out = await ws.serving.feedback.submit({ actor: 'local', items });
  return { from, to, labelled: out.filter((x) => x.status === 'recorded').length };
}

/** Runs the monitoring chapter on the serving chapter's deployment. */
export async function monitoringChapter(
  ws: Workspace,
  opts: { deployment: string; workDir: string },
): Promise<void> {
  const { deployment } = opts;
  const started = Date.now();
  console.log('\nChapter: monitoring - drift, delayed labels, an alert that asks for a retrain, the report');
  await ws.monitoring.monitors.create({ actor: 'local', deployment, spec: SPEC() });
  console.log(
    `  monitor 'demo-watch' on ${deployment}: reference = the training dataset version's stored profiles`,
  );

  const calm = await window(ws, deployment, { rows: 400, seed: 101, drift: 0, labelShare: 0.6 });
  const [first] = await ws.monitoring.runDeployment({
    actor: 'local',
    deployment,
    from: calm.from,
    to: calm.to,
  });
  const accuracy =
    first?.points.find((p) => p.metric === 'performance.accuracy' && p.slice === null)?.value ?? 0.7;
  console.log(
    `  window 1: 400 ordinary applicants, ${calm.labelled} labelled -> accuracy ${accuracy.toFixed(3)}`,
  );
  // The alert floor sits 5 points under what the champion showed on ordinary traffic.
  const floor = Math.round((accuracy - 0.05) * 1000) / 1000;
  await ws.monitoring.monitors.create({ actor: 'local', deployment, spec: SPEC(floor) });
  console.log(`  monitor v2: accuracy-drop fires below ${floor} (critical, action: retrain)`);

  const storm = await window(ws, deployment, { rows: 400, seed: 202, drift: 1, labelShare: 0.6 });
  const [second] = await ws.monitoring.runDeployment({
    actor: 'local',
    deployment,
    from: storm.from,
    to: storm.to,
  });
  const pts = second?.points ?? [];
  const value = (metric: string, feature: string | null = null) =>
    pts.find((p) => p.metric === metric && p.feature === feature && p.slice === null);
  console.log(
    `  window 2: 400 younger, poorer applicants (covariate + concept drift), ${storm.labelled} labelled -> ` +
      `skew share ${value('skew.share')?.value?.toFixed(2)}, PSI(age) ${value('skew.psi', 'age')?.value?.toFixed(2)}, ` +
      `accuracy ${value('performance.accuracy')?.value?.toFixed(3)}`,
  );

  // The run's event reaches the alert engine (a subscriber); in a server it is delivered in the background.
  await ws.events.flush(10_000);
  const alerts = await ws.alerts.list({ deployment, state: 'open' });
  console.log('\n  open alerts (sextant alerts ls):');
  console.log(
    table(
      ['RULE', 'SEVERITY', 'METRIC', 'VALUE', 'ACTION'],
      alerts.map((a) => [
        a.rule,
        a.severity,
        a.metric,
        a.value === null ? '-' : `${a.value.toFixed(3)} (${a.condition})`,
        a.actionOutcome ? `${a.action}: ${a.actionOutcome.message}` : a.action,
      ]),
    )
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n'),
  );
  const [retrain] = await ws.events.events({ types: ['model.retrain_requested'], limit: 1 });
  if (retrain) console.log(`  event model.retrain_requested: ${JSON.stringify(retrain.payload)}`);

  fs.mkdirSync(opts.workDir, { recursive: true });
  const file = path.join(opts.workDir, 'monitoring-report.html');
  fs.writeFileSync(file, await ws.monitoringReport.html({ deployment }));
  console.log(
    `\n  report: ${file} (one file, inline SVG, opens offline; chapter took ${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  console.log(`  npx sextant monitor report ${deployment} --html report.html`);
  console.log(
    `  npx sextant alerts ls --deployment ${deployment}; npx sextant alerts ack <id> --comment "retraining"`,
  );
}
