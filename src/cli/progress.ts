import { formatProgress } from '../data/index.js';
import type { CliContext } from './context.js';

/**
 * One progress line on stderr, redrawn in place, for work that takes more than a second: bytes
 * hashed or fetched, trees grown. Drawn only on a terminal and never with --json, so pipes, logs and
 * scripts stay clean.
 */
export interface ProgressLine {
  /** Bytes: `hashing  [####------]  40%  400 MiB / 1.0 GiB  230 MiB/s`. */
  bytes(phase: string, done: number, total: number): void;
  /** Units of work: `training [####------]  40%  80/200 trees  val auc 0.8123`. */
  count(phase: string, done: number, total: number, unit: string, note?: string): void;
  /** A share of the work: `profiling [####------]  40%  ~120,000 rows`. */
  share(phase: string, fraction: number, note?: string): void;
  /** Work of unknown size so far: `exporting  12,000 rows  3.4 MiB  2s`. */
  tally(phase: string, note: string): void;
  /**
   * A step with no measure of its own (a page rendering, one server call): `rendering  |  report.pdf  3s`,
   * redrawn every quarter second until the next call or end().
   */
  step(phase: string, note: string): void;
  /** Ends the line (a newline if anything was drawn) and stops a step's redraw. */
  end(): void;
}

const WIDTH = 20;
const SPIN = ['|', '/', '-', '\\'];
const seconds = (ms: number) => `${Math.floor(ms / 1000)}s`;

function bar(phase: string, fraction: number, tail: string): string {
  const frac = Math.max(0, Math.min(1, fraction));
  const filled = Math.round(frac * WIDTH);
  return `${phase.padEnd(9)} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(Math.round(frac * 100)).padStart(3)}%${tail ? `  ${tail}` : ''}`;
}

export function progressLine(c: CliContext): ProgressLine {
  const o = c.output;
  const start = Date.now();
  const enabled = !c.json && Boolean(o.interactive) && o.progress !== undefined;
  const after = o.progressAfterMs ?? 1000;
  let last = 0;
  let shown = false;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  // A state skipped to keep redraws at ten a second, drawn by end() so the line ends on the last one.
  let pending: ((elapsedMs: number) => string) | undefined;
  const draw = (done: number, total: number, render: (elapsedMs: number) => string) => {
    const now = Date.now();
    if (!enabled || now - start < after) return;
    if (now - last < 100 && done < total) {
      pending = render;
      return;
    }
    last = now;
    shown = true;
    pending = undefined;
    o.progress?.(render(now - start));
  };
  let frame = 0;
  const spin = (phase: string, note: string) =>
    draw(1, 1, (ms) => `${phase.padEnd(9)} ${SPIN[frame++ % SPIN.length]}  ${note}  ${seconds(ms)}`);
  return {
    bytes: (phase, done, total) => draw(done, total, (ms) => formatProgress(phase, done, total, ms)),
    count: (phase, done, total, unit, note) =>
      draw(done, total, () =>
        bar(phase, total > 0 ? done / total : 1, `${done}/${total} ${unit}${note ? `  ${note}` : ''}`),
      ),
    share: (phase, fraction, note) => draw(fraction, 1, () => bar(phase, fraction, note ?? '')),
    tally: (phase, note) => draw(0, 1, (ms) => `${phase.padEnd(9)} ${note}  ${seconds(ms)}`),
    step: (phase, note) => {
      stop();
      if (!enabled) return;
      spin(phase, note);
      timer = setInterval(() => spin(phase, note), 250);
      timer.unref();
    },
    end: () => {
      stop();
      if (pending) o.progress?.(pending(Date.now() - start));
      if (shown || pending) o.progress?.(null);
      pending = undefined;
    },
  };
}
