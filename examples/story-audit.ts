/*
 * Story 1, the audit. Three months ago a credit model, trained on a versioned dataset and approved by
 * a second person, declined an application. Today a regulator asks why. Sextant answers from its
 * records alone: the prediction traced to the model version, the alias move and its approvals, the
 * training run and the exact data (version and digest); the decision explained feature by feature;
 * the model retrained from its record, byte for byte; the audit chain verified; the compliance report
 * written.
 *
 * "Three months ago" is real: the workspace runs on the story clock (examples/story-clock.ts), set
 * three calendar months back while the model is trained, approved and serving, so the alias history,
 * the approvals, the prediction's serving time and the audit entries carry those dates. One thing
 * keeps today's date: the training run's start time (the trainer stamps it with the wall clock).
 * Safe to run again: each run adds a model version and a day of decisions on the same deployment.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Workspace } from '../src/app/index.js';
import type { SextantApi } from '../src/client/index.js';
import { addPath } from '../src/data/index.js';
import {
  type ComplianceReport,
  type PredictionTrace,
  renderComplianceHtml,
} from '../src/governance/index.js';
import {
  CREDIT_PROTECTED,
  CREDIT_TARGET,
  generateCreditData,
  reproduceRun,
  trainModel,
  writeCreditCsv,
} from '../src/ml/index.js';
import { DAY_MS, monthsBefore, type StoryClock } from './story-clock.js';
import { assertPastWritable, REPO_ROOT, REVIEWER, reviewerApi, showTable } from './story-shared.js';

export const AUDIT_MODEL = 'loan-approval';
const DATASET = 'loan-applications';
const EXPERIMENT = 'loan-approval';
const TABLE = 'applications.csv';

/** What the audit found, for a test to check against the records. */
export interface AuditOutcome {
  model: string;
  /** The version that made the decision. */
  version: number;
  predictionId: string;
  servedAt: string;
  /** The training run and the dataset version it read (ref and digest), as registered at training. */
  runId: string;
  dataset: { ref: string; digest: string };
  /** As the trace found them. */
  trace: PredictionTrace;
  requestedBy: string | null;
  approvedBy: string[];
  topFactors: { feature: string; value: unknown; attribution: number }[];
  reproduced: boolean;
  reproducedSha256: string | null;
  chain: { ok: boolean; entries: number; head: string | null };
  /** The compliance report: its HTML file and the data it was rendered from. */
  reportFile: string;
  report: ComplianceReport;
}

/** Tells the audit story on `ws` (its clock must be `opts.clock`). */
export async function auditStory(
  ws: Workspace,
  api: SextantApi,
  opts: { workDir: string; clock: StoryClock; webUrl?: string },
): Promise<AuditOutcome> {
  const { clock } = opts;
  const today = clock.now();
  const decisionDay = monthsBefore(today, 3);
  const reviewer = await reviewerApi(ws, api);
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  console.log('\nStory 1: the audit - a regulator asks about a declined application from three months ago');

  // ---- Three months ago: the data, the model, its approval, a day of decisions.
  await assertPastWritable(api, decisionDay);
  clock.travelTo(decisionDay - 10 * DAY_MS);
  const dir = path.join(opts.workDir, DATASET);
  fs.mkdirSync(dir, { recursive: true });
  writeCreditCsv(path.join(dir, TABLE), { rows: 3000, seed: 11 });
  const added = await addPath(api.data, dir, {
    dataset: DATASET,
    source: 'synthetic://credit?seed=11 (the bank export of Q2)',
    description: 'consumer credit applications with their outcome after 12 months',
    owner: 'risk-team',
    license: 'internal',
    pii: true,
  });
  const datasetRef = `${DATASET}@${added.version.number}`;
  const suite = fs.readFileSync(path.join(REPO_ROOT, 'examples/pipelines/credit-suite.yaml'), 'utf8');
  const quality = await api.dataQuality.validate(datasetRef, suite);
  const trained = await trainModel(
    api,
    {
      datasetRef,
      target: CREDIT_TARGET,
      kind: 'gbdt',
      seed: 7,
      params: { n_estimators: 40, learning_rate: 0.1, max_depth: 3 },
    },
    {
      experiment: EXPERIMENT,
      runName: 'loan-approval-gbdt',
      command: 'sextant train loan-applications',
      ...codeCommit(),
    },
  );

  clock.travelTo(decisionDay - 8 * DAY_MS);
  const mv = await api.models.register(AUDIT_MODEL, {
    runId: trained.runId,
    path: 'model',
    description: 'gradient-boosted trees on the Q2 applications',
  });
  await api.models.updateVersion(AUDIT_MODEL, mv.version, {
    card: {
      intended_use: 'Score consumer credit applications; declines above 0.5 go to a second reviewer.',
      limitations: 'Trained on one quarter of applications; watch for drift in applicant age and income.',
      // The compliance report evaluates the model per group of each and measures its fairness.
      protected_attributes: CREDIT_PROTECTED,
    },
  });
  await api.models.setPolicy(
    AUDIT_MODEL,
    'approvals: 1\napproverRoles: [approver, admin]\nseparationOfDuties: true\ngates:\n  - documentation: [card.intended_use, card.limitations]\n',
  );
  const request = await api.models.promote({
    ref: `${AUDIT_MODEL}@${mv.version}`,
    alias: 'champion',
    reason: 'quarterly model refresh',
  });
  clock.travelTo(decisionDay - 7 * DAY_MS);
  if (request.status === 'pending')
    await reviewer.approve(request.id, 'card, data quality and validation metrics reviewed');

  clock.travelTo(decisionDay);
  const applications = generateCreditData({ rows: 40, seed: 31 }).rows.map(
    ({ [CREDIT_TARGET]: _outcome, ...features }) => features,
  );
  const rt = await ws.serving.openRuntime({
    actor: 'local',
    model: `${AUDIT_MODEL}@champion`,
    name: AUDIT_MODEL,
  });
  const decisions: { id: string; declined: boolean; p: number }[] = [];
  try {
    for (const record of applications) {
      const r = await rt.predict({ dataframe_records: [record] });
      const item = r.items[0]!;
      const p = Number(item.probabilities?.['1'] ?? item.prediction);
      decisions.push({ id: item.prediction_id, declined: String(item.prediction) === '1', p });
    }
  } finally {
    await rt.close();
  }
  // The application the regulator asks about: a declined one (the riskiest of the day if none was).
  const asked = decisions.find((d) => d.declined) ?? [...decisions].sort((a, b) => b.p - a.p)[0]!;
  console.log(
    `  ${day(decisionDay - 10 * DAY_MS)}  ${datasetRef} added (digest ${added.version.digest.slice(0, 12)}), ` +
      `quality suite ${quality.passed ? 'passed' : 'FAILED'}; run ${trained.runId} trains a model on it`,
  );
  console.log(
    `  ${day(decisionDay - 8 * DAY_MS)}  ${AUDIT_MODEL}@${mv.version} registered; promotion to champion requested`,
  );
  console.log(
    `  ${day(decisionDay - 7 * DAY_MS)}  ${REVIEWER} approves; ${AUDIT_MODEL}@${mv.version} is champion`,
  );
  console.log(
    `  ${day(decisionDay)}  ${decisions.length} applications scored, ${decisions.filter((d) => d.declined).length} declined`,
  );

  // ---- Today: the regulator's letter names the decision (its prediction id is on the applicant's letter).
  clock.present();
  console.log(
    `\n  ${day(today)}  the regulator: "application decided on ${day(decisionDay)} (ref ${asked.id}) was declined.` +
      '\n               Which model decided it, who approved that model, what data trained it, and why?"',
  );
  const trace = await ws.governance.trace.trace(asked.id);
  const since = trace.alias?.since ?? null;
  const data = trace.datasets[0];
  const run = trace.run;
  console.log('\n  the trace (sextant trace):');
  console.log(
    showTable(
      ['LINK', 'WHAT', 'DETAIL'],
      [
        [
          'prediction',
          asked.id,
          `served ${trace.prediction.servedAt}, output ${String(trace.prediction.outputs?.prediction ?? '-')} (declined)`,
        ],
        [
          'model',
          trace.modelVersion?.ref ?? '-',
          `sha256 ${trace.modelVersion?.sha256.slice(0, 16) ?? '-'}...`,
        ],
        [
          'approval',
          trace.alias ? `${trace.alias.name} since ${since?.at.slice(0, 10) ?? '-'}` : '-',
          `requested by ${trace.alias?.request?.requestedBy ?? since?.actor ?? '-'}, approved by ${since?.approvals.map((a) => `${a.actor} (${a.role}, ${a.at.slice(0, 10)})`).join(', ') || '-'}`,
        ],
        [
          'run',
          run?.id ?? '-',
          run
            ? `${run.name}: ${['model', 'seed', 'n_estimators', 'learning_rate', 'max_depth'].map((k) => `${k}=${run.params[k] ?? '-'}`).join(' ')}, commit ${run.gitCommit?.slice(0, 10) ?? '-'}`
            : '-',
        ],
        [
          'data',
          data?.ref ?? '-',
          data
            ? `digest ${data.digest.slice(0, 16)}..., ${data.rowCount ?? '?'} rows, ${data.source ?? '-'}, PII ${data.pii ? 'yes' : 'no'}`
            : '-',
        ],
      ],
    ),
  );
  if (trace.gaps.length) console.log(`  gaps: ${trace.gaps.map((g) => `${g.link}: ${g.reason}`).join('; ')}`);

  const { explanation } = await ws.governance.explain.explainPrediction(asked.id);
  const topFactors = Object.entries(explanation.attributions)
    .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))
    .slice(0, 4)
    .map(([feature, attribution]) => ({ feature, value: explanation.features?.[feature], attribution }));
  console.log(
    `\n  why (${explanation.method}, ${explanation.space}): base ${explanation.baseValue.toFixed(3)} -> ${explanation.output.toFixed(3)}`,
  );
  console.log(
    showTable(
      ['FACTOR', 'VALUE', 'PUSH TOWARDS DECLINE'],
      topFactors.map((f) => [
        f.feature,
        String(f.value ?? '-'),
        `${f.attribution >= 0 ? '+' : ''}${f.attribution.toFixed(4)}`,
      ]),
    ),
  );

  const again = await reproduceRun(api, { runId: trained.runId, workDir: opts.workDir });
  console.log(
    `\n  reproduced from the record (same data digest, params, seed): run ${again.newRunId} -> ` +
      `${again.byteIdentical ? 'byte-identical model' : 'the model DIFFERS'} (sha256 ${again.newSha256?.slice(0, 16)}...)`,
  );
  const verify = await api.audit.verify();
  console.log(
    `  audit chain: ${verify.ok ? 'verified' : 'BROKEN'}, ${verify.entries} entries, head ${verify.head?.hash.slice(0, 16) ?? '-'}...`,
  );
  const compliance = await complianceReport(api, {
    model: AUDIT_MODEL,
    ref: String(mv.version),
    from: new Date(decisionDay - 30 * DAY_MS).toISOString(),
    to: new Date(today).toISOString(),
    file: path.join(opts.workDir, `compliance-${AUDIT_MODEL}-${mv.version}.html`),
  });
  console.log(
    `  compliance report: ${compliance.file} (data ${compliance.report.data.datasets.map((d) => `${d.ref} ${d.digest.slice(0, 12)}`).join(', ')}; ` +
      `reproduction ${compliance.report.training.reproduction.status}; chain head ${compliance.report.audit.head?.hash.slice(0, 12) ?? '-'})`,
  );
  const offline = compliance.report.evaluation.offline;
  const fmt = (v: number | null | undefined) => (typeof v === 'number' ? v.toFixed(3) : '-');
  if (offline.status === 'evaluated')
    console.log(
      `  evaluation per ${offline.attributes.join(', ')} on the ${offline.data?.rows} validation rows: ` +
        offline.slices
          .map((s) => `${s.value} accuracy ${fmt(s.metrics.accuracy)} AUC ${fmt(s.metrics.roc_auc)}`)
          .join('; ') +
        `; disparate impact ${offline.fairness.map((g) => `${g.value} ${fmt(g.metrics.DI?.value)}${g.metrics.DI?.fourFifths ? ' (below four-fifths)' : ''}`).join(', ')}`,
    );
  else console.log(`  evaluation per slice: ${offline.note}`);

  console.log('\n  look closer:');
  console.log(`    npx sextant trace ${asked.id}; npx sextant explain ${asked.id}`);
  console.log(
    `    npx sextant models history ${AUDIT_MODEL} --alias champion --at ${trace.prediction.servedAt}`,
  );
  console.log(`    npx sextant report compliance ${AUDIT_MODEL}@${mv.version} --html report.html`);
  const web = opts.webUrl ?? 'http://127.0.0.1:5005';
  console.log(
    `    npx sextant server, then ${web}/predictions/${asked.id} (trace and explanation), ${web}/lineage?ref=${AUDIT_MODEL}@${mv.version}, ${web}/models/${AUDIT_MODEL}/versions/${mv.version} (its compliance report link)`,
  );
  return {
    model: AUDIT_MODEL,
    version: mv.version,
    predictionId: asked.id,
    servedAt: trace.prediction.servedAt,
    runId: trained.runId,
    dataset: { ref: datasetRef, digest: added.version.digest },
    trace,
    requestedBy: trace.alias?.request?.requestedBy ?? null,
    approvedBy: since?.approvals.map((a) => a.actor) ?? [],
    topFactors,
    reproduced: again.byteIdentical === true,
    reproducedSha256: again.newSha256 ?? null,
    chain: { ok: verify.ok, entries: verify.entries, head: verify.head?.hash ?? null },
    reportFile: compliance.file,
    report: compliance.report,
  };
}

/** The compliance report as one self-contained HTML file an auditor can read without Sextant. */
async function complianceReport(
  api: SextantApi,
  q: { model: string; ref: string; from: string; to: string; file: string },
): Promise<{ file: string; report: ComplianceReport }> {
  const report = await api.compliance.report({ model: q.model, ref: q.ref, from: q.from, to: q.to });
  fs.mkdirSync(path.dirname(q.file), { recursive: true });
  fs.writeFileSync(q.file, renderComplianceHtml(report));
  return { file: q.file, report };
}

/** The checkout's commit, recorded on the run as its code version (none outside a git checkout). */
function codeCommit(): { gitCommit?: string } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return /^[0-9a-f]{40}$/.test(commit) ? { gitCommit: commit } : {};
  } catch {
    return {};
  }
}
