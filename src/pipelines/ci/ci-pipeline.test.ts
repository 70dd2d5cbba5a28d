import { describe, expect, it } from 'vitest';
import { type CiPipelinePort, type CiRun, pipelineReportMarkdown, runPipelineForCi } from './index.js';

/*
 * The pipeline half of `sextant ci` against an in-memory engine (the port): it waits for the run to
 * finish, passes only a succeeded run, and the report names the failed step with its exit code and
 * log tail, and the cache hits.
 */

function engine(final: CiRun, pollsBeforeDone: number) {
  let polls = 0;
  const started: unknown[] = [];
  const port: CiPipelinePort = {
    start: async (input) => {
      started.push(input);
      return { runId: final.id, status: 'running' };
    },
    getRun: async () => (++polls > pollsBeforeDone ? final : { ...final, status: 'running' }),
    sleep: async () => {},
  };
  return { port, started, polls: () => polls };
}

const step = (name: string, status: string, extra: Partial<CiRun['steps'][number]> = {}) => ({
  name,
  status,
  exitCode: null,
  logTail: null,
  error: null,
  outputs: null,
  trackingRunId: null,
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:00:01.500Z',
  ...extra,
});

describe('sextant ci <pipeline>', () => {
  it('waits for the run, passes a succeeded run, and counts cache hits', async () => {
    const run: CiRun = {
      id: 'plr_1',
      pipeline: 'ct',
      status: 'succeeded',
      failedStep: null,
      error: null,
      trackingRunId: 'run_9',
      steps: [step('validate', 'cached', { outputs: { passed: true } }), step('train', 'succeeded')],
    };
    const e = engine(run, 3);
    const r = await runPipelineForCi(e.port, {
      pipeline: 'ct',
      params: { dataset: 'd@1' },
      actor: 'ci',
      key: 'build-7',
      timeoutMs: 60_000,
    });
    expect(r.passed).toBe(true);
    expect(e.polls()).toBe(4);
    expect(e.started).toEqual([
      { pipeline: 'ct', params: { dataset: 'd@1' }, trigger: { kind: 'api', key: 'build-7' }, actor: 'ci' },
    ]);
    const md = pipelineReportMarkdown(r);
    expect(md).toContain('**✅ Succeeded**: 2 step(s), 1 from the cache.');
    expect(md).toContain('| `validate` | ♻️ cache hit | 1.5 s |  | passed |');
    expect(md).toContain('sextant runs show run_9');
  });

  it('a failed step fails the check: the report names it with its exit code and log tail', async () => {
    const run: CiRun = {
      id: 'plr_2',
      pipeline: 'ct',
      status: 'failed',
      failedStep: 'gates',
      error: 'step gates exited 10',
      trackingRunId: null,
      steps: [
        step('train', 'succeeded'),
        step('gates', 'failed', { exitCode: 10, logTail: 'blocked for champion\n' }),
        step('promote', 'skipped'),
      ],
    };
    const r = await runPipelineForCi(engine(run, 0).port, {
      pipeline: 'ct',
      params: {},
      actor: 'ci',
      key: 'k',
      timeoutMs: 1_000,
    });
    expect(r.passed).toBe(false);
    const md = pipelineReportMarkdown(r);
    expect(md).toContain('**❌ failed** at step `gates`: step gates exited 10');
    expect(md).toContain('| `gates` | ❌ failed | 1.5 s | 10 |');
    expect(md).toContain('```text\nblocked for champion\n```');
    expect(md).toContain('| `promote` | ⏭️ skipped |');
  });

  it('a run still going at the timeout does not pass', async () => {
    const run: CiRun = {
      id: 'plr_3',
      pipeline: 'ct',
      status: 'succeeded',
      failedStep: null,
      error: null,
      trackingRunId: null,
      steps: [],
    };
    const r = await runPipelineForCi(engine(run, 1_000).port, {
      pipeline: 'ct',
      params: {},
      actor: 'ci',
      key: 'k',
      timeoutMs: 5_000,
      pollMs: 1_000,
    });
    expect(r.passed).toBe(false);
    expect(r.run.error).toBe('still running after 5000 ms');
  });
});
