import os from 'node:os';
import { defineConfig } from 'vitest/config';

/*
 * Test files run two at a time at least. vitest's default is one fewer than the cores, which on a
 * 2-core machine is one file at a time, and most files spend their time waiting on servers, child
 * processes, the databases and the browser rather than on the CPU: on a quiet 2-core machine two at
 * a time took the whole suite from 664 s to 400 s (2026-12-06, one run each). Every suite keeps its
 * own database, key prefix, ports and folders, so files do not share state.
 */
const maxWorkers = Math.max(2, os.availableParallelism() - 1);

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
