import type {
  AuditCheckpointTable,
  AuditEntryTable,
  AuditHeadTable,
  Dialect,
  Executor,
} from '../store/index.js';

/** The lock that serialises appenders of the chain (gc takes it too, before its table locks). */
export const AUDIT_CHAIN_LOCK = 7461726974;

/** Serialises appenders until the transaction ends. */
export async function lockChain({ tx, dialect }: { tx: Executor; dialect: Dialect }): Promise<void> {
  await dialect.lockForTransaction(tx, AUDIT_CHAIN_LOCK);
}

export async function findHead({ tx }: { tx: Executor }): Promise<AuditHeadTable | undefined> {
  return tx.selectFrom('audit_head').selectAll().where('id', '=', 1).executeTakeFirst();
}

export async function insertEntry({ tx, entry }: { tx: Executor; entry: AuditEntryTable }): Promise<void> {
  await tx.insertInto('audit_entries').values(entry).execute();
}

export async function upsertHead({
  tx,
  head,
}: {
  tx: Executor;
  head: Omit<AuditHeadTable, 'id'>;
}): Promise<void> {
  await tx
    .insertInto('audit_head')
    .values({ id: 1, ...head })
    .onConflict((oc) => oc.column('id').doUpdateSet(head))
    .execute();
}

export async function insertCheckpoint({
  tx,
  checkpoint,
}: {
  tx: Executor;
  checkpoint: AuditCheckpointTable;
}) {
  await tx
    .insertInto('audit_checkpoints')
    .values(checkpoint)
    .onConflict((oc) => oc.column('seq').doNothing())
    .execute();
}

export async function listCheckpoints({ tx }: { tx: Executor }): Promise<AuditCheckpointTable[]> {
  return tx.selectFrom('audit_checkpoints').selectAll().orderBy('seq').execute();
}

/** Entries in the order they are physically stored by sequence, a page at a time. */
export async function listEntriesAfter({
  tx,
  afterSeq,
  upTo,
  limit,
}: {
  tx: Executor;
  afterSeq: number;
  upTo: number;
  limit: number;
}): Promise<AuditEntryTable[]> {
  return tx
    .selectFrom('audit_entries')
    .selectAll()
    .where('seq', '>', afterSeq)
    .where('seq', '<=', upTo)
    .orderBy('seq')
    .limit(limit)
    .execute();
}

/** The highest sequence number stored (0 when empty). */
export async function maxSeq({ tx }: { tx: Executor }): Promise<number> {
  const row = await tx
    .selectFrom('audit_entries')
    .select((eb) => eb.fn.max('seq').as('max'))
    .executeTakeFirst();
  return Number(row?.max ?? 0);
}

export async function listEntriesFor({
  tx,
  entityType,
  entityId,
  limit,
}: {
  tx: Executor;
  entityType?: string;
  entityId?: string;
  limit: number;
}): Promise<AuditEntryTable[]> {
  let q = tx.selectFrom('audit_entries').selectAll();
  if (entityType) q = q.where('entity_type', '=', entityType);
  if (entityId) q = q.where('entity_id', '=', entityId);
  return q.orderBy('seq', 'desc').limit(limit).execute();
}
