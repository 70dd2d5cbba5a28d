/*
 * The Sextant demo story, serving chapter: serve the champion with its prediction ledger, send
 * synthetic applications, send the true outcomes of some of them later (delayed labels), then pick
 * one logged prediction and trace it back to the data its model was trained on, and explain it.
 * It runs the scoring server in-process on a free loopback port, exactly as `sextant serve` runs it
 * (`npx sextant serve demo-credit-risk@champion` does the same from a shell). Safe to run again: the
 * deployment record is reused and each run adds its own predictions.
 */

import os from 'node:os';
import type { Workspace } from '../src/app/index.js';
import { table } from '../src/cli/output.js';
import { formatTrace } from '../src/governance/trace/index.js';
import { CREDIT_TARGET, generateCreditData } from '../src/ml/index.js';
import { buildServingApp } from '../src/server/serving-app.js';

const indent = (text: string, pad = '    ') =>
  text
    .split('\n')
    .map((l) => `${pad}${l}`)
    .join('\n');

interface PredictReply {
  predictions: {
    prediction_id: string;
    version: number;
    prediction: unknown;
    probabilities?: Record<string, number>;
  }[];
}

async function post<T>(url: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${url} -> ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

export interface ServingChapterOptions {
  /** The registered model whose champion is served (default demo-credit-risk). */
  model?: string;
  /** Synthetic requests to send (default 200). */
  requests?: number;
  /** Seed of the synthetic traffic (default: different on each run). */
  seed?: number;
}

/** Runs the serving chapter; returns the deployment name and the prediction it traced and explained. */
export async function servingChapter(
  ws: Workspace,
  opts: ServingChapterOptions = {},
): Promise<{ deployment: string; predictionId: string; labelled: number }> {
  const model = opts.model ?? 'demo-credit-risk';
  const name = `${model}-champion`;
  const requests = opts.requests ?? 200;
  console.log('\nChapter: serving - prediction ledger, delayed labels, trace, explanation');

  // Created on the first run, reused after (the same record `sextant serve` would use).
  const runtime = await ws.serving.openRuntime({ actor: 'local', model: `${model}@champion`, name });
  const deployment = runtime.deployment;
  const app = await buildServingApp({ services: ws, runtime });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  let runtimeId: string | undefined;
  try {
    const served = runtime.serving().champion;
    console.log(
      `  serving ${model}@champion (v${served.version}) on ${base}, deployment '${name}', ${deployment.ledgerMode} ledger`,
    );
    console.log(`  (from a shell: npx sextant serve ${model}@champion --port 5001)`);

    // Production traffic: drifted applicants, as the data chapter's production sample; labels kept aside.
    const traffic = generateCreditData({
      rows: requests,
      seed: opts.seed ?? Date.now() % 100_000,
      covariateDrift: 0.6,
    }).rows;
    const records = traffic.map(({ [CREDIT_TARGET]: _label, ...features }) => features);
    const ids: string[] = [];
    const started = performance.now();
    // Mostly one application per request, in 8 concurrent streams, plus a batch of 20.
    const single = records.slice(0, requests - 20);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < single.length) {
          const i = next++;
          const reply = await post<PredictReply>(`${base}/predict`, { dataframe_records: [single[i]] });
          ids[i] = reply.predictions[0]!.prediction_id;
        }
      }),
    );
    const batch = await post<PredictReply>(`${base}/invocations`, { dataframe_records: records.slice(-20) });
    ids.push(...batch.predictions.map((p) => p.prediction_id));
    const ms = performance.now() - started;
    const positives = [...batch.predictions].filter((p) => String(p.prediction) === '1').length;
    console.log(
      `  sent ${requests} applications (${single.length} single requests in 8 streams + one batch of 20 via /invocations) in ${ms.toFixed(0)} ms; ` +
        `each answer carries its prediction id and model version`,
    );
    console.log(`  e.g. ${JSON.stringify(batch.predictions[0])}  (${positives}/20 of the batch flagged)`);

    // Delayed labels: the true outcome of 60% of the applications arrives later, in one batch.
    const labelled = Math.round(ids.length * 0.6);
    const items = ids
      .slice(0, labelled)
      .map((id, i) => ({ prediction_id: id, label: traffic[i]![CREDIT_TARGET]! }));
    type FeedbackReply = {
      outcomes: { status: string }[];
      recorded: number;
      duplicate: number;
      failed: number;
    };
    const outcome = await post<FeedbackReply>(`${base}/feedback`, items);
    const recorded = outcome.recorded;
    const again = await post<FeedbackReply>(`${base}/feedback`, items.slice(0, 5));
    console.log(
      `  POST /feedback: ${recorded} of ${labelled} delayed labels recorded (joined to their predictions and model version); ` +
        `the first 5 sent again: ${again.duplicate} duplicate, never counted twice`,
    );

    // Trace one prediction back to the data its model was trained on.
    const predictionId = ids[0]!;
    console.log(`\n  trace of ${predictionId} (sextant trace ${predictionId}):`);
    const trace = await ws.governance.trace.trace(predictionId);
    console.log(indent(formatTrace(trace)));

    // Explain it: which features pushed this application's score up or down.
    const { explanation } = await ws.governance.explain.explainPrediction(predictionId);
    const top = Object.entries(explanation.attributions)
      .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))
      .slice(0, 5);
    console.log(
      `\n  explanation (${explanation.method}${explanation.exact ? ', exact' : `, +-${explanation.tolerance.toPrecision(2)}`}, ${explanation.space}): ` +
        `base ${explanation.baseValue.toFixed(3)} + attributions = ${explanation.output.toFixed(3)}`,
    );
    console.log(
      indent(
        table(
          ['FEATURE', 'VALUE', 'ATTRIBUTION'],
          top.map(([f, a]) => [
            f,
            String(explanation.features?.[f] ?? '-'),
            `${a >= 0 ? '+' : ''}${a.toFixed(4)}`,
          ]),
        ),
      ),
    );

    // A caller's mistake: an application missing a feature is refused with a 400 naming it, and counted.
    const [firstFeature] = Object.keys(records[0]!);
    const { [firstFeature!]: _missing, ...incomplete } = records[0]!;
    const refused = await fetch(`${base}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dataframe_records: [incomplete] }),
    });
    console.log(
      `\n  a request missing '${firstFeature}': ${refused.status} ${((await refused.json()) as { error: { code: string } }).error.code}`,
    );
    // The heartbeat `sextant serve` writes: it carries the request counts the web UI's error figure sums.
    runtimeId = await ws.serving.deployments.heartbeat({
      deployment: name,
      host: os.hostname(),
      pid: process.pid,
      address: base,
      counts: runtime.counts(),
    });

    const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
    const shown = metrics
      .split('\n')
      .filter(
        (l) =>
          l.includes(`deployment="${name}"`) &&
          /^sextant_(predict_requests_total|predictions_total|predict_latency_seconds_(count|sum)|ledger_pending)/.test(
            l,
          ),
      )
      .slice(0, 8);
    console.log('\n  /metrics (Prometheus):');
    console.log(indent(shown.join('\n')));
    console.log(`\n  npx sextant predictions ls --deployment ${name}`);
    console.log(`  npx sextant trace ${predictionId}`);
    console.log(`  npx sextant explain ${predictionId}`);
    return { deployment: name, predictionId, labelled: recorded };
  } finally {
    await app.close();
    await runtime.close();
    if (runtimeId) await ws.serving.deployments.stopped(runtimeId, runtime.counts());
  }
}
