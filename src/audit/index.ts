/** The lock key appenders of the chain hold (gc takes it before its table locks, in that order). */
export { AUDIT_CHAIN_LOCK } from './audit.repo.js';
export * from './audit.schema.js';
export type { AuditLog, AuditLogDeps, SignedCheckpoint } from './audit.service.js';
/** Creates the hash-chained audit log over a store. */
export { createAuditLog } from './audit.service.js';
/** Finds or creates the key that signs the audit head and checkpoints. */
export { resolveAuditKey } from './audit-key.js';
