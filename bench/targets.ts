import fs from 'node:fs';

/*
 * Issue 19's targets, gathered across benchmarks. A benchmark calls reportTarget() for each figure
 * that has a target; `npm run bench` (bench/index.ts) sets BENCH_TARGETS_FILE, runs each benchmark
 * in its own process and prints every figure beside its target at the end. Run alone, a benchmark
 * prints its own tables and reportTarget() writes nothing.
 */

export interface TargetFigure {
  /** The benchmark, e.g. 'serving'. */
  bench: string;
  /** What was measured, e.g. 'linear, batch of 32, durable vs bare'. */
  measure: string;
  /** The figure as printed, e.g. '0.83x' or '1.4 s'. */
  value: string;
  /** The target in words, e.g. '>= 0.8x'. */
  target: string;
  /** Whether the target was met; null when it could not be measured (say why in `value`). */
  met: boolean | null;
}

export function reportTarget(figure: TargetFigure): void {
  const file = process.env.BENCH_TARGETS_FILE;
  if (!file) return;
  fs.appendFileSync(file, `${JSON.stringify(figure)}\n`);
}

export function readTargets(file: string): TargetFigure[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as TargetFigure);
}
