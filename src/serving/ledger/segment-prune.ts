import { rm } from 'node:fs/promises';
import { type AuditLog, SEGMENT_PRUNE_ACTION } from '../../audit/index.js';
import type { BlobStore } from '../../blobs/index.js';
import { type Clock, toIso } from '../../core/clock.js';
import { ValidationError } from '../../core/errors.js';
import { type Db, inTransaction } from '../../store/index.js';
import type { PruneSummary } from '../serving.schema.js';
import { blobInUse, listSealedBefore, markSegmentsPruned } from './segment.repo.js';
import { inputKeysPath } from './segment-columns.js';
import { cachedParquetPath } from './segment-parquet.js';

/*
 * Retention of the prediction log: `predictions prune --before <time>` drops whole sealed segments
 * whose every prediction was served before the time (a segment straddling it stays whole; open
 * segments are never pruned; rows of the old `predictions` table are not touched). The segments'
 * index rows are marked pruned and the prune's audit entry names them, in one transaction; then their
 * Parquet blobs are deleted (a blob another segment still names stays), with this host's cached copies
 * (other hosts' caches are not reached). Labels stay (keyed by id).
 */

/** Prunes the segment log. */
export function createPredictionPruner(deps: {
  db: Db;
  blobs: BlobStore;
  audit: Pick<AuditLog, 'append'>;
  clock: Clock;
  /** This host's cache of sealed segments: a pruned segment's copy is removed from it too. */
  cacheDir?: string | undefined;
}) {
  return {
    /** Drops the sealed segments served wholly before `before` (epoch ms); says what it dropped. */
    async prune({ actor, before }: { actor: string; before: number }): Promise<PruneSummary> {
      if (!Number.isFinite(before) || before > deps.clock.now())
        throw new ValidationError(
          'before: must be a time in the past (a future time would drop every sealed segment)',
          {
            field: 'before',
          },
        );
      const { dropped, summary } = await inTransaction(deps.db, async (tx) => {
        const candidates = await listSealedBefore({ tx, before });
        const taken = await markSegmentsPruned({ tx, ids: candidates.map((s) => s.id) });
        const dropped = candidates.filter((s) => taken.has(s.id));
        const firsts = dropped.filter((s) => s.first_at !== null).map((s) => Number(s.first_at));
        const lasts = dropped.filter((s) => s.last_at !== null).map((s) => Number(s.last_at));
        const summary: PruneSummary = {
          before: toIso(before),
          segments: dropped.length,
          rows: dropped.reduce((n, s) => n + Number(s.row_count), 0),
          firstServedAt: firsts.length ? toIso(Math.min(...firsts)) : null,
          lastServedAt: lasts.length ? toIso(Math.max(...lasts)) : null,
          deployments: [...new Set(dropped.map((s) => s.deployment_id))].sort(),
        };
        await deps.audit.append(tx, {
          actor,
          action: SEGMENT_PRUNE_ACTION,
          entityType: 'prediction_log',
          entityId: 'segments',
          details: { ...summary, segmentIds: dropped.map((s) => s.id) },
        });
        return { dropped, summary };
      });
      for (const s of dropped) {
        if (!s.blob_key) continue;
        if (deps.cacheDir) {
          const cached = cachedParquetPath(deps.cacheDir, s.blob_key);
          await rm(cached, { force: true });
          await rm(inputKeysPath(cached), { force: true });
        }
        if (!(await blobInUse({ tx: deps.db, blobKey: s.blob_key }))) await deps.blobs.delete(s.blob_key);
      }
      return summary;
    },
  };
}

export type PredictionPruner = ReturnType<typeof createPredictionPruner>;
