import { z } from 'zod';
import type { AuditLog } from '../audit/index.js';
import { type Clock, toIso } from '../core/clock.js';
import { ConflictError, InvalidTransitionError, NotFoundError, ValidationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { parseOrThrow } from '../core/validate.js';
import { type Db, inTransaction, type Tx } from '../store/index.js';
import type { JobTable } from '../store/schema-jobs.js';
import { admitAll, type JobAdmission, type JobScope, jobScopeSchema } from './admission.js';
import * as repo from './job.repo.js';
import {
  type AttemptStatus,
  type Job,
  type JobDetail,
  type JobPage,
  type JobStatus,
  jobIdSchema,
  type ListJobsQuery,
  laneNameSchema,
  listJobsQuerySchema,
  type WorkerInfo,
} from './job.schema.js';
import { JOB_DEFAULTS, type JobKind, laneOf, type ResolvedJobKind } from './job-kind.js';
import type { EnqueueOptions, QueueDepth } from './job-queue.js';

/*
 * What both implementations share: the kinds, the job rows (validated inserts, reads, cancel) and
 * their mapping to the API shape. An implementation adds dispatch: how a queued row reaches a worker.
 */

/** BullMQ's largest priority; the in-process queue takes the same range. */
export const MAX_PRIORITY = 2_097_152;

const enqueueOptionsSchema = z.strictObject({
  priority: z.number().int().min(0).max(MAX_PRIORITY).optional(),
  attempts: z.number().int().min(1).max(100).optional(),
  delayMs: z.number().int().min(0).optional(),
  key: z.string().min(1).max(300).optional(),
  scope: jobScopeSchema.optional(),
});

const kindSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'lower-case letters, digits, . - _'),
  queue: laneNameSchema.optional(),
  attempts: z.number().int().min(1).max(100).optional(),
  backoffMs: z.number().int().min(0).optional(),
  timeoutMs: z.number().int().min(1).optional(),
  tags: z.array(laneNameSchema).max(4).optional(),
});

export interface JobRecordsDeps {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  /** Asked before a job with a scope is written (budgets refuse work in an exhausted scope). */
  admission?: JobAdmission;
}

export function createJobRecords({ db, audit, clock, admission = admitAll }: JobRecordsDeps) {
  const kinds = new Map<string, ResolvedJobKind>();

  function define<S extends z.ZodType>(kind: JobKind<S>): JobKind<S> {
    const k = parseOrThrow(kindSchema, kind, 'kind');
    if (kinds.has(k.name))
      throw new ConflictError(`job kind '${k.name}' is already defined`, { name: k.name });
    kinds.set(k.name, {
      name: k.name,
      payload: kind.payload,
      handler: kind.handler as ResolvedJobKind['handler'],
      queue: k.queue ?? JOB_DEFAULTS.queue,
      attempts: k.attempts ?? JOB_DEFAULTS.attempts,
      backoffMs: k.backoffMs ?? JOB_DEFAULTS.backoffMs,
      timeoutMs: k.timeoutMs ?? JOB_DEFAULTS.timeoutMs,
      tags: [...new Set(k.tags ?? [])].sort(),
      scopeOf: kind.scopeOf as ResolvedJobKind['scopeOf'],
    });
    return kind;
  }

  function kindOf(name: string): ResolvedJobKind {
    const kind = kinds.get(name);
    if (!kind) throw new ValidationError(`name: no job kind '${name}' is defined`, { field: 'name' });
    return kind;
  }

  /** Validates payload and options and builds the row; writes nothing. */
  function prepare(
    name: string,
    payload: unknown,
    options: EnqueueOptions = {},
    scheduleKey: string | null = null,
  ): { kind: ResolvedJobKind; values: JobTable; options: z.output<typeof enqueueOptionsSchema> } {
    const kind = kindOf(name);
    const data = parseOrThrow(kind.payload, payload, 'payload');
    const o = parseOrThrow(enqueueOptionsSchema, options, 'options');
    const now = clock.now();
    const values: JobTable = {
      id: newId('job', now),
      name,
      queue: kind.queue,
      status: 'queued',
      payload: JSON.stringify(data ?? null),
      priority: o.priority ?? 0,
      tags: JSON.stringify(kind.tags),
      lane: laneOf(kind.queue, kind.tags),
      idempotency_key: o.key ?? null,
      schedule_key: scheduleKey,
      attempts: 0,
      max_attempts: o.attempts ?? kind.attempts,
      backoff_ms: kind.backoffMs,
      timeout_ms: kind.timeoutMs,
      run_at: now + (o.delayMs ?? 0),
      lease_owner: null,
      lease_until: null,
      heartbeat_at: null,
      progress: null,
      result: null,
      error: null,
      committed_at: null,
      cancelled_by: null,
      created_at: now,
      updated_at: now,
      finished_at: null,
      scope: null,
      held_reason: null,
    };
    const scope = o.scope ?? kind.scopeOf?.(data);
    if (scope && Object.keys(scope).length) values.scope = JSON.stringify(scope);
    return { kind, values, options: o };
  }

  /**
   * prepare(), then admission for a job with a scope: a refused job throws (nothing written); an
   * admitted one stores the scope the port returns (the run's tags added).
   */
  async function prepareAdmitted(name: string, payload: unknown, options: EnqueueOptions = {}) {
    const prepared = prepare(name, payload, options);
    const { values, kind } = prepared;
    if (values.scope !== null) {
      const scope = await admission.admit({ name, queue: kind.queue, scope: JSON.parse(values.scope) });
      values.scope = JSON.stringify(scope);
    }
    return prepared;
  }

  /** Inserts the row, or returns the job that already holds its idempotency key. */
  async function insert(tx: Tx | Db, values: JobTable): Promise<{ row: repo.JobRow; created: boolean }> {
    if (await repo.insertJob({ tx, values })) return { row: values, created: true };
    const existing = values.idempotency_key
      ? await repo.findJobByKey({ tx, key: values.idempotency_key })
      : undefined;
    if (!existing) throw new ConflictError(`job '${values.id}' could not be written`);
    return { row: existing, created: false };
  }

  async function getRow(id: string): Promise<repo.JobRow> {
    const row = await repo.findJob({ tx: db, id: parseOrThrow(jobIdSchema, id, 'id') });
    if (!row) throw new NotFoundError('job', id);
    return row;
  }

  async function get(id: string): Promise<JobDetail> {
    const row = await getRow(id);
    const attempts = await repo.listAttempts({ tx: db, jobId: id });
    return {
      ...toJob(row),
      log: attempts.map((a) => ({
        attempt: a.attempt,
        workerId: a.worker_id,
        status: a.status as AttemptStatus,
        startedAt: toIso(a.started_at),
        endedAt: a.ended_at === null ? null : toIso(a.ended_at),
        error: a.error,
      })),
    };
  }

  async function list(query: ListJobsQuery = {}): Promise<JobPage> {
    const q = parseOrThrow(listJobsQuerySchema, query, 'query');
    const rows = await repo.listJobs({
      tx: db,
      limit: q.limit + 1,
      ...(q.status ? { status: q.status } : {}),
      ...(q.name ? { name: q.name } : {}),
      ...(q.queue ? { queue: q.queue } : {}),
      ...(q.pageToken ? { before: q.pageToken } : {}),
    });
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      jobs: page.map(toJob),
      ...(rows.length > q.limit && last ? { nextPageToken: last.id } : {}),
    };
  }

  /** Cancels in one transaction with its audit entry; returns the row as it was before. */
  async function cancel({
    actor,
    id,
  }: {
    actor: string;
    id: string;
  }): Promise<{ before: repo.JobRow; job: Job }> {
    const before = await getRow(id);
    return inTransaction(db, async (tx) => {
      const now = clock.now();
      if (!(await repo.cancelJob({ tx, id, by: actor, now }))) {
        const current = (await repo.findJob({ tx, id })) ?? before;
        throw new InvalidTransitionError('job', current.status, 'cancelled');
      }
      await audit.append(tx, {
        actor,
        action: 'job.cancel',
        entityType: 'job',
        entityId: id,
        before: { status: before.status },
        after: { status: 'cancelled' },
        details: { name: before.name, queue: before.queue, attempts: before.attempts },
      });
      const row = await repo.findJob({ tx, id });
      if (!row) throw new NotFoundError('job', id);
      return { before, job: toJob(row) };
    });
  }

  /** Workers seen in the attempt log over the last `withinMs` (default a day), most recently seen first. */
  async function workers(withinMs = 86_400_000): Promise<WorkerInfo[]> {
    const rows = await repo.listWorkers({ tx: db, since: clock.now() - withinMs });
    const byId = new Map<string, WorkerInfo & { seen: number }>();
    for (const r of rows) {
      const w = byId.get(r.worker_id) ?? {
        id: r.worker_id,
        queues: [],
        lastSeenAt: '',
        seen: 0,
        currentJob: null,
        attempts: 0,
      };
      w.attempts++;
      if (!w.queues.includes(r.queue)) w.queues.push(r.queue);
      const running = r.status === 'running';
      const seen = Math.max(r.started_at, r.ended_at ?? 0, running ? (r.heartbeat_at ?? 0) : 0);
      if (seen > w.seen) w.seen = seen;
      if (running) w.currentJob = { id: r.job_id, name: r.name };
      byId.set(r.worker_id, w);
    }
    return [...byId.values()]
      .sort((a, b) => b.seen - a.seen)
      .map(({ seen, ...w }) => ({ ...w, lastSeenAt: toIso(seen) }));
  }

  return {
    define,
    kindOf,
    prepare,
    prepareAdmitted,
    admission,
    insert,
    get,
    getRow,
    list,
    cancel,
    workers,
    kinds,
  };
}

export type JobRecords = ReturnType<typeof createJobRecords>;

const parseJson = (s: string | null): unknown => (s === null ? null : JSON.parse(s));

/** A job row in the API's shape. */
export function toJob(row: repo.JobRow): Job {
  return {
    id: row.id,
    name: row.name,
    queue: row.queue,
    status: row.status as JobStatus,
    payload: parseJson(row.payload),
    priority: row.priority,
    tags: JSON.parse(row.tags) as string[],
    key: row.idempotency_key,
    scheduleKey: row.schedule_key,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    timeoutMs: row.timeout_ms,
    runAt: toIso(row.run_at),
    progress: parseJson(row.progress),
    result: parseJson(row.result),
    error: row.error,
    committedAt: row.committed_at === null ? null : toIso(row.committed_at),
    cancelledBy: row.cancelled_by,
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
    finishedAt: row.finished_at === null ? null : toIso(row.finished_at),
    scope: row.scope === null ? null : (JSON.parse(row.scope) as JobScope),
    heldReason: row.held_reason,
  };
}

/** Jobs per queue by state, from the rows (the same on both implementations). */
export async function queueDepth(db: Db): Promise<QueueDepth[]> {
  const byQueue = new Map<string, QueueDepth>();
  for (const r of await repo.countUnfinished({ tx: db })) {
    let d = byQueue.get(r.queue);
    if (!d) {
      d = { queue: r.queue, waiting: 0, held: 0, active: 0 };
      byQueue.set(r.queue, d);
    }
    const n = Number(r.n);
    if (r.status === 'running') d.active += n;
    else if (Number(r.held) === 1) d.held += n;
    else d.waiting += n;
  }
  return [...byQueue.values()].sort((a, b) => a.queue.localeCompare(b.queue));
}
