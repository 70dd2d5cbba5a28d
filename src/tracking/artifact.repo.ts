import type { ArtifactTable, Executor } from '../store/index.js';

export async function upsertArtifact({
  tx,
  row,
}: {
  tx: Executor;
  row: ArtifactTable;
}): Promise<ArtifactTable | undefined> {
  const before = await findArtifact({ tx, runId: row.run_id, path: row.path });
  await tx
    .insertInto('artifacts')
    .values(row)
    .onConflict((oc) =>
      oc
        .columns(['run_id', 'path'])
        .doUpdateSet({ sha256: row.sha256, size: row.size, created_at: row.created_at }),
    )
    .execute();
  return before;
}

export async function findArtifact({ tx, runId, path }: { tx: Executor; runId: string; path: string }) {
  return tx
    .selectFrom('artifacts')
    .selectAll()
    .where('run_id', '=', runId)
    .where('path', '=', path)
    .executeTakeFirst();
}

/** Artifacts whose path starts with a folder prefix ('' for all), in path order. */
export async function listArtifactsUnder({
  tx,
  runId,
  prefix,
}: {
  tx: Executor;
  runId: string;
  prefix: string;
}) {
  let q = tx.selectFrom('artifacts').selectAll().where('run_id', '=', runId);
  // substr equality instead of LIKE: paths may contain % and _.
  if (prefix)
    q = q.where((eb) => eb(eb.fn('substr', ['path', eb.val(1), eb.val(prefix.length)]), '=', prefix));
  return q.orderBy('path').execute();
}

export async function deleteArtifact({ tx, runId, path }: { tx: Executor; runId: string; path: string }) {
  const r = await tx
    .deleteFrom('artifacts')
    .where('run_id', '=', runId)
    .where('path', '=', path)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
