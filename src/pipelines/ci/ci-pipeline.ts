import type { PipelineStarter } from '../triggers/index.js';

/*
 * `sextant ci <pipeline>`: starts a run (trigger kind 'api', keyed by the CI build when one is given),
 * waits for it to finish, and reports each step: status, cache hit, exit code and log tail of a
 * failure. Waiting polls the run (this is a client waiting for an answer, not background work).
 */

/** A step of a finished run, as the report shows it. */
export interface CiStep {
  name: string;
  status: string;
  exitCode: number | null;
  logTail: string | null;
  error: string | null;
  outputs: Record<string, unknown> | null;
  trackingRunId: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A pipeline run as CI reads it back. */
export interface CiRun {
  id: string;
  pipeline: string;
  status: string;
  failedStep: string | null;
  error: string | null;
  trackingRunId: string | null;
  steps: CiStep[];
}

export interface CiPipelinePort {
  start: PipelineStarter['start'];
  getRun(runId: string): Promise<CiRun>;
  /** Waits between polls (tests pass one that returns at once). */
  sleep(ms: number): Promise<void>;
}

export interface PipelineCiReport {
  kind: 'pipeline';
  run: CiRun;
  passed: boolean;
}

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

/** Starts a pipeline run, waits until it finishes (at most timeoutMs), and reports it. */
export async function runPipelineForCi(
  port: CiPipelinePort,
  input: {
    pipeline: string;
    params: Record<string, unknown>;
    actor: string;
    key: string;
    force?: boolean;
    timeoutMs: number;
    pollMs?: number;
  },
): Promise<PipelineCiReport> {
  const { runId } = await port.start({
    pipeline: input.pipeline,
    params: input.params,
    trigger: { kind: 'api', key: input.key },
    actor: input.actor,
    ...(input.force ? { force: true } : {}),
  });
  const pollMs = input.pollMs ?? 1_000;
  let waited = 0;
  let run = await port.getRun(runId);
  while (!FINISHED.has(run.status)) {
    if (waited >= input.timeoutMs)
      return {
        kind: 'pipeline',
        run: { ...run, error: `still ${run.status} after ${input.timeoutMs} ms` },
        passed: false,
      };
    await port.sleep(pollMs);
    waited += pollMs;
    run = await port.getRun(runId);
  }
  return { kind: 'pipeline', run, passed: run.status === 'succeeded' };
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const ICON: Record<string, string> = {
  succeeded: '✅ succeeded',
  cached: '♻️ cache hit',
  failed: '❌ failed',
  skipped: '⏭️ skipped',
  cancelled: '⛔ cancelled',
};

function seconds(s: CiStep): string {
  if (!s.startedAt || !s.finishedAt) return '–';
  return `${((Date.parse(s.finishedAt) - Date.parse(s.startedAt)) / 1000).toFixed(1)} s`;
}

/** The report of a pipeline run as Markdown. */
export function pipelineReportMarkdown(r: PipelineCiReport): string {
  const run = r.run;
  const cached = run.steps.filter((s) => s.status === 'cached').length;
  const out = [
    `## Sextant CI: pipeline \`${run.pipeline}\` run \`${run.id}\``,
    '',
    r.passed
      ? `**✅ Succeeded**: ${run.steps.length} step(s), ${cached} from the cache.`
      : `**❌ ${run.status}**${run.failedStep ? ` at step \`${run.failedStep}\`` : ''}${run.error ? `: ${cell(run.error)}` : ''}`,
    '',
    '| Step | Result | Time | Exit | Outputs |',
    '|---|---|---:|---:|---|',
    ...run.steps.map(
      (s) =>
        `| \`${s.name}\` | ${ICON[s.status] ?? s.status} | ${seconds(s)} | ${s.exitCode ?? ''} | ${cell(Object.keys(s.outputs ?? {}).join(', '))} |`,
    ),
  ];
  for (const s of run.steps.filter((x) => x.status === 'failed')) {
    out.push('', `### \`${s.name}\` failed`, '');
    if (s.error) out.push(cell(s.error), '');
    if (s.logTail) out.push('```text', s.logTail.trimEnd(), '```');
  }
  out.push(
    '',
    '### Look it up',
    '',
    `- \`sextant pipelines show ${run.id}\``,
    `- \`sextant pipelines logs ${run.id}\``,
  );
  if (run.trackingRunId) out.push(`- its tracked run: \`sextant runs show ${run.trackingRunId}\``);
  return `${out.join('\n')}\n`;
}
