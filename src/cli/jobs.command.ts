import type { Command } from 'commander';
import { ValidationError } from '../core/errors.js';
import { JOB_STATUSES, type JobStatus } from '../jobs/job.schema.js';
import type { CliContext } from './context.js';
import { LIST_MAX, positiveInt } from './options.js';
import { details, table } from './output.js';

type Ctx = () => CliContext;

function status(value: string): JobStatus {
  if (!(JOB_STATUSES as readonly string[]).includes(value))
    throw new ValidationError(`--status: '${value}' is not one of ${JOB_STATUSES.join(', ')}`, {
      field: '--status',
    });
  return value as JobStatus;
}

const short = (v: unknown) => {
  if (v === null || v === undefined) return '';
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** `sextant jobs ls|show|cancel`: background jobs and their attempts. */
export function registerJobsCommands(program: Command, ctx: Ctx): void {
  const cmd = program.command('jobs');
  cmd
    .command('ls', { isDefault: true })
    .description('list jobs, newest first')
    .option('--status <status>', `only jobs in this status (${JOB_STATUSES.join(', ')})`)
    .option('--name <name>', 'only jobs of this kind')
    .option('--queue <queue>', 'only jobs of this queue')
    .option('--limit <n>', 'at most this many', '50')
    .option('--page-token <token>', 'the next page, as the previous page printed it')
    .action(
      async (o: { status?: string; name?: string; queue?: string; limit: string; pageToken?: string }) => {
        const c = ctx();
        const page = await (await c.api()).jobs.list({
          limit: positiveInt(o.limit, '--limit', LIST_MAX),
          ...(o.status !== undefined ? { status: status(o.status) } : {}),
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(o.queue !== undefined ? { queue: o.queue } : {}),
          ...(o.pageToken !== undefined ? { pageToken: o.pageToken } : {}),
        });
        if (c.json) return c.output.out(JSON.stringify(page, null, 2));
        c.output.out(
          table(
            ['ID', 'NAME', 'QUEUE', 'STATUS', 'ATTEMPTS', 'PROGRESS', 'CREATED', 'ERROR'],
            page.jobs.map((j) => [
              j.id,
              j.name,
              j.queue,
              j.status,
              `${j.attempts}/${j.maxAttempts}`,
              short(j.progress),
              j.createdAt,
              (j.error ?? '').slice(0, 60),
            ]),
          ),
        );
        if (page.nextPageToken) c.output.err(`more: --page-token ${page.nextPageToken}`);
      },
    );
  cmd
    .command('show <id>')
    .description('a job with its attempts: worker, start, end, error')
    .action(async (id: string) => {
      const c = ctx();
      const j = await (await c.api()).jobs.get(id);
      if (c.json) return c.output.out(JSON.stringify(j, null, 2));
      c.output.out(
        details([
          ['id', j.id],
          ['name', j.name],
          ['queue', j.queue],
          ['tags', j.tags.join(',') || undefined],
          ['status', j.status],
          ['held', j.heldReason ?? undefined],
          ['attempts', `${j.attempts}/${j.maxAttempts}`],
          ['priority', j.priority || undefined],
          ['key', j.key],
          ['schedule', j.scheduleKey],
          ['payload', JSON.stringify(j.payload)],
          ['progress', j.progress === null ? undefined : JSON.stringify(j.progress)],
          ['result', j.result === null ? undefined : JSON.stringify(j.result)],
          ['error', j.error],
          ['committed', j.committedAt],
          ['cancelled by', j.cancelledBy],
          ['created', j.createdAt],
          ['run at', j.status === 'queued' ? j.runAt : undefined],
          ['finished', j.finishedAt],
        ]),
      );
      if (j.log.length)
        c.output.out(
          `\n${table(
            ['ATTEMPT', 'WORKER', 'STATUS', 'STARTED', 'ENDED', 'ERROR'],
            j.log.map((a) => [a.attempt, a.workerId, a.status, a.startedAt, a.endedAt, a.error]),
          )}`,
        );
    });
  cmd
    .command('cancel <id>')
    .description('cancel a queued or running job (a running one is told to stop)')
    .action(async (id: string) => {
      const c = ctx();
      const j = await (await c.api()).jobs.cancel(id);
      if (c.json) return c.output.out(JSON.stringify(j, null, 2));
      c.output.out(`cancelled job ${j.id} (${j.name})`);
    });
}

/** `sextant workers ls`: the workers the jobs seam has seen (from its attempt log). */
export function registerWorkersCommands(program: Command, ctx: Ctx): void {
  program
    .command('workers')
    .description('workers seen by the job queue over the last day')
    .command('ls', { isDefault: true })
    .description('each worker: queues, last sign of life, the job it runs now')
    .action(async () => {
      const c = ctx();
      const list = await (await c.api()).jobs.workers();
      if (c.json) return c.output.out(JSON.stringify(list, null, 2));
      c.output.out(
        table(
          ['WORKER', 'QUEUES', 'LAST SEEN', 'CURRENT JOB', 'ATTEMPTS'],
          list.map((w) => [
            w.id,
            w.queues.join(','),
            w.lastSeenAt,
            w.currentJob ? `${w.currentJob.id} (${w.currentJob.name})` : '',
            w.attempts,
          ]),
        ),
      );
    });
}
