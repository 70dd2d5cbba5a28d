/*
 * Table types of sweeps (ml): the median-stopping board, shared by trials on any worker.
 */

export interface SweepCurveTable {
  /** The sweep's parent run id. */
  sweep_id: string;
  /** 0-based trial index. */
  trial: number;
  /** 0-based iteration. */
  iteration: number;
  /** Best-so-far validation score up to this iteration; null when not a number. */
  best: number | null;
  /** 1 on a trial's last row once the trial ended (finished, stopped or failed). */
  final: number;
}

export interface SweepTables {
  sweep_curves: SweepCurveTable;
}
