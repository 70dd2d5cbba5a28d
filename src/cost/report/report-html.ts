import type { CostReport } from '../attribution/cost-report.schema.js';

/*
 * One self-contained HTML page: no script, no stylesheet or font to fetch, charts as inline SVG, so
 * the file can be mailed or archived and opens the same anywhere.
 */

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const money = (n: number) => n.toFixed(2);
const COLORS = ['#3b6ea5', '#e0843a', '#4f9d69', '#c4504d', '#8a6bb1', '#8c6d46', '#d27bb5', '#7f7f7f'];

/** Horizontal bars, one per row, allocated and idle stacked. */
function bars(rows: { key: string; allocated: number; idle: number }[], currency: string): string {
  const shown = rows.slice(0, 20);
  const max = Math.max(1e-9, ...shown.map((r) => r.allocated + r.idle));
  const h = 22;
  const labelW = 220;
  const barW = 460;
  const body = shown
    .map((r, i) => {
      const y = i * h;
      const a = (r.allocated / max) * barW;
      const d = (r.idle / max) * barW;
      return (
        `<text x="${labelW - 6}" y="${y + 15}" text-anchor="end">${esc(r.key.slice(0, 32))}</text>` +
        `<rect x="${labelW}" y="${y + 3}" width="${a.toFixed(1)}" height="${h - 6}" fill="${COLORS[0]}"><title>allocated ${money(r.allocated)} ${currency}</title></rect>` +
        `<rect x="${(labelW + a).toFixed(1)}" y="${y + 3}" width="${d.toFixed(1)}" height="${h - 6}" fill="#c9c9c9"><title>idle ${money(r.idle)} ${currency}</title></rect>` +
        `<text x="${(labelW + a + d + 6).toFixed(1)}" y="${y + 15}">${money(r.allocated + r.idle)}</text>`
      );
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + barW + 90}" height="${shown.length * h + 4}" font-size="12" font-family="sans-serif">${body}</svg>`;
}

/** Diverging bars of the comparison's contributors: increases right, decreases left. */
function deltas(rows: { key: string; delta: number }[]): string {
  const shown = rows.slice(0, 15);
  const max = Math.max(1e-9, ...shown.map((r) => Math.abs(r.delta)));
  const h = 22;
  const labelW = 220;
  const half = 230;
  const mid = labelW + half;
  const body = shown
    .map((r, i) => {
      const y = i * h;
      const w = (Math.abs(r.delta) / max) * half;
      const x = r.delta >= 0 ? mid : mid - w;
      return (
        `<text x="${labelW - 6}" y="${y + 15}" text-anchor="end">${esc(r.key.slice(0, 32))}</text>` +
        `<rect x="${x.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${h - 6}" fill="${r.delta >= 0 ? COLORS[3] : COLORS[2]}"/>` +
        `<text x="${(r.delta >= 0 ? mid + w + 6 : mid + 6).toFixed(1)}" y="${y + 15}">${r.delta >= 0 ? '+' : ''}${money(r.delta)}</text>`
      );
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${mid + half + 90}" height="${shown.length * h + 4}" font-size="12" font-family="sans-serif"><line x1="${mid}" x2="${mid}" y1="0" y2="${shown.length * h}" stroke="#999"/>${body}</svg>`;
}

/** The report as one self-contained HTML page with inline SVG charts. */
export function renderCostReportHtml(r: CostReport): string {
  const rows = r.groups
    .map(
      (g) =>
        `<tr><td>${esc(g.key)}</td><td>${money(g.amount)}</td><td>${money(g.allocated)}</td><td>${money(g.idle)}</td><td>${(g.share * 100).toFixed(1)}%</td><td>${g.cpuHours.toFixed(2)}</td><td>${g.gpuHours.toFixed(2)}</td><td>${g.per1kPredictions == null ? '' : g.per1kPredictions.toFixed(4)}</td></tr>`,
    )
    .join('');
  const compare = r.compare
    ? `<h2>What changed</h2><p>${esc(r.compare.from)} to ${esc(r.compare.to)}: ${money(r.compare.total)} &rarr; ${money(r.total)} ${esc(r.currency)} (${r.compare.delta >= 0 ? '+' : ''}${money(r.compare.delta)}${r.compare.ratio === null ? '' : `, &times;${r.compare.ratio.toFixed(2)}`})</p>${deltas(r.compare.contributors)}` +
      `<table><tr><th>contributor</th><th>previous</th><th>current</th><th>delta</th><th>of change</th></tr>${r.compare.contributors
        .map(
          (c) =>
            `<tr><td>${esc(c.key)}</td><td>${money(c.previous)}</td><td>${money(c.current)}</td><td>${money(c.delta)}</td><td>${c.shareOfChange === null ? '' : `${(c.shareOfChange * 100).toFixed(1)}%`}</td></tr>`,
        )
        .join('')}</table>`
    : '';
  const causes = r.causes
    ? `<h2>Causes of the change, ranked</h2><table><tr><th>cause</th><th>previous</th><th>current</th><th>change</th><th>of change</th><th>why</th></tr>${r.causes
        .map(
          (c) =>
            `<tr><td>${esc(c.label)}</td><td>${money(c.previous)}</td><td>${money(c.current)}</td><td>${c.delta >= 0 ? '+' : ''}${money(c.delta)}</td><td>${c.shareOfChange === null ? '' : `${(c.shareOfChange * 100).toFixed(1)}%`}</td><td style="text-align:left">${esc(c.reason)}</td></tr>`,
        )
        .join('')}</table>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sextant cost by ${esc(r.by)}</title>
<style>body{font:14px sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}.total{font-size:20px}</style></head>
<body><h1>Cost by ${esc(r.by)}</h1>
<p>${esc(r.from)} to ${esc(r.to)} &middot; price book ${r.priceBookVersion === null ? 'none set' : `v${r.priceBookVersion}`}</p>
<p class="total">Total ${money(r.total)} ${esc(r.currency)} &middot; allocated ${money(r.allocated)} &middot; idle ${money(r.idle)}</p>
${r.unpriced.length ? `<p>Unpriced (counted 0): ${esc(r.unpriced.join(', '))}</p>` : ''}
${bars(r.groups, r.currency)}
<table><tr><th>${esc(r.by)}</th><th>amount</th><th>allocated</th><th>idle</th><th>share</th><th>cpu h</th><th>gpu h</th><th>per 1k predictions</th></tr>${rows}</table>
${compare}
${causes}
</body></html>
`;
}
