import type { Executor, MultipartPartTable, MultipartUploadTable } from '../store/index.js';

export async function insertUpload({ tx, row }: { tx: Executor; row: MultipartUploadTable }): Promise<void> {
  await tx.insertInto('multipart_uploads').values(row).execute();
}

export async function findUpload({ tx, id }: { tx: Executor; id: string }) {
  return tx.selectFrom('multipart_uploads').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Records a part; sending the same part number again replaces it (a client retry). */
export async function upsertPart({ tx, row }: { tx: Executor; row: MultipartPartTable }): Promise<void> {
  await tx
    .insertInto('multipart_parts')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['upload_id', 'part_number']).doUpdateSet({ sha256: row.sha256, size: row.size }),
    )
    .execute();
}

export async function listParts({ tx, uploadId }: { tx: Executor; uploadId: string }) {
  return tx
    .selectFrom('multipart_parts')
    .selectAll()
    .where('upload_id', '=', uploadId)
    .orderBy('part_number')
    .execute();
}

/** Forgets an upload and its parts (their blobs stay until gc finds them unreferenced). */
export async function deleteUpload({ tx, id }: { tx: Executor; id: string }): Promise<boolean> {
  await tx.deleteFrom('multipart_parts').where('upload_id', '=', id).execute();
  const r = await tx.deleteFrom('multipart_uploads').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
