import type { AuditLog } from '../audit/index.js';
import type { BlobStore } from '../blobs/index.js';
import type { Db, Dialect } from '../store/index.js';
import type { Clock } from './clock.js';

/*
 * What every domain service is built from. It names types of the floors just above core (store,
 * audit, blobs), so this one file imports them, type-only: the compiled JavaScript of core still
 * imports nothing above core (dependency-cruiser allows type-only imports here and nowhere else).
 */
export interface DomainDeps {
  db: Db;
  dialect: Dialect;
  audit: AuditLog;
  clock: Clock;
  blobs: BlobStore;
}
