import { type Db, deleteInBatches } from '../store/index.js';
import * as repo from './job.repo.js';

/** Deletes every finished job (and its attempts) that finished before `before`; returns how many. */
export function pruneFinishedJobs(db: Db, before: number): Promise<number> {
  return deleteInBatches(db, (tx, limit) => repo.deleteFinishedBefore({ tx, before, limit }));
}
