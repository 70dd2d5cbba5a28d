/** Error codes shared by the API, the CLI and the client. */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'CONFLICT'
  | 'INVALID_TRANSITION'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INTEGRITY_ERROR'
  | 'UNAVAILABLE'
  | 'BUDGET_EXCEEDED'
  | 'UPSTREAM_ERROR'
  | 'UPSTREAM_TIMEOUT'
  | 'INTERNAL';

const httpStatusOf: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  CONFLICT: 409,
  INVALID_TRANSITION: 409,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTEGRITY_ERROR: 500,
  UNAVAILABLE: 503,
  // Payment Required: the work is refused because its budget is spent, not because the input is wrong.
  BUDGET_EXCEEDED: 402,
  // An external model server (the gateway's upstream) failed or answered garbage: not our fault, not the caller's.
  UPSTREAM_ERROR: 502,
  UPSTREAM_TIMEOUT: 504,
  INTERNAL: 500,
};

/** Exit codes of the CLI, one per error code (0 is success, 1 an unexpected failure). */
const exitCodeOf: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 2,
  NOT_FOUND: 3,
  ALREADY_EXISTS: 4,
  CONFLICT: 4,
  INVALID_TRANSITION: 4,
  UNAUTHENTICATED: 5,
  FORBIDDEN: 6,
  PAYLOAD_TOO_LARGE: 2,
  UNSUPPORTED_MEDIA_TYPE: 2,
  INTEGRITY_ERROR: 7,
  UNAVAILABLE: 8,
  BUDGET_EXCEEDED: 11,
  UPSTREAM_ERROR: 8,
  UPSTREAM_TIMEOUT: 8,
  INTERNAL: 1,
};

export interface AppErrorShape {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** The one error family: a code, an HTTP status, a message a person can read, and optional details. */
export class AppError extends Error implements AppErrorShape {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = httpStatusOf[code];
    if (details !== undefined) this.details = details;
  }

  toJSON(): AppErrorShape {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export class ValidationError extends AppError {
  /** `field` names the offending input, e.g. "body.metrics[3].key". */
  constructor(message: string, details?: { field?: string } & Record<string, unknown>) {
    super('VALIDATION_FAILED', message, details);
  }
}
export class NotFoundError extends AppError {
  constructor(entity: string, id: string) {
    super('NOT_FOUND', `${entity} '${id}' does not exist`, { entity, id });
  }
}
export class AlreadyExistsError extends AppError {
  constructor(entity: string, id: string) {
    super('ALREADY_EXISTS', `${entity} '${id}' already exists`, { entity, id });
  }
}
export class ConflictError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('CONFLICT', message, details);
  }
}
export class InvalidTransitionError extends AppError {
  constructor(entity: string, from: string, to: string) {
    super('INVALID_TRANSITION', `${entity} cannot go from ${from} to ${to}`, { entity, from, to });
  }
}
export class UnauthenticatedError extends AppError {
  constructor(message = 'a valid API token is required (Authorization: Bearer <token>)') {
    super('UNAUTHENTICATED', message);
  }
}
export class ForbiddenError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('FORBIDDEN', message, details);
  }
}
export class PayloadTooLargeError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('PAYLOAD_TOO_LARGE', message, details);
  }
}
/** A body in a media type the endpoint does not read; the message names those it does. */
export class UnsupportedMediaTypeError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('UNSUPPORTED_MEDIA_TYPE', message, details);
  }
}
/** The service cannot answer now (draining, not ready, a full buffer that did not drain in time): retry later. */
export class UnavailableError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('UNAVAILABLE', message, details);
  }
}
/** New work in the scope of a budget whose hard limit is spent for this period (raise it, or wait for the next period). */
export class BudgetExceededError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('BUDGET_EXCEEDED', message, details);
  }
}
/** An external model server refused, failed or answered something unreadable (HTTP 502). */
export class UpstreamError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('UPSTREAM_ERROR', message, details);
  }
}
/** An external model server did not answer in time (HTTP 504). */
export class UpstreamTimeoutError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('UPSTREAM_TIMEOUT', message, details);
  }
}
export class IntegrityError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('INTEGRITY_ERROR', message, details);
  }
}

/** Recognises an AppError by shape, so errors that crossed a module or process boundary still count. */
export function isAppError(err: unknown): err is AppError {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; message?: unknown };
  return typeof e.code === 'string' && e.code in httpStatusOf && typeof e.message === 'string';
}

/** HTTP status for an error code. */
export function httpStatusFor(code: ErrorCode): number {
  return httpStatusOf[code];
}

/** CLI exit code for an error code. */
export function exitCodeFor(code: ErrorCode): number {
  return exitCodeOf[code];
}

/** Exhaustiveness check for switches over string-literal unions. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${String(value)}`);
}
