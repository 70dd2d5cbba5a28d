import type { Selectable } from 'kysely';
import type { Dialect, Executor } from '../store/index.js';
import type { JobAttemptTable, JobScheduleTable, JobTable } from '../store/schema-jobs.js';

export type JobRow = Selectable<JobTable>;
export type JobAttemptRow = Selectable<JobAttemptTable>;
export type JobScheduleRow = Selectable<JobScheduleTable>;

/** Inserts a job; false when its idempotency key is already taken (the existing job stands). */
export async function insertJob({ tx, values }: { tx: Executor; values: JobTable }): Promise<boolean> {
  const r = await tx
    .insertInto('jobs')
    .values(values)
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
}

export async function findJob({ tx, id }: { tx: Executor; id: string }): Promise<JobRow | undefined> {
  return tx.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findJobByKey({ tx, key }: { tx: Executor; key: string }): Promise<JobRow | undefined> {
  return tx.selectFrom('jobs').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
}

/** Newest first, keyset-paged on the id (ids sort by creation time). */
export async function listJobs({
  tx,
  status,
  name,
  queue,
  limit,
  before,
}: {
  tx: Executor;
  status?: string;
  name?: string;
  queue?: string;
  limit: number;
  before?: string;
}): Promise<JobRow[]> {
  let q = tx.selectFrom('jobs').selectAll().orderBy('id', 'desc').limit(limit);
  if (status) q = q.where('status', '=', status);
  if (name) q = q.where('name', '=', name);
  if (queue) q = q.where('queue', '=', queue);
  if (before) q = q.where('id', '<', before);
  return q.execute();
}

export async function listAttempts({ tx, jobId }: { tx: Executor; jobId: string }): Promise<JobAttemptRow[]> {
  return tx.selectFrom('job_attempts').selectAll().where('job_id', '=', jobId).orderBy('attempt').execute();
}

/**
 * Takes up to `limit` runnable jobs of these lanes for `owner` with a conditional UPDATE (call it in
 * a transaction) and returns what it got. Runnable: queued and due, or running under a lease
 * that expired (its worker died). Of two claimers racing for a row exactly one UPDATE matches:
 * PostgreSQL locks the chosen rows (skipping those another claimer holds) and re-checks the WHERE;
 * SQLite runs one writer at a time.
 */
export async function claimDue({
  tx,
  dialect,
  owner,
  now,
  leaseUntil,
  lanes,
  names,
  limit,
}: {
  tx: Executor;
  dialect: Dialect;
  /** Only kinds the claiming process can run. */
  names: string[];
  owner: string;
  now: number;
  leaseUntil: number;
  lanes: string[];
  limit: number;
}): Promise<JobRow[]> {
  let candidates = tx
    .selectFrom('jobs')
    .select('id')
    .where('lane', 'in', lanes)
    .where('name', 'in', names.length ? names : [''])
    .where((eb) =>
      eb.or([
        eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', now)]),
        eb.and([eb('status', '=', 'running'), eb('lease_until', '<=', now)]),
      ]),
    )
    .orderBy('priority')
    .orderBy('run_at')
    .orderBy('id')
    .limit(limit);
  candidates = dialect.skipLockedRows(candidates);
  // Chosen first, then updated: as a subquery of the UPDATE, PostgreSQL may run the locking select
  // once per outer row and take more than `limit` rows.
  const ids = (await candidates.execute()).map((r) => r.id);
  if (!ids.length) return [];
  const rows = await tx
    .updateTable('jobs')
    .set((eb) => ({
      status: 'running',
      lease_owner: owner,
      lease_until: leaseUntil,
      heartbeat_at: now,
      attempts: eb('attempts', '+', 1),
      updated_at: now,
      held_reason: null,
    }))
    .where('id', 'in', ids)
    .where((eb) =>
      eb.or([
        eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', now)]),
        eb.and([eb('status', '=', 'running'), eb('lease_until', '<=', now)]),
      ]),
    )
    .returningAll()
    .execute();
  const rank = new Map(ids.map((id, n) => [id, n]));
  return rows.sort((a, b) => (rank.get(a.id) ?? 0) - (rank.get(b.id) ?? 0));
}

/**
 * Takes one job for an attempt that something else already made exclusive (BullMQ's lock): any job
 * still queued or running is taken; a finished one is not.
 */
export async function claimOne({
  tx,
  id,
  owner,
  now,
  leaseUntil,
}: {
  tx: Executor;
  id: string;
  owner: string;
  now: number;
  leaseUntil: number;
}): Promise<JobRow | undefined> {
  return tx
    .updateTable('jobs')
    .set((eb) => ({
      status: 'running',
      lease_owner: owner,
      lease_until: leaseUntil,
      heartbeat_at: now,
      attempts: eb('attempts', '+', 1),
      updated_at: now,
      held_reason: null,
    }))
    .where('id', '=', id)
    .where('status', 'in', ['queued', 'running'])
    .returningAll()
    .executeTakeFirst();
}

/** Logs the start of these attempts; an attempt of the same job still 'running' was lost. */
export async function startAttempts({
  tx,
  attempts,
  now,
}: {
  tx: Executor;
  attempts: JobAttemptTable[];
  now: number;
}): Promise<void> {
  if (!attempts.length) return;
  const retaken = attempts.filter((a) => a.attempt > 1);
  // A first attempt has no earlier one to close.
  if (retaken.length)
    await tx
      .updateTable('job_attempts')
      .set({ status: 'lost', ended_at: now, error: 'the worker stopped heartbeating (killed or cut off)' })
      .where(
        'job_id',
        'in',
        retaken.map((a) => a.job_id),
      )
      .where('status', '=', 'running')
      .execute();
  await tx.insertInto('job_attempts').values(attempts).execute();
}

/** Extends the lease while `owner` still holds a running job; false when it does not (cancelled, taken). */
export async function extendLease({
  tx,
  id,
  owner,
  now,
  leaseUntil,
}: {
  tx: Executor;
  id: string;
  owner: string;
  now: number;
  leaseUntil: number;
}): Promise<boolean> {
  const r = await tx
    .updateTable('jobs')
    .set({ lease_until: leaseUntil, heartbeat_at: now })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .where('status', '=', 'running')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function setProgress({
  tx,
  id,
  owner,
  progress,
  now,
}: {
  tx: Executor;
  id: string;
  owner: string;
  progress: string;
  now: number;
}): Promise<boolean> {
  const r = await tx
    .updateTable('jobs')
    .set({ progress, heartbeat_at: now, updated_at: now })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .where('status', '=', 'running')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * Ends an attempt and moves the job on, but only while `owner` still holds it: a worker whose lease
 * ran out (or whose job was cancelled) must not overwrite what happened since.
 */
export async function finishAttempt({
  tx,
  id,
  owner,
  attempt,
  attemptStatus,
  error,
  now,
  set,
}: {
  tx: Executor;
  id: string;
  owner: string;
  attempt: number;
  attemptStatus: string;
  error: string | null;
  now: number;
  set: Pick<JobTable, 'status' | 'run_at' | 'error' | 'finished_at'> & { result?: string | null };
}): Promise<boolean> {
  const r = await tx
    .updateTable('jobs')
    .set({ ...set, lease_owner: null, lease_until: null, updated_at: now })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .where('status', '=', 'running')
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) return false;
  await endAttempt({ tx, jobId: id, attempt, status: attemptStatus, error, now });
  return true;
}

export async function endAttempt({
  tx,
  jobId,
  attempt,
  status,
  error,
  now,
}: {
  tx: Executor;
  jobId: string;
  attempt: number;
  status: string;
  error: string | null;
  now: number;
}): Promise<void> {
  await tx
    .updateTable('job_attempts')
    .set({ status, error, ended_at: now })
    .where('job_id', '=', jobId)
    .where('attempt', '=', attempt)
    .where('status', '=', 'running')
    .execute();
}

/** Sets the commit marker; false when the job's effects were committed already. */
export async function markCommitted({ tx, id, now }: { tx: Executor; id: string; now: number }) {
  const r = await tx
    .updateTable('jobs')
    .set({ committed_at: now })
    .where('id', '=', id)
    .where('committed_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Cancels a job not yet finished; false when it had finished. */
export async function cancelJob({ tx, id, by, now }: { tx: Executor; id: string; by: string; now: number }) {
  const r = await tx
    .updateTable('jobs')
    .set({
      status: 'cancelled',
      cancelled_by: by,
      finished_at: now,
      updated_at: now,
      lease_owner: null,
      lease_until: null,
    })
    .where('id', '=', id)
    .where('status', 'in', ['queued', 'running'])
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) return false;
  await tx
    .updateTable('job_attempts')
    .set({ status: 'cancelled', ended_at: now, error: `cancelled by ${by}` })
    .where('job_id', '=', id)
    .where('status', '=', 'running')
    .execute();
  return true;
}

export async function upsertSchedule({ tx, values }: { tx: Executor; values: JobScheduleTable }) {
  await tx
    .insertInto('job_schedules')
    .values(values)
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        name: values.name,
        payload: values.payload,
        cron: values.cron,
        every_ms: values.every_ms,
        next_run_at: values.next_run_at,
        updated_at: values.updated_at,
      }),
    )
    .execute();
}

export async function deleteSchedule({ tx, key }: { tx: Executor; key: string }): Promise<boolean> {
  const r = await tx.deleteFrom('job_schedules').where('key', '=', key).executeTakeFirst();
  return Number(r.numDeletedRows) === 1;
}

export async function findSchedule({ tx, key }: { tx: Executor; key: string }) {
  return tx.selectFrom('job_schedules').selectAll().where('key', '=', key).executeTakeFirst();
}

export async function dueSchedules({ tx, now }: { tx: Executor; now: number }): Promise<JobScheduleRow[]> {
  return tx.selectFrom('job_schedules').selectAll().where('next_run_at', '<=', now).execute();
}

/** Moves a schedule from one tick to the next; only one of several racing processes gets true. */
export async function advanceSchedule({
  tx,
  key,
  from,
  to,
  now,
}: {
  tx: Executor;
  key: string;
  from: number;
  to: number;
  now: number;
}): Promise<boolean> {
  const r = await tx
    .updateTable('job_schedules')
    .set({ next_run_at: to, updated_at: now })
    .where('key', '=', key)
    .where('next_run_at', '=', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Ends a job that its dispatcher gave up on (BullMQ's stalled limit), unless it already finished. */
export async function failUnfinished({
  tx,
  id,
  error,
  now,
}: {
  tx: Executor;
  id: string;
  error: string;
  now: number;
}) {
  await tx
    .updateTable('jobs')
    .set({ status: 'failed', error, finished_at: now, updated_at: now, lease_owner: null, lease_until: null })
    .where('id', '=', id)
    .where('status', 'in', ['queued', 'running'])
    .execute();
  await tx
    .updateTable('job_attempts')
    .set({ status: 'lost', ended_at: now, error })
    .where('job_id', '=', id)
    .where('status', '=', 'running')
    .execute();
}

/**
 * Deletes up to `limit` finished jobs (completed, failed, cancelled) that finished before `before`, with
 * their attempts; returns how many jobs went. Queued and running jobs are never touched.
 */
export async function deleteFinishedBefore({
  tx,
  before,
  limit,
}: {
  tx: Executor;
  before: number;
  limit: number;
}): Promise<number> {
  const rows = await tx
    .selectFrom('jobs')
    .select('id')
    .where('status', 'in', ['completed', 'failed', 'cancelled'])
    .where('finished_at', '<', before)
    .orderBy('finished_at')
    .limit(limit)
    .execute();
  const ids = rows.map((r) => r.id);
  if (ids.length === 0) return 0;
  await tx.deleteFrom('job_attempts').where('job_id', 'in', ids).execute();
  await tx.deleteFrom('jobs').where('id', 'in', ids).execute();
  return ids.length;
}

/** Deletes a job that was never dispatched (still queued, never attempted); true when it went. */
export async function deleteUndispatched({ tx, id }: { tx: Executor; id: string }): Promise<boolean> {
  const r = await tx
    .deleteFrom('jobs')
    .where('id', '=', id)
    .where('status', '=', 'queued')
    .where('attempts', '=', 0)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/**
 * Re-dispatch candidates of these lanes: queued rows last moved before `before` (never attempted, or
 * waiting for a retry or a hold), and running rows whose lease ran out by `now` (their worker died,
 * or Redis lost the job and nothing will deliver it again).
 */
export async function listUndispatched({
  tx,
  lanes,
  before,
  now,
  limit,
}: {
  tx: Executor;
  lanes: string[];
  before: number;
  now: number;
  limit: number;
}): Promise<JobRow[]> {
  return tx
    .selectFrom('jobs')
    .selectAll()
    .where('lane', 'in', lanes)
    .where((eb) =>
      eb.or([
        eb.and([eb('status', '=', 'queued'), eb('updated_at', '<', before)]),
        eb.and([eb('status', '=', 'running'), eb('lease_until', '<=', now)]),
      ]),
    )
    .orderBy('created_at')
    .limit(limit)
    .execute();
}

/**
 * The workers the attempt log has seen since `since`: each with the queues of the jobs it ran, its
 * last sign of life (an attempt start or end, or the heartbeat of the job it holds) and that job.
 */
export async function listWorkers({ tx, since }: { tx: Executor; since: number }) {
  return tx
    .selectFrom('job_attempts as a')
    .innerJoin('jobs as j', 'j.id', 'a.job_id')
    .select([
      'a.worker_id',
      'a.status',
      'a.started_at',
      'a.ended_at',
      'a.job_id',
      'j.queue',
      'j.name',
      'j.heartbeat_at',
    ])
    .where('a.started_at', '>=', since)
    .orderBy('a.started_at')
    .execute();
}

/**
 * Puts a job just claimed by `owner` back in the queue as held (admission said no): the claim is
 * undone (the attempt it counted too), so a held job is never failed and its attempts stay intact.
 */
export async function holdClaimed({
  tx,
  id,
  owner,
  attempt,
  reason,
  runAt,
  now,
}: {
  tx: Executor;
  id: string;
  owner: string;
  /** The attempt the claim counted; its log row, if the claim wrote one, goes with it. */
  attempt: number;
  reason: string;
  runAt: number;
  now: number;
}): Promise<boolean> {
  const r = await tx
    .updateTable('jobs')
    .set((eb) => ({
      status: 'queued',
      attempts: eb('attempts', '-', 1),
      lease_owner: null,
      lease_until: null,
      heartbeat_at: null,
      held_reason: reason,
      run_at: runAt,
      updated_at: now,
    }))
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .where('status', '=', 'running')
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) return false;
  await tx.deleteFrom('job_attempts').where('job_id', '=', id).where('attempt', '=', attempt).execute();
  return true;
}

/** Unfinished jobs counted per queue and state (queued free, queued held, running). */
export async function countUnfinished({ tx }: { tx: Executor }) {
  return tx
    .selectFrom('jobs')
    .select((eb) => [
      'queue',
      'status',
      eb.case().when('held_reason', 'is', null).then(0).else(1).end().as('held'),
      eb.fn.countAll<number | string>().as('n'),
    ])
    .where('status', 'in', ['queued', 'running'])
    .groupBy(['queue', 'status', 'held'])
    .execute();
}
