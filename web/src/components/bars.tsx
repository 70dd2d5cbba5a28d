import type { Histogram } from '../../../src/data/tables/table.schema.js';
import { num } from '../format';

/** A column's histogram as SVG bars, with the bin edges in each bar's tooltip. */
export function HistogramChart({ histogram, label }: { histogram: Histogram; label: string }) {
  const max = Math.max(1, ...histogram.counts);
  const w = 240;
  const h = 60;
  const bw = w / Math.max(1, histogram.counts.length);
  return (
    <svg className="histogram" width={w} height={h} role="img" aria-label={`histogram of ${label}`}>
      {histogram.counts.map((c, i) => {
        const bh = (c / max) * (h - 2);
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: bins are positional
          <rect key={i} x={i * bw + 0.5} y={h - bh} width={Math.max(1, bw - 1)} height={bh}>
            <title>{`[${num(histogram.edges[i])}, ${num(histogram.edges[i + 1])}): ${c}`}</title>
          </rect>
        );
      })}
    </svg>
  );
}

/** Signed horizontal bars (feature attributions): positive to the right, negative to the left. */
export function SignedBars({ values, title }: { values: [string, number][]; title: string }) {
  const max = Math.max(1e-12, ...values.map(([, v]) => Math.abs(v)));
  const rowH = 22;
  const labelW = 160;
  const half = 170;
  const width = labelW + 2 * half + 70;
  return (
    <svg
      className="signed-bars"
      width={width}
      height={values.length * rowH + 8}
      role="img"
      aria-label={title}
      data-testid="explanation-chart"
    >
      <line x1={labelW + half} x2={labelW + half} y1={0} y2={values.length * rowH + 8} className="axis" />
      {values.map(([name, v], i) => {
        const len = (Math.abs(v) / max) * half;
        const y = i * rowH + 4;
        return (
          <g key={name}>
            <text x={labelW - 6} y={y + 14} textAnchor="end">
              {name.length > 22 ? `${name.slice(0, 21)}…` : name}
            </text>
            <rect
              className={v >= 0 ? 'pos' : 'neg'}
              x={v >= 0 ? labelW + half : labelW + half - len}
              y={y + 2}
              width={Math.max(1, len)}
              height={rowH - 6}
            />
            <text x={labelW + 2 * half + 6} y={y + 14}>
              {v >= 0 ? '+' : ''}
              {num(v)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
