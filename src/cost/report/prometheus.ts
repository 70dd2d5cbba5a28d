import type { CostReport } from '../attribution/cost-report.schema.js';

/** Series per gauge: the largest contributors keep their label, the rest sum into '(other)'. */
export const MAX_COST_SERIES = 20;

const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * Prometheus text exposition of this period's cost, one gauge per grouping. Label values are bounded
 * (MAX_COST_SERIES per gauge) so a workspace with 100,000 experiments cannot explode a TSDB.
 */
export function costGaugesText(reports: { name: string; help: string; report: CostReport }[]): string {
  const out: string[] = [];
  for (const { name, help, report } of reports) {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    const dim = report.by.startsWith('tag:') ? 'tag' : report.by;
    const top = report.groups.slice(0, MAX_COST_SERIES);
    const rest = report.groups.slice(MAX_COST_SERIES);
    for (const g of top)
      out.push(`${name}{${dim}="${label(g.key)}",currency="${report.currency}"} ${g.amount}`);
    if (rest.length) {
      const cents = rest.reduce((s, g) => s + Math.round(g.amount * 100), 0);
      out.push(`${name}{${dim}="(other)",currency="${report.currency}"} ${cents / 100}`);
    }
  }
  return `${out.join('\n')}\n`;
}
