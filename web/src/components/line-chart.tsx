import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  xs: number[];
  ys: number[];
}

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

/** Aligns series with different x values on one sorted x axis (gaps where a series has no point). */
function align(series: Series[]): uPlot.AlignedData {
  if (series.length === 1) return [series[0]!.xs, series[0]!.ys];
  const xs = [...new Set(series.flatMap((s) => s.xs))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const columns = series.map((s) => {
    const col: (number | null)[] = new Array(xs.length).fill(null);
    s.xs.forEach((x, i) => {
      col[at.get(x)!] = s.ys[i] ?? null;
    });
    return col;
  });
  return [xs, ...columns] as uPlot.AlignedData;
}

/** Lines over steps (uPlot: canvas, draws 100k points in a few ms). */
export function LineChart({
  title,
  series,
  xLabel = 'step',
  height = 220,
}: {
  title: string;
  series: Series[];
  xLabel?: string;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const started = performance.now();
    let drawn = false;
    const plot = new uPlot(
      {
        title,
        // The first draw's duration, for bench/web (uPlot may draw after the constructor returns).
        hooks: {
          draw: [
            () => {
              if (drawn) return;
              drawn = true;
              el.dataset.drawMs = (performance.now() - started).toFixed(1);
            },
          ],
        },
        width: Math.max(el.clientWidth, 300),
        height,
        scales: { x: { time: false } },
        axes: [{ label: xLabel }, {}],
        series: [
          { label: xLabel },
          ...series.map((s, i) => ({
            label: s.label,
            stroke: PALETTE[i % PALETTE.length],
            width: 1.5,
            spanGaps: true,
            points: { show: s.xs.length < 60 },
          })),
        ],
      },
      align(series),
      el,
    );
    el.dataset.points = String(series.reduce((n, s) => n + s.xs.length, 0));
    const onResize = () => plot.setSize({ width: Math.max(el.clientWidth, 300), height });
    window.addEventListener('resize', onResize);
    return () => {
      window.removeEventListener('resize', onResize);
      plot.destroy();
    };
  }, [title, series, xLabel, height]);
  return <div className="chart" ref={box} data-testid="line-chart" role="img" aria-label={title} />;
}
