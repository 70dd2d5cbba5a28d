/*
 * Table types of pipeline triggers. A trigger starts a pipeline on a cron slot, a new dataset version,
 * an event or a manual call; a firing is one such occasion, unique per (trigger, key), which is what
 * makes two replicas ticking the same slot, or an event delivered twice, start one run.
 */

export interface TriggerTable {
  id: string;
  name: string;
  /** The name while the trigger is live, null once removed: unique, so a removed name can be reused. */
  live_name: string | null;
  /** 'cron' | 'dataset' | 'event' | 'manual' */
  kind: string;
  pipeline: string;
  /** JSON of the trigger spec as created (on, params, concurrency, description). */
  spec: string;
  /** 'skip' | 'queue' | 'cancel-older' */
  concurrency: string;
  /**
   * Where polling resumes: cron, the last slot fired (epoch ms as text); dataset, the last version id
   * seen (ids sort by time). Only moves forward (conditional update).
   */
  cursor: string | null;
  created_at: number;
  created_by: string;
  deleted_at: number | null;
}

export interface TriggerFiringTable {
  id: string;
  trigger_id: string;
  /** What fired it, e.g. `cron:2026-01-01T03:00:00.000Z`, `dataset:dsv_...`, `event:evt_...`. */
  key: string;
  /** 'pending' | 'started' | 'skipped' | 'queued' | 'failed' */
  status: string;
  run_id: string | null;
  /** JSON of the params given to the pipeline (after templating). */
  params: string;
  /** JSON of what the params were rendered from (the event payload, the dataset version, the slot). */
  context: string;
  error: string | null;
  actor: string;
  created_at: number;
  updated_at: number;
}

/** Table types of pipeline triggers. */
export interface TriggerTables {
  triggers: TriggerTable;
  trigger_firings: TriggerFiringTable;
}
