/*
 * Small inline SVG charts for the monitoring report: no script, no style sheet, no font, no network.
 * Every piece of text that reaches the markup goes through escapeXml (feature names are user data).
 */

/** Escapes text for HTML and SVG content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const REFERENCE = '#8a94a6';
const CURRENT = '#d9534f';
const fmt = (x: number) => String(Number(x.toPrecision(4)));

function shares(xs: readonly number[]): number[] {
  const total = xs.reduce((a, b) => a + Math.max(0, b), 0);
  return xs.map((x) => (total > 0 ? Math.max(0, x) / total : 0));
}

/** Reference vs current share per bin, side by side (each side normalised to 1). */
export function histogramSvg(h: {
  bins: readonly string[];
  reference: readonly number[];
  current: readonly number[];
}): string {
  const W = 420;
  const H = 170;
  const pad = { l: 36, r: 8, t: 18, b: 34 };
  const ref = shares(h.reference);
  const cur = shares(h.current);
  const top = Math.max(0.0001, ...ref, ...cur);
  const n = Math.max(1, h.bins.length);
  const slot = (W - pad.l - pad.r) / n;
  const bar = Math.max(1, slot / 2 - 1);
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / top);
  const parts: string[] = [];
  h.bins.forEach((bin, i) => {
    const x = pad.l + i * slot;
    const label = escapeXml(bin);
    parts.push(
      `<rect x="${fmt(x)}" y="${fmt(y(ref[i]!))}" width="${fmt(bar)}" height="${fmt(H - pad.b - y(ref[i]!))}" fill="${REFERENCE}"><title>${label}: reference ${fmt(ref[i]!)}</title></rect>`,
      `<rect x="${fmt(x + bar + 1)}" y="${fmt(y(cur[i]!))}" width="${fmt(bar)}" height="${fmt(H - pad.b - y(cur[i]!))}" fill="${CURRENT}"><title>${label}: current ${fmt(cur[i]!)}</title></rect>`,
    );
    if (n <= 12) {
      parts.push(
        `<text x="${fmt(x + slot / 2)}" y="${H - pad.b + 12}" font-size="9" text-anchor="middle">${escapeXml(bin.length > 10 ? `${bin.slice(0, 9)}…` : bin)}</text>`,
      );
    }
  });
  return svg(W, H, [
    axes(W, H, pad, fmt(top), '0'),
    ...parts,
    legend(pad.l, 11, [
      ['reference', REFERENCE],
      ['current', CURRENT],
    ]),
  ]);
}

export interface LineSeries {
  name: string;
  colour: string;
  values: readonly (number | null)[];
  /** A band drawn under the line (lower, upper per point); gaps where either is null. */
  band?: { lower: readonly (number | null)[]; upper: readonly (number | null)[] };
  dashed?: boolean;
}

/** Lines over windows (x: window order, labelled first and last), with optional bands and a threshold. */
export function lineChartSvg(input: {
  labels: readonly string[];
  series: readonly LineSeries[];
  threshold?: number | undefined;
}): string {
  const W = 560;
  const H = 190;
  const pad = { l: 40, r: 10, t: 18, b: 30 };
  const all = input.series.flatMap((s) => [
    ...s.values,
    ...(s.band ? [...s.band.lower, ...s.band.upper] : []),
  ]);
  const nums = [...all, input.threshold ?? null].filter((v): v is number => v !== null && Number.isFinite(v));
  let lo = Math.min(0, ...nums);
  let hi = Math.max(...nums, lo + 1e-9);
  if (hi - lo < 1e-9) hi = lo + 1;
  const span = hi - lo;
  lo -= span * 0.05;
  hi += span * 0.05;
  const n = input.labels.length;
  const x = (i: number) => pad.l + (n <= 1 ? (W - pad.l - pad.r) / 2 : (i * (W - pad.l - pad.r)) / (n - 1));
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - (v - lo) / (hi - lo));
  const parts: string[] = [axes(W, H, pad, fmt(hi), fmt(lo))];
  if (input.threshold !== undefined) {
    parts.push(
      `<line x1="${pad.l}" x2="${W - pad.r}" y1="${fmt(y(input.threshold))}" y2="${fmt(y(input.threshold))}" stroke="#f0ad4e" stroke-dasharray="4 3"><title>threshold ${fmt(input.threshold)}</title></line>`,
    );
  }
  for (const s of input.series) {
    if (s.band) {
      const pts: string[] = [];
      const back: string[] = [];
      s.band.upper.forEach((u, i) => {
        const l = s.band!.lower[i];
        if (u === null || l === null || l === undefined) return;
        pts.push(`${fmt(x(i))},${fmt(y(u))}`);
        back.unshift(`${fmt(x(i))},${fmt(y(l))}`);
      });
      if (pts.length > 0)
        parts.push(
          `<polygon points="${[...pts, ...back].join(' ')}" fill="${s.colour}" fill-opacity="0.15" stroke="none"/>`,
        );
    }
    // A null breaks the line: no number is better than a wrong one.
    let run: string[] = [];
    const flush = () => {
      if (run.length > 1)
        parts.push(
          `<polyline points="${run.join(' ')}" fill="none" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
        );
      run = [];
    };
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) {
        flush();
        return;
      }
      run.push(`${fmt(x(i))},${fmt(y(v))}`);
      parts.push(
        `<circle cx="${fmt(x(i))}" cy="${fmt(y(v))}" r="2.5" fill="${s.colour}"><title>${escapeXml(`${s.name} ${input.labels[i] ?? ''}: ${fmt(v)}`)}</title></circle>`,
      );
    });
    flush();
  }
  if (n > 0) {
    parts.push(`<text x="${pad.l}" y="${H - 8}" font-size="9">${escapeXml(input.labels[0]!)}</text>`);
    if (n > 1)
      parts.push(
        `<text x="${W - pad.r}" y="${H - 8}" font-size="9" text-anchor="end">${escapeXml(input.labels[n - 1]!)}</text>`,
      );
  }
  parts.push(
    legend(
      pad.l,
      11,
      input.series.map((s) => [s.name, s.colour] as const),
    ),
  );
  return svg(W, H, parts);
}

/** Horizontal bars per group (fairness), with an optional reference line (e.g. 0.8 for DI). */
export function barsSvg(input: {
  rows: readonly { label: string; value: number | null; flagged: boolean }[];
  reference?: number | undefined;
}): string {
  const W = 460;
  const rowH = 20;
  const pad = { l: 140, r: 50, t: 8, b: 8 };
  const H = pad.t + pad.b + rowH * Math.max(1, input.rows.length);
  const nums = input.rows.map((r) => r.value).filter((v): v is number => v !== null && Number.isFinite(v));
  const hi = Math.max(1e-9, ...nums.map(Math.abs), Math.abs(input.reference ?? 0));
  const x = (v: number) => pad.l + ((W - pad.l - pad.r) * Math.abs(v)) / hi;
  const parts: string[] = [];
  input.rows.forEach((r, i) => {
    const yy = pad.t + i * rowH;
    const label = escapeXml(r.label.length > 22 ? `${r.label.slice(0, 21)}…` : r.label);
    parts.push(`<text x="${pad.l - 6}" y="${yy + 14}" font-size="11" text-anchor="end">${label}</text>`);
    if (r.value === null) {
      parts.push(`<text x="${pad.l + 4}" y="${yy + 14}" font-size="11" fill="#777">insufficient data</text>`);
    } else {
      parts.push(
        `<rect x="${pad.l}" y="${yy + 3}" width="${fmt(Math.max(1, x(r.value) - pad.l))}" height="${rowH - 6}" fill="${r.flagged ? CURRENT : REFERENCE}"/>`,
        `<text x="${fmt(x(r.value) + 4)}" y="${yy + 14}" font-size="11">${fmt(r.value)}</text>`,
      );
    }
  });
  if (input.reference !== undefined) {
    parts.push(
      `<line x1="${fmt(x(input.reference))}" x2="${fmt(x(input.reference))}" y1="${pad.t}" y2="${H - pad.b}" stroke="#f0ad4e" stroke-dasharray="4 3"/>`,
    );
  }
  return svg(W, H, parts);
}

function svg(w: number, h: number, parts: readonly string[]): string {
  return `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" font-family="sans-serif">${parts.join('')}</svg>`;
}

function axes(
  W: number,
  H: number,
  pad: { l: number; r: number; t: number; b: number },
  top: string,
  bottom: string,
): string {
  return (
    `<line x1="${pad.l}" x2="${pad.l}" y1="${pad.t}" y2="${H - pad.b}" stroke="#bbb"/>` +
    `<line x1="${pad.l}" x2="${W - pad.r}" y1="${H - pad.b}" y2="${H - pad.b}" stroke="#bbb"/>` +
    `<text x="${pad.l - 4}" y="${pad.t + 8}" font-size="9" text-anchor="end">${top}</text>` +
    `<text x="${pad.l - 4}" y="${H - pad.b}" font-size="9" text-anchor="end">${bottom}</text>`
  );
}

function legend(x0: number, y: number, items: readonly (readonly [string, string])[]): string {
  let x = x0;
  return items
    .map(([name, colour]) => {
      const s = `<rect x="${x}" y="${y - 8}" width="10" height="8" fill="${colour}"/><text x="${x + 13}" y="${y}" font-size="10">${escapeXml(name)}</text>`;
      x += 20 + name.length * 6;
      return s;
    })
    .join('');
}
