import type { AuditLog } from '../../audit/index.js';
import type { Clock } from '../../core/clock.js';
import { type Db, type Executor, inTransaction, type Tx } from '../../store/index.js';
import type { PredictionLabelTable } from '../../store/schema-serving.js';
import type { ServingEvents } from '../serving.events.js';
import { type FeedbackItem, type FeedbackOutcome, labelValueSchema } from '../serving.schema.js';
import {
  findLabels,
  findMulticlassPredictionClasses,
  findPredictionOwners,
  insertLabels,
} from './prediction.repo.js';
import type { SegmentReader } from './segment-reader.js';

/*
 * Delayed labels. A prediction has at most one label (its primary key), so feedback sent twice never
 * counts twice: the insert does nothing on conflict, and what is stored is then compared with what was
 * sent: the same label is a 'duplicate', a different one a CONFLICT. Concurrent senders of one label
 * race on the key, and exactly one of them records it.
 */

export interface SubmitFeedbackInput {
  actor: string;
  items: FeedbackItem[];
  /**
   * Called once before the second lookup of ids not found at first (the runtime passes its ledgers'
   * flush, so a prediction still buffered by an async ledger is found).
   */
  beforeLookup?: (() => Promise<void>) | undefined;
}

const failed = (predictionId: string, code: string, message: string): FeedbackOutcome => ({
  predictionId,
  status: 'failed',
  error: { code, message },
});

/** Records delayed labels, one outcome per item, in the order given. */
export function createFeedbackService(deps: {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  events: ServingEvents;
  /** The segment log: ids the `predictions` table does not hold are looked up there. */
  segments: SegmentReader;
}) {
  const { db, clock, audit, events, segments } = deps;

  type Owner = { deployment_id: string; model_version_id: string; error: string | null };
  /** Owners of the ids (table first, then the segments) and the classes of multiclass answers. */
  async function lookup(
    ids: string[],
  ): Promise<{ owners: Map<string, Owner>; classesOf: Map<string, string[]> }> {
    const owners: Map<string, Owner> = await findPredictionOwners({ tx: db, ids });
    const classesOf = await findMulticlassPredictionClasses({ tx: db, ids: [...owners.keys()] });
    const missing = ids.filter((id) => !owners.has(id));
    for (const r of await segments.findMany(missing)) {
      owners.set(r.id, {
        deployment_id: r.deployment_id,
        model_version_id: r.model_version_id,
        error: r.error,
      });
      const probabilities = (JSON.parse(r.outputs) as { probabilities?: Record<string, number> } | null)
        ?.probabilities;
      const classes = probabilities ? Object.keys(probabilities) : [];
      if (classes.length > 2) classesOf.set(r.id, classes);
    }
    return { owners, classesOf };
  }

  /** One entry per deployment whose predictions got labels in this request (duplicates write none). */
  async function auditRecorded(tx: Executor, actor: string, rows: PredictionLabelTable[]) {
    const byDeployment = new Map<string, PredictionLabelTable[]>();
    for (const r of rows)
      byDeployment.set(r.deployment_id, [...(byDeployment.get(r.deployment_id) ?? []), r]);
    for (const [deploymentId, labelled] of byDeployment)
      await audit.append(tx, {
        actor,
        action: 'feedback.record',
        entityType: 'deployment',
        entityId: deploymentId,
        after: labelled.map((r) => [r.prediction_id, r.label]),
        details: { count: labelled.length, first: labelled[0]?.prediction_id },
      });
  }

  /** One event per deployment that got new labels, so its monitors can look again. */
  async function emitRecorded(tx: Tx, actor: string, rows: PredictionLabelTable[]) {
    const byDeployment = new Map<string, { versions: Set<string>; recorded: number }>();
    for (const r of rows) {
      const d = byDeployment.get(r.deployment_id) ?? { versions: new Set<string>(), recorded: 0 };
      d.versions.add(r.model_version_id);
      d.recorded++;
      byDeployment.set(r.deployment_id, d);
    }
    for (const [deploymentId, d] of byDeployment)
      await events.emit(
        tx,
        'prediction.feedback.recorded',
        { deploymentId, modelVersionIds: [...d.versions].sort(), recorded: d.recorded, receivedBy: actor },
        { actor },
      );
  }

  return {
    /** Per item: recorded | duplicate (the same label again) | failed (NOT_FOUND, CONFLICT, VALIDATION_FAILED). */
    async submit(input: SubmitFeedbackInput): Promise<FeedbackOutcome[]> {
      const outcomes: (FeedbackOutcome | undefined)[] = new Array(input.items.length);
      const labels: (string | undefined)[] = new Array(input.items.length);
      const labelTexts: string[] = new Array(input.items.length);
      input.items.forEach((item, i) => {
        const id = typeof item?.prediction_id === 'string' ? item.prediction_id.trim() : '';
        if (!id) {
          outcomes[i] = failed(
            String(item?.prediction_id ?? ''),
            'VALIDATION_FAILED',
            `items[${i}].prediction_id: required`,
          );
          return;
        }
        const parsed = labelValueSchema.safeParse(item.label);
        if (!parsed.success) {
          outcomes[i] = failed(
            id,
            'VALIDATION_FAILED',
            `items[${i}].label: expected a finite number, a string (at most 1000 characters) or a boolean`,
          );
          return;
        }
        labels[i] = JSON.stringify(parsed.data);
        labelTexts[i] = String(parsed.data);
      });
      const idOf = (i: number) => input.items[i]?.prediction_id.trim() ?? '';
      const wanted = [
        ...new Set(input.items.map((_, i) => (labels[i] !== undefined ? idOf(i) : '')).filter(Boolean)),
      ];
      if (wanted.length === 0) return outcomes as FeedbackOutcome[];

      const { owners, classesOf } = await lookup(wanted);
      if (owners.size < wanted.length && input.beforeLookup) {
        await input.beforeLookup();
        const more = await lookup(wanted.filter((id) => !owners.has(id)));
        for (const [id, o] of more.owners) owners.set(id, o);
        // A multiclass model's label must be one of its classes: an unseen one would never count as right.
        for (const [id, c] of more.classesOf) classesOf.set(id, c);
      }

      const now = clock.now();
      await inTransaction(db, async (tx) => {
        const rows: PredictionLabelTable[] = [];
        const first = new Map<string, number>();
        input.items.forEach((_, i) => {
          const label = labels[i];
          if (label === undefined) return;
          const id = idOf(i);
          const owner = owners.get(id);
          if (!owner) {
            outcomes[i] = failed(id, 'NOT_FOUND', `prediction '${id}' does not exist`);
            return;
          }
          if (owner.error !== null) {
            const e = JSON.parse(owner.error) as { code?: string; message?: string };
            outcomes[i] = failed(
              id,
              'CONFLICT',
              `prediction '${id}' failed (${e.code ?? 'ERROR'}: ${e.message ?? 'no message'}); it has no output to label, nothing was stored`,
            );
            return;
          }
          const classes = classesOf.get(id);
          if (classes && !classes.includes(labelTexts[i]!)) {
            outcomes[i] = failed(
              id,
              'VALIDATION_FAILED',
              `items[${i}].label: '${labelTexts[i]}' is not one of the model's classes (${classes.join(', ')}); nothing was stored`,
            );
            return;
          }
          if (first.has(id)) return;
          first.set(id, i);
          rows.push({
            prediction_id: id,
            label,
            deployment_id: owner.deployment_id,
            model_version_id: owner.model_version_id,
            received_at: now,
            received_by: input.actor,
          });
        });
        if (rows.length === 0) return;
        const inserted = await insertLabels({ tx, rows });
        const recorded = rows.filter((r) => inserted.has(r.prediction_id));
        await auditRecorded(tx, input.actor, recorded);
        await emitRecorded(tx, input.actor, recorded);
        const stored = await findLabels({ tx, ids: [...first.keys()] });
        input.items.forEach((_, i) => {
          const label = labels[i];
          if (label === undefined || outcomes[i]) return;
          const id = idOf(i);
          if (inserted.has(id) && first.get(id) === i) outcomes[i] = { predictionId: id, status: 'recorded' };
          else if (stored.get(id) === label) outcomes[i] = { predictionId: id, status: 'duplicate' };
          else
            outcomes[i] = failed(
              id,
              'CONFLICT',
              `prediction '${id}' already has a different label (${stored.get(id) ?? 'unknown'}); labels are not overwritten`,
            );
        });
      });
      return outcomes as FeedbackOutcome[];
    },
  };
}

export type FeedbackService = ReturnType<typeof createFeedbackService>;
