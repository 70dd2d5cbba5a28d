import type { Reporter, TestModule } from 'vitest/node';

/** How many of the slowest test files the summary names. */
const SLOWEST = 5;

/**
 * Ends the run with one plain line, "N passed, N failed, N skipped", that any CI log reader
 * understands, after a line naming the slowest files (collect + tests and hooks), so a suite that
 * creeps towards CI's time limit shows where the time went.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown> = []): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of testModules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
    }
    const slowest = testModules
      .map((m) => {
        const d = m.diagnostic();
        return { file: m.relativeModuleId, seconds: (d.collectDuration + d.duration) / 1000 };
      })
      .sort((a, b) => b.seconds - a.seconds)
      .slice(0, SLOWEST)
      .map((s) => `${s.file} ${s.seconds.toFixed(1)} s`);
    if (slowest.length > 0) process.stdout.write(`\nslowest files: ${slowest.join(', ')}\n`);
    // Unhandled errors fail the run even when every test passed; say so on the same line.
    const errors =
      unhandledErrors.length > 0 ? `, ${unhandledErrors.length} unhandled errors (the run fails)` : '';
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped${errors}\n`);
  }
}
