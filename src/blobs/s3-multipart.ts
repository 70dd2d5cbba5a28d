import { createReadStream } from 'node:fs';
import type { CompletedPart, S3Client } from '@aws-sdk/client-s3';
import { lazyRequire } from '../core/lazy-require.js';

const s3 = lazyRequire<typeof import('@aws-sdk/client-s3')>('@aws-sdk/client-s3');

// S3's own limits: parts of at least 5 MiB (but the last), at most 10,000 parts per object.
const MIN_PART_BYTES = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;
const PARTS_IN_FLIGHT = 4;

export interface MultipartUpload {
  client: S3Client;
  bucket: string;
  key: string;
  filePath: string;
  size: number;
  partSizeBytes: number;
}

/**
 * Uploads a local file as a multipart object, a few parts at a time, each part read straight from the file.
 * A single PutObject stops at 5 GiB, and models and data sets pass that. On failure the upload is aborted,
 * so no orphaned parts keep costing storage.
 */
export async function uploadFileMultipart(u: MultipartUpload): Promise<void> {
  const partSize = Math.max(u.partSizeBytes, MIN_PART_BYTES, Math.ceil(u.size / MAX_PARTS));
  const partCount = Math.max(1, Math.ceil(u.size / partSize));
  const created = await u.client.send(
    new (s3().CreateMultipartUploadCommand)({
      Bucket: u.bucket,
      Key: u.key,
      ContentType: 'application/octet-stream',
    }),
  );
  const uploadId = created.UploadId;
  if (uploadId === undefined) throw new Error(`S3 returned no UploadId for ${u.key}`);
  try {
    const parts: CompletedPart[] = new Array(partCount);
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (next < partCount && !failed) {
        const index = next++;
        const start = index * partSize;
        const end = Math.min(start + partSize, u.size);
        const res = await u.client.send(
          new (s3().UploadPartCommand)({
            Bucket: u.bucket,
            Key: u.key,
            UploadId: uploadId,
            PartNumber: index + 1,
            ContentLength: end - start,
            // createReadStream's `end` is inclusive; an empty file still uploads one empty part.
            Body: createReadStream(u.filePath, { start, end: Math.max(start, end - 1) }),
          }),
        );
        parts[index] = { ETag: res.ETag, PartNumber: index + 1 };
      }
    };
    // Settle every worker before aborting: a part still in flight after the abort would be stored again.
    const outcomes = await Promise.allSettled(
      Array.from({ length: Math.min(PARTS_IN_FLIGHT, partCount) }, () =>
        worker().catch((err: unknown) => {
          failed = true;
          throw err;
        }),
      ),
    );
    const rejected = outcomes.find((o) => o.status === 'rejected');
    if (rejected) throw rejected.reason;
    await u.client.send(
      new (s3().CompleteMultipartUploadCommand)({
        Bucket: u.bucket,
        Key: u.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
  } catch (err) {
    await u.client
      .send(new (s3().AbortMultipartUploadCommand)({ Bucket: u.bucket, Key: u.key, UploadId: uploadId }))
      .catch(() => {});
    throw err;
  }
}
