import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { Command } from 'commander';
import type { SextantApi } from '../client/index.js';
import { ValidationError } from '../core/errors.js';
import {
  checkModelCandidate,
  modelReportMarkdown,
  pipelineReportMarkdown,
  runPipelineForCi,
} from '../pipelines/ci/index.js';
import type { CliContext } from './context.js';
import { CliOutcome } from './exit-codes.js';
import { registryPort } from './ml.command.js';
import { positiveInt } from './options.js';
import { parsePairs } from './output.js';
import { progressLine } from './progress.js';

type Ctx = () => CliContext;

/** Step states that are over (what `ci` counts as done on its progress line). */
const DONE = new Set(['succeeded', 'failed', 'skipped', 'cached', 'cancelled']);

const isFile = (ref: string) => /\.ya?ml$/i.test(ref) || ref.includes('/');

/** `sextant ci <pipeline>`: run it (this process works its steps on a local workspace), wait, report. */
async function ciPipeline(
  c: CliContext,
  api: SextantApi,
  target: string,
  o: { param?: string[]; force?: boolean; timeout: string; key?: string },
) {
  let pipeline = target;
  if (isFile(target)) {
    if (!existsSync(target))
      throw new ValidationError(`target: pipeline file '${target}' does not exist`, { field: 'target' });
    pipeline = (await api.pipelines.create(readFileSync(target, 'utf8'))).pipeline.name;
  }
  const ws = c.remoteUrl ? undefined : await c.workspace();
  const worker = ws?.jobs.work({ concurrency: 4 });
  const progress = progressLine(c);
  try {
    return await runPipelineForCi(
      {
        start: (input) =>
          api.pipelines.run({
            pipeline: input.pipeline,
            ...(input.params ? { params: input.params } : {}),
            ...(input.force ? { force: true } : {}),
          }),
        getRun: async (runId) => {
          const r = await api.pipelines.get(runId);
          const done = r.steps.filter((s) => DONE.has(s.status)).length;
          const running = r.steps.filter((s) => s.status === 'running').map((s) => s.name);
          progress.count('running', done, r.steps.length, 'steps', running.join(', '));
          return r;
        },
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      },
      {
        pipeline,
        params: parsePairs(o.param, '--param'),
        actor: 'ci',
        key: o.key ?? `ci:${Date.now()}`,
        ...(o.force ? { force: true } : {}),
        timeoutMs: positiveInt(o.timeout, '--timeout') * 1000,
        pollMs: 500,
      },
    );
  } finally {
    progress.end();
    await worker?.close();
  }
}

/** `sextant ci <model ref | pipeline>`: judge a candidate or run a pipeline, report in Markdown, fail the build on a no. */
export function registerCiCommand(program: Command, ctx: Ctx): void {
  program
    .command('ci <target>')
    .description(
      'for CI: a model ref (<model>@<version>) is scored with the champion on --holdout and checked against the policy gates (exit 10 when a gate blocks); a pipeline (name or file) is run to its end (exit 9 when it fails)',
    )
    .option('--holdout <dataset@version>', 'the dataset version both models are scored on (model refs)')
    .option('--alias <alias>', 'the alias the candidate would take', 'champion')
    .option('--report <file>', 'write the Markdown report here (e.g. for a pull-request comment)')
    .option('-p, --param <k=v...>', 'pipeline params')
    .option('--force', 'pipelines: bypass the step cache')
    .option('--timeout <seconds>', 'pipelines: stop waiting after this long (the check fails)', '3600')
    .action(
      async (
        target: string,
        o: {
          holdout?: string;
          alias: string;
          report?: string;
          param?: string[];
          force?: boolean;
          timeout: string;
        },
      ) => {
        const c = ctx();
        if (isFile(target) || !target.includes('@')) {
          const api = await c.api();
          const report = await ciPipeline(c, api, target, o);
          const markdown = pipelineReportMarkdown(report);
          if (o.report) writeFileSync(o.report, markdown);
          c.output.out(c.json ? JSON.stringify(report, null, 2) : markdown);
          if (!report.passed)
            throw new CliOutcome(
              'CHECK_FAILED',
              `pipeline run ${report.run.id} ${report.run.status}${report.run.failedStep ? `: step '${report.run.failedStep}' failed` : ''}`,
              { run: report.run.id },
            );
          return;
        }
        if (!o.holdout)
          throw new ValidationError(
            '--holdout: a model ref is scored on a holdout: --holdout <dataset>@<version>',
            {
              field: 'holdout',
            },
          );
        const api = await c.api();
        const progress = progressLine(c);
        progress.step('checking', `${target} against the ${o.alias} on ${o.holdout}`);
        const report = await checkModelCandidate(
          {
            ml: api,
            registry: registryPort(api),
            checkPromotion: (input) => api.models.checkPromotion(input),
            datasetRows: async (ref) => {
              const v = await api.data.show(ref);
              return v.tables.length ? v.tables.reduce((n, t) => n + t.rowCount, 0) : undefined;
            },
          },
          { ref: target, alias: o.alias, holdout: o.holdout, workDir: os.tmpdir() },
        ).finally(() => progress.end());
        const markdown = modelReportMarkdown(report);
        if (o.report) writeFileSync(o.report, markdown);
        c.output.out(c.json ? JSON.stringify(report, null, 2) : markdown);
        if (!report.passed) {
          const failed = report.check.gates.filter((g) => g.status !== 'pass').map((g) => g.gate);
          throw new CliOutcome(
            'BLOCKED_BY_POLICY',
            `${report.candidate.ref} is blocked for '${report.alias}': ${failed.join('; ')}`,
            { gates: failed },
          );
        }
      },
    );
}
