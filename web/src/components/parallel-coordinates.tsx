import { num } from '../format';

export interface Axis {
  name: string;
  /** One value per line (NaN where a line has none). */
  values: number[];
}

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

/** Params vs a metric: one vertical axis per dimension, one polyline per run. */
export function ParallelCoordinates({ axes, lines }: { axes: Axis[]; lines: string[] }) {
  const w = Math.max(360, axes.length * 150);
  const h = 260;
  const top = 24;
  const bottom = h - 24;
  const x = (i: number) => 50 + (i * (w - 100)) / Math.max(1, axes.length - 1);
  const scales = axes.map((a) => {
    const finite = a.values.filter(Number.isFinite);
    const lo = Math.min(...finite);
    const hi = Math.max(...finite);
    return {
      lo,
      hi,
      y: (v: number) => (hi === lo ? (top + bottom) / 2 : bottom - ((v - lo) / (hi - lo)) * (bottom - top)),
    };
  });
  return (
    <svg
      className="parallel"
      width={w}
      height={h}
      role="img"
      aria-label="parallel coordinates of params and metric"
    >
      {axes.map((a, i) => (
        <g key={a.name}>
          <line x1={x(i)} x2={x(i)} y1={top} y2={bottom} className="axis" />
          <text x={x(i)} y={14} textAnchor="middle" className="axis-label">
            {a.name}
          </text>
          <text x={x(i) + 4} y={top + 4} className="tick">
            {num(scales[i]!.hi)}
          </text>
          <text x={x(i) + 4} y={bottom} className="tick">
            {num(scales[i]!.lo)}
          </text>
        </g>
      ))}
      {lines.map((label, li) => (
        <polyline
          key={label}
          fill="none"
          stroke={PALETTE[li % PALETTE.length]}
          strokeWidth={1.5}
          points={axes
            .map((a, i) => (Number.isFinite(a.values[li]) ? `${x(i)},${scales[i]!.y(a.values[li]!)}` : ''))
            .filter(Boolean)
            .join(' ')}
        >
          <title>{label}</title>
        </polyline>
      ))}
    </svg>
  );
}
