import type { ReportData } from './report-data.js';
import { barsSvg, escapeXml as e, histogramSvg, lineChartSvg } from './svg-charts.js';

/*
 * The monitoring report as one self-contained HTML file: inline CSS and inline SVG only, no script,
 * no external style sheet, font or image, nothing fetched when it opens. A pure function of its data:
 * user text (feature names, slices, rule names) is escaped wherever it lands.
 */

const CSS = `body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
h3{font-size:14px;margin:14px 0 4px}.meta{color:#666;font-size:13px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
.ok{color:#2e7d32}.warning{color:#b26a00}.alert,.firing,.critical{color:#c62828;font-weight:600}
.insufficient_data,.resolved{color:#777}.grid{display:flex;flex-wrap:wrap;gap:18px}.empty{color:#777}`;

const num = (v: number | null) => (v === null ? '–' : String(Number(v.toPrecision(4))));
const status = (s: string) => `<span class="${e(s)}">${e(s.replace('_', ' '))}</span>`;
const short = (iso: string) => iso.replace('T', ' ').replace(/:\d\d\.\d{3}Z$/, 'Z');

function features(d: ReportData): string {
  if (d.features.length === 0) return '<p class="empty">No drift measured in this period.</p>';
  return `<div class="grid">${d.features
    .map((f) => {
      const head = `<h3>${e(f.name)} ${f.drift ? `— ${e(f.drift.metric)} ${num(f.drift.value)} ${status(f.drift.status)}` : ''}</h3>`;
      const hist = f.histogram
        ? histogramSvg(f.histogram)
        : '<p class="empty">No histogram stored for this feature.</p>';
      const over =
        f.over.length > 1
          ? lineChartSvg({
              labels: f.over.map((p) => short(p.at)),
              series: [
                { name: f.drift?.metric ?? 'drift', colour: '#d9534f', values: f.over.map((p) => p.value) },
              ],
            })
          : '';
      return `<section>${head}${hist}${over}</section>`;
    })
    .join('')}</div>`;
}

function performance(d: ReportData): string {
  const p = d.performance;
  if (!p || p.rows.length === 0)
    return '<p class="empty">No performance measured or estimated in this period.</p>';
  const chart = lineChartSvg({
    labels: p.rows.map((r) => short(r.at)),
    series: [
      { name: `${p.metric} (labels)`, colour: '#1f6feb', values: p.rows.map((r) => r.realised) },
      {
        name: `${p.metric} (estimated)`,
        colour: '#8250df',
        dashed: true,
        values: p.rows.map((r) => r.estimate),
        band: { lower: p.rows.map((r) => r.lower), upper: p.rows.map((r) => r.upper) },
      },
      { name: 'label coverage', colour: '#8a94a6', values: p.rows.map((r) => r.labelCoverage) },
    ],
  });
  const rows = p.rows
    .map(
      (r) =>
        `<tr><td>${e(short(r.at))}</td><td>${num(r.realised)}</td><td>${num(r.labelCoverage)}</td><td>${num(r.estimate)}</td><td>${r.lower === null || r.upper === null ? '–' : `${num(r.lower)} – ${num(r.upper)}`}</td></tr>`,
    )
    .join('');
  return `${chart}<table><tr><th>window end</th><th>${e(p.metric)} (labels)</th><th>label coverage</th><th>estimate</th><th>band</th></tr>${rows}</table>`;
}

function fairness(d: ReportData): string {
  if (d.fairness.length === 0) return '<p class="empty">No fairness measured in this period.</p>';
  return d.fairness
    .map((f) => {
      const di = f.metric === 'fairness.di';
      return `<h3>${e(f.metric)}</h3>${barsSvg({
        rows: f.groups.map((g) => ({
          label: g.size === null ? g.slice : `${g.slice} (n=${g.size})`,
          value: g.value,
          flagged: g.status === 'alert' || g.status === 'warning',
        })),
        reference: di ? 0.8 : undefined,
      })}`;
    })
    .join('');
}

function alerts(d: ReportData): string {
  if (d.alerts.length === 0) return '<p class="empty">No alerts in this period.</p>';
  const rows = d.alerts
    .map(
      (a) =>
        `<tr><td>${e(short(a.firedAt))}</td><td>${status(a.state)}</td><td>${status(a.severity)}</td><td>${e(a.rule)}</td><td>${e(a.metric)}${a.feature === null ? '' : ` / ${e(a.feature)}`}${a.slice === null ? '' : ` / ${e(a.slice)}`}</td><td>${num(a.value)} (${e(a.condition)})</td><td>${e(a.action)}${a.actionOutcome ? `: ${e(a.actionOutcome.message)}` : ''}</td><td>${a.resolvedAt ? e(short(a.resolvedAt)) : '–'}</td></tr>`,
    )
    .join('');
  return `<table><tr><th>fired</th><th>state</th><th>severity</th><th>rule</th><th>metric</th><th>value</th><th>action</th><th>resolved</th></tr>${rows}</table>`;
}

/** Renders the report: `fs.writeFileSync('out.html', renderReportHtml(data))` opens offline in any browser. */
export function renderReportHtml(d: ReportData): string {
  const period = `${d.from ? e(short(d.from)) : 'the beginning'} to ${d.to ? e(short(d.to)) : 'now'}`;
  // Both shares on one time axis: against the reference (skew) and against the previous window (drift).
  const at = [...new Set([...d.skewShare, ...d.driftShare].map((p) => p.at))].sort();
  const on = (series: ReportData['driftShare']) =>
    at.map((t) => series.find((p) => p.at === t)?.value ?? null);
  const lines = [
    {
      name: 'share drifted vs reference',
      colour: '#8250df',
      values: on(d.skewShare),
      used: d.skewShare.length > 0,
    },
    {
      name: 'share drifted vs previous window',
      colour: '#d9534f',
      values: on(d.driftShare),
      used: d.driftShare.length > 0,
    },
  ].filter((l) => l.used);
  const drift =
    lines.length > 0
      ? lineChartSvg({ labels: at.map(short), series: lines.map(({ used: _used, ...l }) => l) })
      : '<p class="empty">No drift share measured in this period.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Monitoring report — ${e(d.deployment)}</title><style>${CSS}</style></head>
<body>
<h1>Monitoring report — ${e(d.deployment)}</h1>
<p class="meta">Model ${e(d.model)} · ${d.windows} window(s) from ${period} · generated ${e(short(d.generatedAt))}</p>
<h2>Alerts</h2>${alerts(d)}
<h2>Drift over time</h2>${drift}
<h2>Features: reference vs current</h2>${features(d)}
<h2>Performance</h2>${performance(d)}
<h2>Fairness</h2>${fairness(d)}
</body></html>
`;
}
