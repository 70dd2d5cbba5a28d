import { z } from 'zod';

/*
 * The admission seam: whether a job may be enqueued, and whether a queued one may start now. Jobs
 * sit below cost (and every other domain that may want a say), so they take a port; the wiring
 * (app/services.ts) connects it to budgets. A refusal at enqueue is an error the caller sees; a
 * refusal at claim time holds the job: it stays queued with its reason and is looked at again later,
 * never failed.
 */

/** What a job's cost falls on: its experiment, the run it belongs to (a sweep's parent) and tags. */
export const jobScopeSchema = z.strictObject({
  experimentId: z.string().min(1).max(200).optional(),
  runId: z.string().min(1).max(200).optional(),
  tags: z.record(z.string().max(250), z.string().max(5000)).optional(),
});
export type JobScope = z.infer<typeof jobScopeSchema>;

/** A job asking to be admitted. */
export interface AdmissionRequest {
  name: string;
  queue: string;
  scope: JobScope;
}

/** Tells, for a scope, why it is held now; null when it may run. */
export type HoldCheck = (scope: JobScope) => string | null;

export interface JobAdmission {
  /**
   * At enqueue: returns the scope to store (the port may add what it knows, e.g. the run's tags), or
   * throws an AppError (BUDGET_EXCEEDED) to refuse the job; nothing is written then.
   */
  admit(request: AdmissionRequest): Promise<JobScope>;
  /**
   * Read once per claim pass, before the claim's transaction (so a port that reads the database never
   * waits on it): the check each claimed job with a scope goes through.
   */
  holds(): Promise<HoldCheck>;
}

/** Admits everything: a queue with no one to ask (tests, tools that run no budgets). */
export const admitAll: JobAdmission = {
  admit: async ({ scope }) => scope,
  holds: async () => () => null,
};

/** How long a held job waits before it is looked at again (a raised budget or a new period frees it). */
export const HOLD_RECHECK_MS = 15_000;
