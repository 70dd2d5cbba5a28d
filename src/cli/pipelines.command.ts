import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { SextantApi } from '../client/index.js';
import { ValidationError } from '../core/errors.js';
import type { PipelineRunDetail } from '../pipelines/pipeline-spec.schema.js';
import type { CliContext } from './context.js';
import { CliOutcome } from './exit-codes.js';
import { LIST_MAX, positiveInt } from './options.js';
import { details, parsePairs, table } from './output.js';

type Ctx = () => CliContext;

const POLL_MS = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isFile = (ref: string) => /\.ya?ml$/i.test(ref) || ref.includes('/');

/** A file is registered first (its content digest decides the version); a name is used as is. */
async function pipelineName(api: SextantApi, ref: string): Promise<string> {
  if (!isFile(ref)) return ref;
  if (!existsSync(ref))
    throw new ValidationError(`pipeline: file '${ref}' does not exist`, { field: 'pipeline' });
  return (await api.pipelines.create(readFileSync(ref, 'utf8'))).pipeline.name;
}

function stepsTable(r: PipelineRunDetail): string {
  return table(
    ['STEP', 'STATUS', 'ATTEMPT', 'EXIT', 'NEEDS', 'ERROR'],
    r.steps.map((s) => [
      s.name,
      s.status,
      s.attempt,
      s.exitCode ?? '',
      s.deps.join(',') || '-',
      (s.error ?? '').slice(0, 70),
    ]),
  );
}

/** Follows a run's log, printing chunks as they come, until the run ends. */
async function follow(
  c: CliContext,
  api: SextantApi,
  runId: string,
  step: string | undefined,
  forever: boolean,
) {
  let after: string | null = null;
  for (;;) {
    const page = await api.pipelines.logs(runId, { ...(step ? { step } : {}), after });
    for (const chunk of page.chunks) {
      const prefix = `[${chunk.step}${chunk.attempt > 1 ? `#${chunk.attempt}` : ''}] `;
      c.output.out(
        chunk.text
          .replace(/\n$/, '')
          .split('\n')
          .map((l) => prefix + l)
          .join('\n'),
      );
    }
    after = page.cursor;
    if (page.done || !forever) return;
    if (!page.chunks.length) await sleep(POLL_MS);
  }
}

/** `sextant pipelines create|run|ls|runs|show|logs|cancel`. */
export function registerPipelinesCommands(program: Command, ctx: Ctx): void {
  const cmd = program
    .command('pipelines')
    .description('YAML pipelines of steps run as jobs, with a step cache');
  cmd
    .command('create')
    .description('register a pipeline spec; the same content registers once, a change makes a new version')
    .requiredOption('-f, --file <file>', 'the pipeline YAML')
    .action(async (o: { file: string }) => {
      const c = ctx();
      if (!existsSync(o.file))
        throw new ValidationError(`--file: '${o.file}' does not exist`, { field: 'file' });
      const r = await (await c.api()).pipelines.create(readFileSync(o.file, 'utf8'));
      if (c.json) return c.output.out(JSON.stringify(r, null, 2));
      c.output.out(
        `${r.created ? 'registered' : 'unchanged'} ${r.pipeline.name} v${r.pipeline.version} (digest ${r.pipeline.digest.slice(0, 12)})`,
      );
    });
  cmd
    .command('run <pipeline>')
    .description('run a registered pipeline (by name) or a spec file')
    .option('--param <k=v>', 'a param value (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--force', 'bypass the step cache')
    .option('--wait', 'wait for the end, following the log (a local workspace always waits unless --detach)')
    .option('--detach', 'return at once (a local workspace then needs `sextant worker` to run the steps)')
    .option('--concurrency <n>', 'steps this process runs at once while it waits (local workspace)', '4')
    .action(
      async (
        ref: string,
        o: { param: string[]; force?: boolean; wait?: boolean; detach?: boolean; concurrency: string },
      ) => {
        const c = ctx();
        const api = await c.api();
        const name = await pipelineName(api, ref);
        const params = parsePairs(o.param, '--param');
        const ws = c.remoteUrl ? undefined : await c.workspace();
        const wait = o.wait || (ws !== undefined && !o.detach);
        // In a local workspace this process works the step jobs while it waits (as `sextant sweep` does).
        const worker =
          wait && ws ? ws.jobs.work({ concurrency: positiveInt(o.concurrency, '--concurrency') }) : undefined;
        try {
          const started = await api.pipelines.run({
            pipeline: name,
            params,
            ...(o.force ? { force: true } : {}),
          });
          if (!wait) {
            if (c.json) return c.output.out(JSON.stringify(started, null, 2));
            return c.output.out(started.runId);
          }
          c.output.err(`run ${started.runId} of ${name}`);
          if (!c.json) await follow(c, api, started.runId, undefined, true);
          let r = await api.pipelines.get(started.runId);
          while (r.status === 'running') {
            await sleep(POLL_MS);
            r = await api.pipelines.get(started.runId);
          }
          c.output.out(c.json ? JSON.stringify(r, null, 2) : stepsTable(r));
          if (r.status !== 'succeeded')
            throw new CliOutcome(
              'CHECK_FAILED',
              `pipeline run ${r.id} ${r.status}${r.failedStep ? `: step '${r.failedStep}' failed` : ''}`,
              {
                run: r.id,
                ...(r.failedStep ? { failedStep: r.failedStep } : {}),
              },
            );
        } finally {
          await worker?.close();
        }
      },
    );
  cmd
    .command('ls', { isDefault: true })
    .description('pipeline runs, newest first')
    .option('--pipeline <name>', 'only runs of this pipeline')
    .option('--status <status>', 'only runs in this status (running, succeeded, failed, cancelled)')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (o: { pipeline?: string; status?: string; limit: string }) => {
      const c = ctx();
      const page = await (await c.api()).pipelines.runs({
        limit: positiveInt(o.limit, '--limit', LIST_MAX),
        ...(o.pipeline ? { pipeline: o.pipeline } : {}),
        ...(o.status ? { status: o.status as never } : {}),
      });
      if (c.json) return c.output.out(JSON.stringify(page, null, 2));
      c.output.out(
        table(
          ['RUN', 'PIPELINE', 'VERSION', 'STATUS', 'TRIGGER', 'FAILED STEP', 'CREATED'],
          page.runs.map((r) => [
            r.id,
            r.pipeline,
            r.version,
            r.status,
            r.trigger.kind,
            r.failedStep ?? '',
            r.createdAt,
          ]),
        ),
      );
    });
  cmd
    .command('list')
    .description('registered pipelines (latest version of each)')
    .action(async () => {
      const c = ctx();
      const list = await (await c.api()).pipelines.list();
      if (c.json) return c.output.out(JSON.stringify(list, null, 2));
      c.output.out(
        table(
          ['NAME', 'VERSION', 'DIGEST', 'STEPS', 'CREATED'],
          list.map((p) => [
            p.name,
            p.version,
            p.digest.slice(0, 12),
            Object.keys((p.spec as { steps: object }).steps).length,
            p.createdAt,
          ]),
        ),
      );
    });
  cmd
    .command('show <run>')
    .description('a run with its steps: status, attempt, exit code, error, outputs')
    .action(async (id: string) => {
      const c = ctx();
      const r = await (await c.api()).pipelines.get(id);
      if (c.json) return c.output.out(JSON.stringify(r, null, 2));
      c.output.out(
        details([
          ['run', r.id],
          ['pipeline', `${r.pipeline} v${r.version}`],
          ['status', r.status],
          ['failed step', r.failedStep],
          ['error', r.error],
          ['params', JSON.stringify(r.params)],
          ['trigger', `${r.trigger.kind} ${r.trigger.key}`],
          ['tracked run', r.trackingRunId],
          ['created', r.createdAt],
          ['finished', r.finishedAt],
        ]),
      );
      c.output.out(stepsTable(r));
    });
  cmd
    .command('logs <run>')
    .description("a run's step logs; -f follows them live until the run ends")
    .option('--step <name>', 'only this step')
    .option('-f, --follow', 'keep printing new output until the run ends')
    .action(async (id: string, o: { step?: string; follow?: boolean }) => {
      const c = ctx();
      await follow(c, await c.api(), id, o.step, !!o.follow);
    });
  cmd
    .command('cancel <run>')
    .description('cancel a running run: queued steps never start, running ones are killed')
    .action(async (id: string) => {
      const c = ctx();
      await (await c.api()).pipelines.cancel(id);
      c.output.out(`cancelled ${id}`);
    });
}
