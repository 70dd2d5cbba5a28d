import type { AuditLog } from '../audit/index.js';
import type { BlobStore } from '../blobs/index.js';
import type { Clock } from '../core/clock.js';
import type { Db, Dialect } from '../store/index.js';

/** What the tracking services are built from; tests pass a real database and a fake clock. */
export interface TrackingDeps {
  db: Db;
  dialect: Dialect;
  audit: AuditLog;
  clock: Clock;
  blobs: BlobStore;
}
