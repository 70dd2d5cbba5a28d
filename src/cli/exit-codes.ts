/**
 * The CLI's exit codes: one table for every command, documented in the README ("Exit codes").
 * Errors of the AppError family keep the codes core/errors.ts gives them (2 usage, 3 not found, ...);
 * the two outcomes that are answers rather than errors (a check that failed, a move a policy blocked)
 * get their own codes so scripts can tell them from a crash or a typo.
 */
export const exitCodes = {
  ok: 0,
  /** A failure the CLI cannot classify (a bug, an unexpected response). */
  unexpected: 1,
  /** Bad option, argument or input file: nothing was changed. */
  usage: 2,
  notFound: 3,
  /** Already exists, a concurrent change, or a transition the current state does not allow. */
  conflict: 4,
  unauthenticated: 5,
  forbidden: 6,
  /** Stored content or the audit chain does not match its checksums. */
  integrity: 7,
  /** The server cannot be reached or is not ready (also: a port already in use, chromium missing for a PDF). */
  unavailable: 8,
  /** The command ran and its check said no: a failed quality suite, a run that did not reproduce. */
  checkFailed: 9,
  /** A promotion or rollback that a policy gate blocked. */
  blockedByPolicy: 10,
  /** New work refused because its budget's hard limit is spent (BUDGET_EXCEEDED). */
  budgetExceeded: 11,
} as const;

/**
 * An outcome that is an answer, not a crash: the command printed its result, then ends with this
 * code and a one-line reason on stderr (JSON with --json).
 */
export class CliOutcome extends Error {
  constructor(
    readonly code: 'CHECK_FAILED' | 'BLOCKED_BY_POLICY',
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  get exitCode(): number {
    return this.code === 'CHECK_FAILED' ? exitCodes.checkFailed : exitCodes.blockedByPolicy;
  }
}
