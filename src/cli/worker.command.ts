import type { Command } from 'commander';
import { SYSTEM_QUEUE, scheduleBackgroundJobs } from '../app/index.js';
import { ValidationError } from '../core/errors.js';
import { exitWhenIdle } from '../cost/reaper/index.js';
import { laneNameSchema } from '../jobs/job.schema.js';
import { redactUrl } from '../store/index.js';
import type { CliContext } from './context.js';

type Ctx = () => CliContext;

function names(list: string, option: string): string[] {
  const out = list
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  for (const n of out)
    if (!laneNameSchema.safeParse(n).success)
      throw new ValidationError(
        `${option}: '${n}' is not a queue or tag name (lower-case letters, digits, - and _)`,
        {
          field: option,
        },
      );
  if (!out.length) throw new ValidationError(`${option}: give at least one name`, { field: option });
  return out;
}

function whole(value: string, option: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new ValidationError(`${option}: '${value}' is not a whole number of at least ${min}`, {
      field: option,
    });
  return n;
}

/** `sextant worker`: consumes jobs on any machine that reaches the database, the blobs and Redis. */
export function registerWorkerCommand(program: Command, ctx: Ctx): void {
  program
    .command('worker')
    .option('--concurrency <n>', 'jobs run at once', '1')
    .option('--queues <list>', 'comma-separated queues to take jobs from', 'default')
    .option('--tags <list>', 'what this machine offers (e.g. gpu): it also takes jobs that need these tags')
    .option(
      '--lease-ms <ms>',
      "how long a killed worker's job waits before another worker retries it",
      '30000',
    )
    .option(
      '--idle-exit <minutes>',
      'exit cleanly (audited) after this many minutes with no job (default: the reaper policy; 0: never)',
    )
    .action(
      async (o: {
        concurrency: string;
        queues: string;
        tags?: string;
        leaseMs: string;
        idleExit?: string;
      }) => {
        const c = ctx();
        const concurrency = whole(o.concurrency, '--concurrency', 1);
        const queues = names(o.queues, '--queues');
        const tags = o.tags !== undefined ? names(o.tags, '--tags') : [];
        const leaseMs = whole(o.leaseMs, '--lease-ms', 100);
        const idleMinutes = o.idleExit !== undefined ? minutes(o.idleExit, '--idle-exit') : undefined;
        const ws = await c.workspace();
        if (!ws)
          throw new ValidationError(
            'worker: SEXTANT_URL is set; a worker runs on the workspace itself, unset it',
            {
              field: 'SEXTANT_URL',
            },
          );
        // A worker that takes the system queue keeps its schedule too (a cluster may run no server).
        if (queues.includes(SYSTEM_QUEUE)) await scheduleBackgroundJobs(ws.jobs);
        const handle = ws.jobs.work({ concurrency, queues, tags, leaseMs });
        c.output.err(
          [
            `sextant worker ${handle.workerId} started`,
            `  queue:    ${ws.jobs.kind === 'bullmq' ? `BullMQ at ${redactUrl(c.config.redisUrl ?? '')}` : 'in-process (database)'}`,
            `  database: ${redactUrl(c.config.databaseUrl)}`,
            `  queues:   ${queues.join(', ')}${tags.length ? `  tags: ${tags.join(', ')}` : ''}  concurrency: ${concurrency}`,
          ].join('\n'),
        );
        const idleMs = (idleMinutes ?? ws.reaper.policy.workers.idleMinutes) * 60_000;
        const idle =
          idleMs > 0
            ? exitWhenIdle(handle, {
                idleMs,
                now: () => ws.clock.now(),
                onExit: (e) =>
                  ws.reaper.record({
                    kind: 'worker_exit',
                    target: e.workerId,
                    idleMs: e.idleMs,
                    details: { queues, tags, concurrency },
                  }),
              })
            : undefined;
        await new Promise<void>((resolve, reject) => {
          const stop = () => {
            idle?.stop();
            c.output.err('sextant worker: finishing running jobs');
            handle.close().then(resolve, resolve);
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
          idle?.done.then(({ idleMs: ms }) => {
            c.output.err(`sextant worker: no job for ${Math.round(ms / 1000)} s; exiting (--idle-exit)`);
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            resolve();
          }, reject);
        });
      },
    );
}

/** A number of minutes, fractions allowed (0.5 is 30 s); 0 turns the idle exit off. */
function minutes(value: string, option: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new ValidationError(`${option}: '${value}' is not a number of minutes (0 or more)`, {
      field: option,
    });
  return n;
}
