/** The lock key appenders of the chain hold (gc takes it before its table locks, in that order). */
export { AUDIT_CHAIN_LOCK } from './audit.repo.js';
export * from './audit.schema.js';
export type { AuditLog, AuditLogDeps, SignedCheckpoint } from './audit.service.js';
/** Creates the hash-chained audit log over a store. */
export { createAuditLog } from './audit.service.js';
/** Finds or creates the key that signs the audit head and checkpoints. */
export { resolveAuditKey } from './audit-key.js';
export type { AuditWitness, WitnessRecord } from './audit-witness.js';
/** The witness kept in a file, and the one of a workspace's database (`audit-witness-<id>.json` beside the key). */
export { createFileWitness, workspaceWitness, workspaceWitnessFile } from './audit-witness.js';
export type { GovernedRow, GovernedTable } from './governed-rows.js';
/** What an audit entry records of a governed row (users, api_tokens, model_aliases, ...), and of its removal. */
export { GOVERNED_TABLES, governedRemoval, governedRow } from './governed-rows.js';
/** Seals the prediction log into the audit chain (the `audit.seal-predictions` job); `verify --deep` checks the seals. */
export { createPredictionSealer, type PredictionSealer, SEAL_GRACE_MS } from './prediction-seal.js';
/** The action of the entry serving writes when it seals a segment of the prediction log (`verify --deep` checks them). */
export { SEGMENT_PRUNE_ACTION, SEGMENT_SEAL_ACTION } from './prediction-seal.repo.js';
