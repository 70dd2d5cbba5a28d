import type { Executor } from '../store/index.js';

/*
 * The median-stopping board's rows (sweep_curves): one per (sweep, trial, iteration), written in
 * iteration order by the trial's worker; `final` marks the last row of a trial that ended.
 */

/** Removes a trial's rows (a retried trial reports its curve again). */
export async function deleteCurve({ tx, sweepId, trial }: { tx: Executor; sweepId: string; trial: number }) {
  await tx.deleteFrom('sweep_curves').where('sweep_id', '=', sweepId).where('trial', '=', trial).execute();
}

/** Writes a trial's best-so-far at one iteration (again, when a retried trial reaches it). */
export async function upsertPoint({
  tx,
  sweepId,
  trial,
  iteration,
  best,
}: {
  tx: Executor;
  sweepId: string;
  trial: number;
  iteration: number;
  best: number | null;
}) {
  await tx
    .insertInto('sweep_curves')
    .values({ sweep_id: sweepId, trial, iteration, best, final: 0 })
    .onConflict((oc) => oc.columns(['sweep_id', 'trial', 'iteration']).doUpdateSet({ best, final: 0 }))
    .execute();
}

/** Marks a trial's row at `iteration` as its last. */
export async function markFinal({
  tx,
  sweepId,
  trial,
  iteration,
}: {
  tx: Executor;
  sweepId: string;
  trial: number;
  iteration: number;
}) {
  await tx
    .updateTable('sweep_curves')
    .set({ final: 1 })
    .where('sweep_id', '=', sweepId)
    .where('trial', '=', trial)
    .where('iteration', '=', iteration)
    .execute();
}

/**
 * The other trials' best-so-far at iteration i: the row at i of each trial that reached it, else the
 * final row of a trial that ended before i. A trial still short of i has neither and does not count.
 */
export async function othersAt({
  tx,
  sweepId,
  trial,
  iteration,
}: {
  tx: Executor;
  sweepId: string;
  trial: number;
  iteration: number;
}): Promise<(number | null)[]> {
  const rows = await tx
    .selectFrom('sweep_curves')
    .select('best')
    .where('sweep_id', '=', sweepId)
    .where('trial', '<>', trial)
    .where((eb) =>
      eb.or([
        eb('iteration', '=', iteration),
        eb.and([eb('final', '=', 1), eb('iteration', '<', iteration)]),
      ]),
    )
    .execute();
  return rows.map((r) => (r.best === null ? null : Number(r.best)));
}
