import path from 'node:path';
import S3rver from 's3rver';
import { S3BlobStore } from '../../src/blobs/index.js';

/*
 * A local S3 endpoint for tests (s3rver on a free loopback port, its objects under `dir`), and blob
 * stores on it. Close the blob stores first, then the server.
 */

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface LocalS3 {
  endpoint: string;
  /** A blob store on `bucket` under `prefix` (default 'blobs'); its temp files go under `dir`. */
  blobStore(options?: { prefix?: string }): S3BlobStore;
  close(): Promise<void>;
}

export async function startLocalS3({ dir, bucket }: { dir: string; bucket: string }): Promise<LocalS3> {
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: path.join(dir, 's3'),
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    blobStore: ({ prefix = 'blobs' } = {}) =>
      new S3BlobStore({
        bucket,
        prefix,
        endpoint,
        region: 'us-east-1',
        credentials: S3RVER_CREDENTIALS,
        forcePathStyle: true,
        tmpDir: dir,
      }),
    close: () => server.close(),
  };
}
