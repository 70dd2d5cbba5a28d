import type { ModelCiReport } from './ci-model.js';

/*
 * The Markdown of `sextant ci --report`: written for a pull-request comment (GitHub/GitLab render the
 * tables), so it leads with the verdict, then the evidence, then the commands to look everything up.
 */

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const fmt = (n: number | undefined) =>
  n === undefined ? '–' : Number.isFinite(n) ? Number(n.toPrecision(6)).toString() : String(n);
const signed = (n: number | undefined) => (n === undefined ? '–' : `${n > 0 ? '+' : ''}${fmt(n)}`);
const rows = (n: number | undefined) => (n === undefined ? '–' : n.toLocaleString('en-US'));
const STATUS = { pass: '✅ pass', fail: '❌ fail', no_data: '⚠️ no data' } as const;

/** The report of a model candidate as Markdown. */
export function modelReportMarkdown(r: ModelCiReport): string {
  const failed = r.check.gates.filter((g) => g.status !== 'pass').length;
  const vs = r.champion ? `vs ${r.alias} \`${r.champion.ref}\`` : `(no version holds \`${r.alias}\` yet)`;
  const out: string[] = [
    `## Sextant CI: \`${r.candidate.ref}\` ${vs}`,
    '',
    r.passed
      ? `**✅ Gates passed**: \`${r.candidate.ref}\` may be proposed for \`${r.alias}\`.`
      : `**❌ Blocked by policy**: ${failed} of ${r.check.gates.length} gate(s) for \`${r.alias}\` did not pass.`,
    '',
    `Holdout \`${r.holdout.ref}\` (digest \`${r.holdout.digest.slice(0, 12)}\`, ${rows(r.holdout.rows)} rows), ${r.task}, target \`${r.target}\`.`,
    '',
    '### Metrics on the holdout',
    '',
    `| Metric | Candidate \`@${r.candidate.version}\` | ${r.champion ? `${cell(r.alias)} \`@${r.champion.version}\`` : r.alias} | Δ |`,
    '|---|---:|---:|---:|',
    ...r.metrics.map(
      (m) =>
        `| ${m.metric} | ${fmt(m.candidate)} | ${fmt(m.champion)} | ${signed(m.delta)}${m.better === undefined ? '' : m.better ? ' ▲' : m.delta === 0 ? '' : ' ▼'} |`,
    ),
    '',
    '▲ better, ▼ worse than the champion (lower is better for log_loss, brier, mae, rmse, mape).',
    '',
    '### Training data',
    '',
    '| Side | Dataset version | Digest | Rows |',
    '|---|---|---|---:|',
  ];
  const data = [
    ...r.trainingData.candidate.map((d) => ['candidate', d] as const),
    ...r.trainingData.champion.map((d) => [r.alias, d] as const),
  ];
  if (data.length === 0) out.push('| – | no training dataset versions recorded | | |');
  for (const [side, d] of data)
    out.push(`| ${cell(side)} | \`${d.ref}\` | \`${d.digest.slice(0, 12)}\` | ${rows(d.rows)} |`);
  const same =
    r.champion &&
    r.trainingData.candidate.map((d) => d.digest).join() ===
      r.trainingData.champion.map((d) => d.digest).join();
  if (same) out.push('', 'Both were trained on the same data (identical digests).');
  out.push('', `### Policy gates for \`${r.alias}\` (policy: ${r.check.policySource})`, '');
  if (r.check.gates.length === 0) out.push('The policy has no gates.');
  else {
    out.push('| Gate | Result | Detail |', '|---|---|---|');
    for (const g of r.check.gates)
      out.push(`| \`${cell(g.gate)}\` | ${STATUS[g.status]} | ${cell(g.message)} |`);
  }
  out.push('', '### Look it up', '', `- candidate: \`sextant models show ${r.candidate.ref}\``);
  if (r.candidate.runId) out.push(`- its training run: \`sextant runs show ${r.candidate.runId}\``);
  if (r.champion) out.push(`- ${r.alias}: \`sextant models show ${r.champion.ref}\``);
  out.push(`- holdout: \`sextant data show ${r.holdout.ref}\``);
  if (r.passed) out.push(`- next: \`sextant models promote ${r.candidate.ref} --alias ${r.alias}\``);
  return `${out.join('\n')}\n`;
}
