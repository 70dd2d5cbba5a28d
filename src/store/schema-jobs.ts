/*
 * Table types of the jobs seam. A job row is the visible record of one unit of background work on
 * both implementations (in-process and BullMQ); each attempt of it is logged; a schedule makes a job
 * once per tick.
 */

export interface JobTable {
  id: string;
  name: string;
  queue: string;
  /** 'queued' | 'running' | 'completed' | 'failed' | 'cancelled' (JobStatus). */
  status: string;
  /** The validated payload, JSON. */
  payload: string;
  /** 0: none (runs before any prioritised job, as in BullMQ); otherwise lower runs sooner. */
  priority: number;
  /** JSON array: a worker takes the job only when it has every tag. */
  tags: string;
  /** queue, then '@' and the sorted tags if any ('train@gpu'): what a worker listens on. */
  lane: string;
  /** The same key always names the same job: enqueue with it returns the existing one. */
  idempotency_key: string | null;
  /** The repeat schedule that made this job, if any. */
  schedule_key: string | null;
  /** Attempts started so far. */
  attempts: number;
  max_attempts: number;
  /** First retry delay; doubles per attempt. */
  backoff_ms: number;
  timeout_ms: number;
  /** Not before this time (delay, or the next retry). */
  run_at: number;
  /** Who runs the job right now and until when; taken by a conditional UPDATE. */
  lease_owner: string | null;
  lease_until: number | null;
  heartbeat_at: number | null;
  /** JSON: the last progress the handler reported. */
  progress: string | null;
  /** JSON: the handler's result summary. */
  result: string | null;
  error: string | null;
  /** Set in the transaction that committed the job's effects: they are never committed twice. */
  committed_at: number | null;
  cancelled_by: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  /** JSON JobScope: the experiment, run and tags this job's cost falls on (admission checks it); null: none. */
  scope: string | null;
  /** Why a queued job is held back (an exhausted budget); null when it is free to run. */
  held_reason: string | null;
}

export interface JobAttemptTable {
  id: string;
  job_id: string;
  attempt: number;
  worker_id: string;
  /** 'running' | 'completed' | 'failed' | 'cancelled' | 'lost' (AttemptStatus). */
  status: string;
  started_at: number;
  ended_at: number | null;
  error: string | null;
}

export interface JobScheduleTable {
  key: string;
  name: string;
  payload: string;
  cron: string | null;
  every_ms: number | null;
  /** The next tick; moved on by the one process that wins a conditional UPDATE for it. */
  next_run_at: number;
  created_at: number;
  updated_at: number;
}

/** Table types of the jobs seam. */
export interface JobTables {
  jobs: JobTable;
  job_attempts: JobAttemptTable;
  job_schedules: JobScheduleTable;
}
