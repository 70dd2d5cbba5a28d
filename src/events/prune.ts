import { type Db, deleteInBatches } from '../store/index.js';
import * as repo from './event.repo.js';

/**
 * Deletes every event created before `before` that no subscriber still has to act on, with its
 * deliveries; returns how many. Pending deliveries keep their event whatever its age.
 */
export function pruneSettledEvents(db: Db, before: number): Promise<number> {
  return deleteInBatches(db, (tx, limit) => repo.deleteSettledBefore({ tx, before, limit }));
}
