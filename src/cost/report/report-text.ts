import type { CostReport } from '../attribution/cost-report.schema.js';

const money = (n: number) => n.toFixed(2);
const pct = (n: number) => `${(n * 100).toFixed(1)}%`;

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

/** The report as a text table: one row per group, the total, and the comparison when asked for. */
export function renderCostReportText(full: CostReport, o: { limit?: number } = {}): string {
  const r = limited(full, o.limit);
  const out: string[] = [
    `cost by ${r.by}, ${r.from} to ${r.to} (${r.currency}, price book ${r.priceBookVersion === null ? 'none set' : `v${r.priceBookVersion}`})`,
    '',
  ];
  const perK = r.groups.some((g) => g.predictions !== undefined);
  out.push(
    ...table(
      [
        r.by,
        'amount',
        'allocated',
        'idle',
        'share',
        'cpu h',
        'gpu h',
        'records',
        ...(perK ? ['predictions', 'per 1k'] : []),
      ],
      [
        ...r.groups.map((g) => [
          g.key,
          money(g.amount),
          money(g.allocated),
          money(g.idle),
          pct(g.share),
          g.cpuHours.toFixed(2),
          g.gpuHours.toFixed(2),
          String(g.usageRows),
          ...(perK
            ? [String(g.predictions ?? ''), g.per1kPredictions == null ? '' : g.per1kPredictions.toFixed(4)]
            : []),
        ]),
        ...(r.omitted
          ? [
              [
                `(${r.omitted.groups} more)`,
                money(r.omitted.amount),
                '',
                '',
                pct(r.total ? r.omitted.amount / r.total : 0),
              ],
            ]
          : []),
        [
          'total',
          money(r.total),
          money(r.allocated),
          money(r.idle),
          r.total ? '100.0%' : '',
          '',
          '',
          String(r.usageRows),
        ],
      ],
    ),
  );
  if (r.unpriced.length) out.push('', `unpriced (no price in force, counted 0): ${r.unpriced.join(', ')}`);
  if (r.compare) {
    const c = r.compare;
    out.push(
      '',
      `compared with ${c.from} to ${c.to}: ${money(c.total)} -> ${money(r.total)} (${c.delta >= 0 ? '+' : ''}${money(c.delta)}${c.ratio === null ? '' : `, x${c.ratio.toFixed(2)}`})`,
      ...table(
        ['contributor', 'previous', 'current', 'delta', 'of change'],
        c.contributors.map((k) => [
          k.key,
          money(k.previous),
          money(k.current),
          `${k.delta >= 0 ? '+' : ''}${money(k.delta)}`,
          k.shareOfChange === null ? '' : pct(k.shareOfChange),
        ]),
      ),
      ...(c.omittedContributors ? [`(${c.omittedContributors} more)`] : []),
    );
  }
  if (r.causes) out.push('', ...renderCauses(r));
  return out.join('\n');
}

/** The ranked causes of the change: amount, share of the change and a one-line reason each. */
function renderCauses(r: CostReport): string[] {
  const causes = r.causes ?? [];
  if (causes.length === 0) return ['causes of the change: none (no entity changed)'];
  // Numbers right-aligned in columns; what the cause is and why, left-aligned after them.
  const rows = table(
    ['#', 'previous', 'current', 'change', 'of change', ''],
    causes.map((k, i) => [
      String(i + 1),
      money(k.previous),
      money(k.current),
      `${k.delta >= 0 ? '+' : ''}${money(k.delta)}`,
      k.shareOfChange === null ? '' : pct(k.shareOfChange),
      '',
    ]),
  );
  return [
    'causes of the change, ranked:',
    `${rows[0]}  cause: why`,
    ...causes.map((k, i) => `${rows[i + 1]}  ${k.label}: ${k.reason}`),
    ...(r.omittedCauses ? [`(${r.omittedCauses} more)`] : []),
  ];
}

/** The report cut to its top `limit` groups (already ranked), the rest summed on one line. */
function limited(r: CostReport, limit: number | undefined): CostReport {
  if (limit === undefined || r.groups.length <= limit) return r;
  const rest = r.groups.slice(limit);
  const amount = rest.reduce((s, g) => s + Math.round(g.amount * 100), 0) / 100;
  return {
    ...r,
    groups: r.groups.slice(0, limit),
    omitted: {
      groups: rest.length + (r.omitted?.groups ?? 0),
      amount: Math.round((amount + (r.omitted?.amount ?? 0)) * 100) / 100,
    },
  };
}
