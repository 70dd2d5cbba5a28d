import type { AliasEvent, CardField } from '../../registry/registry.schema.js';
import type { ComplianceMeasure, ComplianceReport } from './compliance-report.schema.js';

/*
 * The compliance report as one self-contained HTML document an auditor reads without Sextant: inline
 * CSS only, no script, no image, font or style sheet fetched from anywhere, and every value escaped
 * wherever it lands (names, reasons, comments and inputs are user text). Each section starts on a new
 * page when printed (the PDF is Chromium printing this file), and a section with nothing to show says
 * so in words instead of disappearing.
 */

const CSS = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:28px;color:#1d1d1f;max-width:1050px;font-size:13px;line-height:1.4}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 8px;border-bottom:2px solid #333;padding-bottom:3px}
h3{font-size:14px;margin:16px 0 4px}.meta{color:#555}.empty{color:#666;font-style:italic}
table{border-collapse:collapse;margin:6px 0 10px;width:100%}td,th{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f2f2f2}table.kv th{width:210px}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.ok,.pass,.reproduced,.executed{color:#1b6e2a;font-weight:600}.warning,.no_data,.not_checked,.pending{color:#8a5a00;font-weight:600}
.alert,.fail,.differs,.broken,.firing,.rejected{color:#b3261e;font-weight:600}.muted,.resolved,.insufficient_data{color:#666}
section{margin-top:26px}.verdict{border:2px solid #333;padding:8px 12px;margin:12px 0}
@media print{body{margin:0;max-width:none}section{break-before:page;margin-top:0}section.first{break-before:auto}tr,.verdict{break-inside:avoid}}`;

import { offlineEvaluationHtml } from './compliance-html-evaluation.js';
import { badge, code, dash, e, empty, kv, num, table, text } from './compliance-html-parts.js';

/** A name -> value record as a two-column table sorted by name, or the words for none. */
function sortedTable<V>(
  head: [string, string],
  record: Record<string, V>,
  fmt: (v: V) => string,
  none: string,
): string {
  const rows = Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
  return rows.length
    ? table(
        head,
        rows.map(([k, v]) => [e(k), fmt(v)]),
      )
    : empty(none);
}

/** A value of unknown shape (prediction inputs, outputs, gate evidence) as compact JSON, escaped. */
function json(v: unknown): string {
  if (v === undefined || v === null) return dash;
  const s = JSON.stringify(v);
  return `<code>${e(s.length > 600 ? `${s.slice(0, 600)}…` : s)}</code>`;
}

const CARD: [CardField, string][] = [
  ['intended_use', 'Intended use'],
  ['out_of_scope_use', 'Out-of-scope use'],
  ['limitations', 'Limitations'],
  ['ethical_considerations', 'Ethical considerations'],
  ['protected_attributes', 'Protected attributes'],
  ['caveats', 'Caveats and recommendations'],
  ['owners', 'Owners'],
];

function header(r: ComplianceReport): string {
  const a = r.audit;
  const verdict = a.ok
    ? `${badge('ok')} audit chain verified: ${a.entries} entries, head #${a.head?.seq ?? 0}`
    : `${badge('broken')} audit chain verification FAILED: ${a.problems.length} problem(s) in ${a.entries} entries`;
  return `<header><h1>Compliance report: ${e(r.model.ref)}</h1>
<p class="meta">Model <b>${e(r.model.name)}</b> version ${r.model.version}${r.model.requested !== r.model.ref ? ` (asked for as <code>${e(r.model.requested)}</code>)` : ''} &middot; period ${e(r.period.from)} to ${e(r.period.to)} &middot; generated ${e(r.generatedAt)} by ${e(r.generatedBy)}</p>
<div class="verdict">${verdict}<br>Audit head digest: <code>${text(a.head?.hash)}</code><br><span class="meta">To check this document against the system later: <code>sextant audit verify</code> must pass, and entry #${a.head?.seq ?? 0} of the chain must still carry this hash (<code>sextant --json audit log</code> shows each entry's hash); a rewritten history cannot keep both.</span></div>
<p class="meta">Contents: 1. Model and purpose &middot; 2. Training data &middot; 3. Training run and reproducibility &middot; 4. Evaluation and fairness &middot; 5. Approvals &middot; 6. Time in production &middot; 7. Traced and explained predictions &middot; 8. Audit chain</p></header>`;
}

function modelSection(r: ComplianceReport): string {
  const m = r.model;
  const card = CARD.map(([k, title]) => {
    const v = m.card[k];
    return `<h3>${e(title)}</h3>${v ? `<p>${e(v).replace(/\n/g, '<br>')}</p>` : empty('Not documented in the model card.')}`;
  }).join('');
  const sig = m.signature
    ? table(
        ['Inputs', 'Outputs'],
        [
          [
            e(m.signature.inputs.map((t) => `${t.name}: ${t.type}`).join(', ')) || dash,
            e(m.signature.outputs.map((t) => `${t.name}: ${t.type}`).join(', ')) || dash,
          ],
        ],
      )
    : empty('No signature recorded.');
  return `<section class="first"><h2>1. Model and purpose</h2>
${kv([
  ['Model', e(m.name)],
  ['Model description', text(m.modelDescription)],
  ['Version', `${m.version} (${code(m.id)})`],
  ['Version description', text(m.description)],
  ['Aliases held now', text(m.aliasesNow.join(', '))],
  ['Format / size', `${e(m.format)} &middot; ${e(m.size)} bytes`],
  ['Content sha256', code(m.sha256)],
  ['Registered', `${e(m.createdAt)} by ${e(m.createdBy)}`],
  ['Source', code(m.source)],
  ['Task / target', `${text(m.signature?.task)} / ${text(m.signature?.target)}`],
  ['Tags', Object.keys(m.tags).length ? json(m.tags) : dash],
])}
<h3>Signature</h3>${sig}
<h3>Model card</h3>${card}</section>`;
}

function dataSection(r: ComplianceReport): string {
  const ds = r.data.datasets;
  if (ds.length === 0)
    return `<section><h2>2. Training data</h2>${empty('No training dataset versions are recorded for this model version.')}</section>`;
  const body = ds
    .map((d) => {
      const quality =
        d.quality === null
          ? empty('Quality results could not be read.')
          : d.quality.length === 0
            ? empty('No quality suite was run on this dataset version.')
            : table(
                ['Suite', 'Result', 'Failed / checked', 'When', 'By'],
                d.quality.map((q) => [
                  e(q.suite),
                  badge(q.passed ? 'pass' : 'fail'),
                  `${q.failed} / ${q.total}`,
                  e(q.at),
                  e(q.by),
                ]),
              );
      const upstream = d.upstream.length
        ? table(
            ['Upstream', 'Kind', 'Hops', 'Details'],
            d.upstream.map((n) => [
              e(n.label),
              e(n.kind),
              String(n.depth),
              e(
                Object.entries(n.attributes)
                  .filter(([, v]) => v !== null && v !== '')
                  .map(([k, v]) => `${k}: ${v}`)
                  .join('; '),
              ),
            ]),
          )
        : empty('No upstream lineage: this version was added directly (its source is named above).');
      const files = d.files.length
        ? table(
            ['File', 'sha256', 'Bytes'],
            d.files.slice(0, 50).map((f) => [e(f.path), code(f.sha256), e(f.size)]),
          ) + (d.files.length > 50 ? `<p class="meta">… and ${d.files.length - 50} more files.</p>` : '')
        : empty('No files.');
      return `<h3>Dataset ${e(d.ref)}</h3>${kv([
        ['Version id', code(d.id)],
        ['Digest (sha256 of the manifest)', code(d.digest)],
        ['Source', text(d.source)],
        ['Licence', d.license ? e(d.license) : '<span class="warning">not recorded</span>'],
        [
          'Personal data (PII)',
          d.pii ? '<span class="alert">yes: flagged as containing PII</span>' : 'not flagged',
        ],
        ['Rows', num(d.rowCount)],
        ['Added', `${e(d.createdAt)} by ${e(d.createdBy)}`],
      ])}<h3>Quality results</h3>${quality}<h3>Lineage to raw sources</h3>${upstream}<h3>Files</h3>${files}`;
    })
    .join('');
  return `<section><h2>2. Training data</h2>${body}</section>`;
}

function trainingSection(r: ComplianceReport): string {
  const t = r.training;
  const run = t.run;
  const rep = t.reproduction;
  const env = [
    t.environment.node ? `node ${t.environment.node}` : '',
    t.environment.os ?? '',
    t.environment.lockfileSha256 ? `lockfile sha256 ${t.environment.lockfileSha256}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  const runTable = run
    ? kv([
        ['Run', `${code(run.id)} (${e(run.name)})`],
        ['Status', `${e(run.status)}${run.lifecycleStage === 'deleted' ? ' (deleted since)' : ''}`],
        ['By', e(run.user)],
        ['Started / ended', `${e(run.startTime)} / ${text(run.endTime)}`],
        ['Experiment', code(run.experimentId)],
      ])
    : empty('No training run is on record for this version.');
  const params = sortedTable(['Param', 'Value'], run?.params ?? {}, e, 'No params recorded.');
  const metrics = sortedTable(
    ['Metric (last value)', 'Value'],
    run?.metrics ?? {},
    num,
    'No metrics recorded.',
  );
  return `<section><h2>3. Training run and reproducibility</h2>
${kv([
  [
    'Code commit',
    `${code(t.codeCommit)}${run?.gitDirty ? ' <span class="warning">(uncommitted changes)</span>' : ''}`,
  ],
  ['Command', code(t.command)],
  ['Seed', text(t.seed)],
  ['Environment', `${e(env) || dash} <span class="meta">(from the ${e(t.environment.source)})</span>`],
])}
<div class="verdict">Reproduction: ${badge(rep.status)}${rep.ranNow ? ' (re-run while making this report)' : ''}<br>${e(rep.note)}${
    rep.runId
      ? `<br>Reproducing run ${code(rep.runId)} at ${text(rep.at)}; expected sha256 ${code(rep.expectedSha256)}, got ${code(rep.reproducedSha256)}`
      : ''
  }</div>
<h3>Run</h3>${runTable}<h3>Params</h3>${params}<h3>Metrics</h3>${metrics}</section>`;
}

function measureTable(rows: ComplianceMeasure[], what: 'slice' | 'feature' | 'both'): string {
  const head = [
    'Metric',
    ...(what !== 'feature' ? ['Slice / group'] : []),
    ...(what !== 'slice' ? ['Feature'] : []),
    'Deployment',
    'Latest',
    'Status',
    'As of',
    'Points (alert / warning)',
  ];
  return table(
    head,
    rows.map((m) => [
      e(m.metric),
      ...(what !== 'feature' ? [text(m.slice)] : []),
      ...(what !== 'slice' ? [text(m.feature)] : []),
      e(m.deployment),
      num(m.value),
      badge(m.status),
      e(m.at),
      `${m.points} (${m.alerts} / ${m.warnings})`,
    ]),
  );
}

function evaluationSection(r: ComplianceReport): string {
  const ev = r.evaluation;
  // The validation metrics (the trainer logs them as val_*; the per-iteration curve is training detail).
  const entries = Object.entries(ev.metrics);
  const validation = entries.filter(([k]) => k.startsWith('val_') && !k.startsWith('val_iter'));
  const shown = validation.length ? validation : entries;
  const metrics = sortedTable(
    ['Metric', 'Value'],
    Object.fromEntries(shown),
    num,
    'No evaluation metrics were registered with this version.',
  );
  return `<section><h2>4. Evaluation and fairness</h2>
<h3>Evaluation at registration (validation split)</h3>${metrics}
${offlineEvaluationHtml(ev.offline, r.model.ref)}
<h3>Performance per slice (production, labelled traffic)</h3>${
    ev.slices.length
      ? measureTable(ev.slices, 'slice')
      : empty('No per-slice performance was measured in this period.')
  }
<h3>Fairness per group (production, labelled traffic)</h3>${
    ev.fairness.length ? measureTable(ev.fairness, 'slice') : empty('No fairness results in this period.')
  }</section>`;
}

function aliasRows(events: AliasEvent[], version?: number): string[][] {
  return events.map((a) => [
    e(a.at),
    e(a.alias),
    e(a.kind),
    `${a.fromVersion ?? dash} → ${a.toVersion ?? dash}${version !== undefined && a.toVersion === version ? ' <b>(this version)</b>' : ''}`,
    e(a.actor),
    text(a.reason),
    a.approvals.length
      ? e(
          a.approvals
            .map((p) => `${p.actor} (${p.role}) ${p.at}${p.comment ? `: ${p.comment}` : ''}`)
            .join('; '),
        )
      : dash,
    a.emergency ? '<span class="alert">emergency</span>' : '',
  ]);
}

function approvalsSection(r: ComplianceReport): string {
  const reqs = r.approvals.requests;
  const body = reqs.length
    ? reqs
        .map(
          (q) => `<h3>Request ${e(q.requestId)}: ${e(q.kind)} to ${e(q.alias)} ${badge(q.status)}</h3>
${kv([
  ['Requested', `${e(q.createdAt)} by ${e(q.requestedBy)}`],
  ['Reason', text(q.reason)],
  ['Approvals needed', String(q.approvalsNeeded)],
  ['Decided', text(q.decidedAt)],
])}${
  q.decisions.length
    ? table(
        ['Who', 'Role', 'Decision', 'When', 'Comment'],
        q.decisions.map((d) => [
          e(d.actor),
          e(d.role),
          `${badge(d.decision === 'approve' ? 'pass' : 'fail')} ${e(d.decision)}`,
          e(d.at),
          text(d.comment),
        ]),
      )
    : empty('No approver has decided on this request.')
}<p><b>Gates when requested</b></p>${gateTable(q.openGates)}<p><b>Gates at execution</b></p>${
            q.executionGates ? gateTable(q.executionGates) : empty('Not executed.')
          }`,
        )
        .join('')
    : empty('No promotion request was ever opened for this version.');
  const moves = r.approvals.moves.length
    ? table(['When', 'Alias', 'Kind', 'Move', 'By', 'Reason', 'Approvals', ''], aliasRows(r.approvals.moves))
    : empty('No alias was ever moved to this version.');
  return `<section><h2>5. Approvals</h2>${body}<h3>Alias moves to this version</h3>${moves}</section>`;
}

function gateTable(gates: ComplianceReport['approvals']['requests'][number]['openGates']): string {
  if (gates.length === 0) return empty('The policy has no gates.');
  return table(
    ['Gate', 'Type', 'Result', 'Message', 'Evidence'],
    gates.map((g) => [e(g.gate), e(g.type), badge(g.status), e(g.message), json(g.observed)]),
  );
}

function productionSection(r: ComplianceReport): string {
  const p = r.production;
  const history = p.aliasHistory.length
    ? table(
        ['When', 'Alias', 'Kind', 'Move', 'By', 'Reason', 'Approvals', ''],
        aliasRows(p.aliasHistory, r.model.version),
      )
    : empty('No alias of this model moved in this period.');
  const deployments = p.deployments.length
    ? table(
        ['Deployment', 'Follows', 'Challenger', 'Created', 'Predictions by this version', 'With labels'],
        p.deployments.map((d) => [
          `${e(d.name)}${d.deletedAt ? ` <span class="muted">(deleted ${e(d.deletedAt)})</span>` : ''}`,
          e(d.ref),
          text(d.challenger),
          `${e(d.createdAt)} by ${e(d.createdBy)}`,
          String(d.predictions),
          String(d.labelled),
        ]),
      )
    : empty('This model has no deployments.');
  const monitoring = p.monitoring.length
    ? measureTable(p.monitoring, 'feature')
    : empty('No monitoring results in this period.');
  const alerts = p.alerts.length
    ? table(
        ['Fired', 'Rule', 'Severity', 'Condition', 'State', 'What was done'],
        p.alerts.map((a) => [
          e(a.firedAt),
          `${e(a.rule)}<br><span class="meta">${e(a.metric)}${a.feature ? ` · ${e(a.feature)}` : ''}${a.slice ? ` · ${e(a.slice)}` : ''} on ${e(a.deployment)}</span>`,
          badge(a.severity),
          `${e(a.condition)} (value ${num(a.value)})`,
          `${badge(a.state)}${a.resolvedAt ? `<br>resolved ${e(a.resolvedAt)}` : ''}`,
          [
            `action: ${e(a.action)}${a.actionOutcome ? ` → ${e(a.actionOutcome)}` : ''}`,
            a.acknowledgedAt
              ? `acknowledged ${e(a.acknowledgedAt)} by ${text(a.acknowledgedBy)}`
              : 'not acknowledged',
            a.comment ? `comment: ${e(a.comment)}` : '',
          ]
            .filter(Boolean)
            .join('<br>'),
        ]),
      )
    : empty('No alerts fired for this version in this period.');
  return `<section><h2>6. Time in production</h2>
<p>${p.predictions} predictions answered by this version in the period, ${p.labelled} of them with a delayed label.</p>
<h3>Alias history</h3>${history}<h3>Deployments and traffic</h3>${deployments}
<h3>Monitoring results</h3>${monitoring}<h3>Alerts and what was done about them</h3>${alerts}</section>`;
}

function samplesSection(r: ComplianceReport): string {
  if (r.samples.length === 0)
    return `<section><h2>7. Traced and explained predictions</h2>${empty('No predictions by this version in this period.')}</section>`;
  const body = r.samples
    .map((s) => {
      const x = s.explanation;
      const attributions = x
        ? table(
            ['Feature', 'Value', 'Attribution'],
            Object.entries(x.attributions)
              .sort(([, a], [, b]) => Math.abs(b) - Math.abs(a))
              .slice(0, 10)
              .map(([k, v]) => [e(k), json(s.inputs[k]), num(v)]),
          ) +
          `<p class="meta">${e(x.method)} SHAP in ${e(x.space.replace('_', ' '))} space: base ${num(x.baseValue)} + attributions = output ${num(x.output)}${x.exact ? ' (exact)' : ''}.</p>`
        : empty(`No explanation: ${s.explanationError ?? 'not available'}.`);
      const traced = s.traceGaps.length
        ? `<span class="warning">gaps</span>: ${e(s.traceGaps.map((g) => `${g.link}: ${g.reason}`).join('; '))}`
        : `<span class="ok">complete</span> to ${e(s.tracedDatasets.join(', ') || 'the model')}`;
      return `<h3>Prediction ${e(s.predictionId)}</h3>${kv([
        ['Served', `${e(s.servedAt)} by ${text(s.deployment)}${s.alias ? ` under alias ${e(s.alias)}` : ''}`],
        ['Inputs', json(s.inputs)],
        ['Output', json(s.outputs)],
        ['Label (delayed)', s.label === null ? 'none yet' : json(s.label)],
        ['Trace', traced],
      ])}${attributions}`;
    })
    .join('');
  return `<section><h2>7. Traced and explained predictions</h2><p class="meta">The newest ${r.samples.length} predictions of the period; each is traced from the prediction log back to its training data and explained with Shapley values.</p>${body}</section>`;
}

function auditSection(r: ComplianceReport): string {
  const a = r.audit;
  const problems = a.problems.length
    ? table(
        ['Kind', 'Problem'],
        a.problems.map((p) => [e(p.kind), e(p.message)]),
      )
    : '<p class="ok">No problems: no entry was edited, deleted, inserted, reordered or truncated.</p>';
  const gaps = r.gaps.length
    ? table(
        ['Link', 'Ref', 'Why it could not be followed'],
        r.gaps.map((g) => [e(g.link), text(g.ref), e(g.reason)]),
      )
    : '<p>None: every link from this version to its run and data was followed.</p>';
  return `<section><h2>8. Audit chain</h2>${kv([
    ['Result', a.ok ? badge('ok') : badge('broken')],
    ['Entries', String(a.entries)],
    ['Head', a.head ? `#${a.head.seq}` : dash],
    ['Head digest', code(a.head?.hash)],
    ['Signed checkpoints', String(a.checkpoints)],
    ['Witness vouches for entry', a.witness === null ? 'no witness kept' : `#${a.witness}`],
    ['Verified at', e(a.verifiedAt)],
  ])}${problems}<h3>Links the report could not follow</h3>${gaps}</section>`;
}

/** The report as one self-contained, printable HTML document (no script, no external resource). */
export function renderComplianceHtml(r: ComplianceReport): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Compliance report ${e(r.model.ref)}</title><style>${CSS}</style></head>
<body>${header(r)}
${modelSection(r)}
${dataSection(r)}
${trainingSection(r)}
${evaluationSection(r)}
${approvalsSection(r)}
${productionSection(r)}
${samplesSection(r)}
${auditSection(r)}
</body></html>
`;
}
