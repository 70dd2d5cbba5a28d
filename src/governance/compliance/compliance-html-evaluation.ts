import { FOUR_FIFTHS } from './compliance-evaluation.js';
import { code, dash, e, empty, num, table, text } from './compliance-html-parts.js';
import type { OfflineEvaluation, OfflineFairnessGroup } from './compliance-report.schema.js';

/*
 * Section 4's offline part as HTML: where the rows came from (dataset digest, split seed and
 * fraction, or the holdout), the metrics per slice value, and Clarify's bias metrics per group with
 * the four-fifths verdict on DI spelled out, since that is the line an auditor looks for.
 */

/** The metrics shown per slice, by what the model predicts (every metric stays in the JSON). */
function sliceColumns(off: OfflineEvaluation): [string, string][] {
  if (off.task === 'regression')
    return [
      ['mae', 'MAE'],
      ['rmse', 'RMSE'],
      ['r2', 'R²'],
    ];
  if ('f1_macro' in off.metrics)
    return [
      ['accuracy', 'Accuracy'],
      ['f1_macro', 'F1 (macro)'],
      ['log_loss', 'Log loss'],
    ];
  return [
    ['accuracy', 'Accuracy'],
    ['roc_auc', 'ROC AUC'],
    ['f1', 'F1'],
    ['log_loss', 'Log loss'],
  ];
}

const FAIRNESS_COLUMNS: [string, string][] = [
  ['DPPL', 'DPPL'],
  ['AD', 'AD (accuracy)'],
  ['RD', 'RD (recall)'],
  ['CI', 'CI (labels)'],
  ['DPL', 'DPL (labels)'],
];

function fairnessCell(m: OfflineFairnessGroup['metrics'][string] | undefined): string {
  if (!m) return dash;
  if (m.value === null)
    return `<span class="${e(m.status)}" title="${e(m.reason ?? '')}">${e(m.status.replace(/_/g, ' '))}</span>`;
  return num(m.value);
}

function diCell(m: OfflineFairnessGroup['metrics'][string] | undefined): string {
  if (!m || m.value === null) return fairnessCell(m);
  return `${num(m.value)} ${
    m.fourFifths
      ? `<span class="alert">below four-fifths (${FOUR_FIFTHS})</span>`
      : `<span class="ok">meets four-fifths (${FOUR_FIFTHS})</span>`
  }`;
}

function dataLine(off: OfflineEvaluation, model: string): string {
  const d = off.data!;
  const where =
    d.kind === 'validation_split'
      ? `the training run's validation split of <code>${e(d.ref)}</code> (digest ${code(d.digest)}), recomputed from its recorded split_seed ${e(d.splitSeed)} and val_fraction ${e(d.valFraction)}`
      : `the holdout <code>${e(d.ref)}</code> (digest ${code(d.digest)})`;
  const from =
    off.attributesFrom === 'card'
      ? " (the model card's protected_attributes)"
      : off.attributesFrom === 'option'
        ? ' (asked for with --slices)'
        : '';
  return `<p class="meta">${e(model)} scored on ${where}: ${e(d.rows)} rows, target ${text(off.target)}, ${text(off.task)}. Slice attributes: ${off.attributes.length ? e(off.attributes.join(', ')) : dash}${from}. The numbers are computed as <code>sextant evaluate --slice &lt;attribute&gt;</code> computes them, on these rows.</p>`;
}

/** The offline evaluation per slice and fairness per group, or the words for why there is none. */
export function offlineEvaluationHtml(off: OfflineEvaluation, model: string): string {
  if (off.status === 'not_evaluated')
    return `<h3>Evaluation per slice (offline)</h3>${empty(off.note ?? 'Not evaluated.')}<h3>Fairness per group (offline)</h3>${empty('Not measured: the version was not evaluated.')}`;
  const cols = sliceColumns(off);
  const overall = table(
    ['Rows', ...cols.map(([, t]) => t)],
    [[e(off.data!.rows), ...cols.map(([k]) => num(off.metrics[k]))]],
  );
  const slices = off.slices.length
    ? table(
        ['Attribute', 'Value', 'Rows', ...cols.map(([, t]) => t)],
        off.slices.map((s) => [
          e(s.attribute),
          e(s.value),
          e(s.rows),
          ...cols.map(([k]) => num(s.metrics[k])),
        ]),
      )
    : empty(off.note ?? 'No slice attributes were given.');
  const fairness = off.fairness.length
    ? table(
        [
          'Attribute',
          'Group',
          'Rows (rest)',
          'Positive rate',
          'Predicted positive rate',
          'DI (disparate impact)',
          ...FAIRNESS_COLUMNS.map(([, t]) => t),
        ],
        off.fairness.map((g) => [
          e(g.attribute),
          e(g.value),
          `${e(g.size)} (${e(g.restSize)})`,
          num(g.positiveRate),
          num(g.predictedPositiveRate),
          diCell(g.metrics.DI),
          ...FAIRNESS_COLUMNS.map(([k]) => fairnessCell(g.metrics[k])),
        ]),
      )
    : '';
  const notes = off.fairnessNotes.map((n) => empty(`${n.attribute}: ${n.note}`)).join('');
  const fairnessBody =
    fairness || notes
      ? `${fairness}${notes}<p class="meta">Each group against the rest of the rows (SageMaker Clarify's definitions), on the predicted outcome ${code(`${off.target ?? 'target'} = ${off.positiveClass ?? '?'}`)}. DI is the group's predicted positive rate over the rest's, below ${FOUR_FIFTHS} fails the four-fifths rule; DPPL, AD and RD are the rest's minus the group's predicted positive rate, accuracy and recall; CI and DPL describe the labels themselves.</p>`
      : empty(off.note ?? 'No protected attributes were given.');
  return `<h3>Evaluation per slice (offline, evaluated when this report was made)</h3>${dataLine(off, model)}
<p><b>All rows</b></p>${overall}<p><b>Per slice</b></p>${slices}
<h3>Fairness per group (offline, the same rows)</h3>${fairnessBody}`;
}
