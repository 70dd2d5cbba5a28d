import type { AliasEventKind } from '../../registry/registry.schema.js';
import type { PredictionOutput } from '../../serving/serving.schema.js';
import type { PredictionTrace, TraceDataset, TraceLink } from './trace.schema.js';

/*
 * The human view of a prediction trace: one indented block per link, in the order an auditor follows
 * it (prediction -> model version + alias at that moment -> run -> datasets <- upstream). A pure
 * function of the trace JSON, so the CLI prints the same thing locally and against a server.
 */

/** The past tense of each alias move, as the text view says it. */
const MOVED: Record<AliasEventKind, string> = {
  set: 'set',
  promote: 'promoted',
  rollback: 'rolled back',
  delete: 'deleted',
};

const short = (sha: string, n = 12) => (sha.startsWith('sha256:') ? sha : `sha256:${sha.slice(0, n)}`);

const value = (v: unknown): string => {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
};

const record = (r: Record<string, unknown>, limit = 12): string => {
  const entries = Object.entries(r);
  const shown = entries.slice(0, limit).map(([k, v]) => `${k}=${value(v)}`);
  if (entries.length > limit) shown.push(`... (${entries.length - limit} more)`);
  return shown.join(', ') || '-';
};

function output(o: PredictionOutput | null): string {
  if (!o) return '-';
  const parts = [value(o.prediction)];
  if (o.probabilities) parts.push(`(${record(o.probabilities)})`);
  else if (o.outputs) parts.push(`(${record(o.outputs)})`);
  return parts.join(' ');
}

function qualityLine(d: TraceDataset): string {
  if (d.quality === null) return 'quality: unknown';
  if (d.quality.length === 0) return 'quality: no suite run';
  const total = d.quality.reduce((n, q) => n + q.total, 0);
  const failed = d.quality.reduce((n, q) => n + q.failed, 0);
  const suites = d.quality.map((q) => `${q.suite} ${q.passed ? 'passed' : 'FAILED'}`).join(', ');
  return `quality: ${total - failed}/${total} passed (${suites})`;
}

const gapLine = (link: TraceLink, t: PredictionTrace): string | undefined => {
  const gap = t.gaps.find((g) => g.link === link);
  return gap ? `(missing: ${gap.reason})` : undefined;
};

/**
 * A prediction trace as indented text, e.g.
 *   prediction pred_... at 2026-... -> credit@3 (champion since ..., promoted by alice, approved by bob)
 */
export function formatTrace(t: PredictionTrace): string {
  const p = t.prediction;
  const lines: string[] = [];
  const mv = t.modelVersion;
  const ref = `${p.model}@${p.version}`;

  let served = ref;
  if (t.alias) {
    const a = t.alias;
    const since = a.since;
    const how = since
      ? `${a.name} since ${since.at}, ${MOVED[since.kind]} by ${a.request?.requestedBy ?? since.actor}` +
        (since.approvals.length ? `, approved by ${since.approvals.map((x) => x.actor).join(', ')}` : '') +
        (since.emergency ? ', emergency' : '')
      : `${a.name}`;
    served = !a.servedUnder
      ? `${ref} (pinned; held ${how})`
      : a.servedByHolder
        ? `${ref} (${how})`
        : `${ref} (served under ${a.name}, held by ${a.holder === null ? 'nobody' : `${p.model}@${a.holder}`} at that moment)`;
  }
  lines.push(`prediction ${p.id} at ${p.servedAt} -> ${served}`);
  lines.push(`  deployment  ${t.deployment ? `${t.deployment.name} (${t.deployment.id})` : p.deploymentId}`);
  lines.push(`  role        ${p.role}${p.requestKey ? `, request key ${p.requestKey}` : ''}`);
  lines.push(`  inputs      ${record(p.inputs)}`);
  lines.push(
    p.error
      ? `  output      FAILED: ${p.error.code}: ${p.error.message} (no output; the model server failed)`
      : `  output      ${output(p.outputs)}`,
  );
  lines.push(`  latency     ${value(p.latencyMs)} ms`);
  if (p.shadow)
    lines.push(
      `  shadow      ${p.shadow.modelVersionId}: ${p.shadow.error ? `error: ${p.shadow.error}` : output(p.shadow.outputs)}`,
    );
  lines.push(`  label       ${p.label ? `${value(p.label.value)} (received ${p.label.receivedAt})` : '-'}`);

  lines.push(`model version ${ref}${mv ? ` (${mv.id})` : ''}`);
  if (mv) {
    lines.push(`  sha256      ${mv.sha256}`);
    lines.push(`  format      ${mv.format}, ${mv.size} bytes, from ${mv.source}`);
    if (mv.signature) {
      const sig = mv.signature;
      const task = [sig.task, sig.target ? `target ${sig.target}` : null].filter(Boolean).join(', ');
      lines.push(
        `  signature   ${sig.inputs.map((i) => `${i.name}:${i.type}`).join(', ')} -> ${sig.outputs.map((o) => o.name).join(', ')}${task ? ` (${task})` : ''}`,
      );
    }
    const env = mv.environment;
    const envText = [
      env.node && `node ${env.node}`,
      env.os,
      env.lockfileSha256 && `lockfile ${short(env.lockfileSha256)}`,
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(`  environment ${envText || '-'} (from the ${env.source})`);
    lines.push(
      `  registered  ${mv.createdAt} by ${mv.createdBy}; aliases now: ${mv.aliasesNow.join(', ') || '-'}`,
    );
  } else lines.push(`  ${gapLine('model_version', t) ?? '(missing)'}`);

  if (t.alias) {
    const a = t.alias;
    lines.push(
      `alias ${a.name} at ${a.at}: ${a.holder === null ? 'held by nobody' : `${p.model}@${a.holder}`}${a.servedUnder ? '' : ' (the deployment pinned the version)'}`,
    );
    if (a.since) {
      const s = a.since;
      const move = s.fromVersion === null ? `-> ${s.toVersion}` : `${s.fromVersion} -> ${s.toVersion}`;
      lines.push(
        `  ${s.kind} ${move} by ${s.actor} at ${s.at}${s.reason ? `: ${s.reason}` : ''}${s.emergency ? ' (emergency)' : ''}`,
      );
      if (a.request)
        lines.push(
          `  request     ${a.request.id} by ${a.request.requestedBy} at ${a.request.createdAt}${a.request.reason ? `: ${a.request.reason}` : ''}`,
        );
      else if (s.requestId) lines.push(`  request     ${s.requestId}`);
      for (const ap of s.approvals)
        lines.push(
          `  approved by ${ap.actor} (${ap.role}) at ${ap.at}${ap.comment ? `: ${ap.comment}` : ''}`,
        );
      if (s.approvals.length === 0) lines.push('  approvals   none');
    }
  } else if (!p.alias) lines.push(`alias -: ${ref} was served pinned, not under an alias`);
  else lines.push(`alias ${p.alias}: ${gapLine('alias', t) ?? '(missing)'}`);

  if (t.run) {
    const r = t.run;
    lines.push(
      `-> run ${r.id} (${r.name}) ${r.status}${r.lifecycleStage !== 'active' ? ` [${r.lifecycleStage}]` : ''}, by ${r.user}`,
    );
    lines.push(`  code        ${r.gitCommit ? `${r.gitCommit}${r.gitDirty ? ' (dirty)' : ''}` : '-'}`);
    lines.push(`  command     ${r.command ?? '-'}`);
    lines.push(`  params      ${record(r.params)}`);
    lines.push(`  metrics     ${record(r.metrics)}`);
    // The version's environment (above) says where it came from; the run's own tags only when it has some.
    if (Object.keys(r.environment).length) lines.push(`  environment ${record(r.environment)}`);
  } else lines.push(`-> run ${gapLine('run', t) ?? '(missing)'}`);

  const missingDatasets = t.gaps.filter((g) => g.link === 'dataset_version' && g.ref !== null);
  if (t.datasets.length === 0 && missingDatasets.length === 0)
    lines.push(`-> datasets ${gapLine('dataset_version', t) ?? '(none)'}`);
  for (const d of t.datasets) {
    lines.push(`-> dataset ${d.ref} ${short(d.digest)} (${qualityLine(d)})`);
    lines.push(`  source      ${d.source ?? '-'}`);
    lines.push(
      `  rows        ${d.rowCount ?? '-'}${d.pii ? ' (personal data)' : ''}; added ${d.createdAt} by ${d.createdBy}`,
    );
    for (const f of d.files) lines.push(`  file        ${f.path} ${short(f.sha256)} ${f.size} bytes`);
    for (const q of d.quality ?? [])
      lines.push(
        `  suite       ${q.suite}: ${q.total - q.failed}/${q.total} passed${q.passed ? '' : ' (FAILED)'} at ${q.at}`,
      );
    const upstream = [...d.upstream].sort((a, b) => a.depth - b.depth || a.ref.localeCompare(b.ref));
    for (const n of upstream) lines.push(`  ${'  '.repeat(n.depth - 1)}<- ${n.label}`);
  }
  for (const g of missingDatasets) lines.push(`-> dataset ${g.ref} (missing: ${g.reason})`);

  const notes = t.gaps.filter(
    (g) => g.link === 'deployment' || g.link === 'quality' || g.link === 'upstream',
  );
  for (const g of notes) lines.push(`note: ${g.link} ${g.ref ?? ''}: ${g.reason}`);
  return lines.join('\n');
}
