import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBlobStore } from './create-blob-store.js';
import { LocalBlobStore } from './local-blob-store.js';
import { S3BlobStore } from './s3-blob-store.js';

const s3 = { region: 'us-east-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' } };

describe('createBlobStore', () => {
  it('opens a folder store for file: URLs, absolute, relative or in file:/// form', () => {
    const cases: [string, string][] = [
      ['file:/var/sextant/blobs', '/var/sextant/blobs'],
      ['file:./.sextant/blobs', path.resolve('.sextant/blobs')],
      ['file:///var/sextant/my%20blobs', '/var/sextant/my blobs'],
    ];
    for (const [url, root] of cases) {
      const store = createBlobStore(url);
      expect(store).toBeInstanceOf(LocalBlobStore);
      expect(store.kind).toBe('file');
      expect((store as LocalBlobStore).root).toBe(root);
    }
  });

  it('opens an S3 store for s3://bucket/prefix', async () => {
    const store = createBlobStore('s3://ml-artifacts/team-a/blobs', { s3 });
    expect(store).toBeInstanceOf(S3BlobStore);
    expect(store.kind).toBe('s3');
    expect((store as S3BlobStore).bucket).toBe('ml-artifacts');
    expect((store as S3BlobStore).prefix).toBe('team-a/blobs/');
    expect((store as S3BlobStore).url).toBe('s3://ml-artifacts/team-a/blobs/');
    expect((createBlobStore('s3://ml-artifacts', { s3 }) as S3BlobStore).prefix).toBe('');
    await store.close();
  });

  it('names SEXTANT_BLOB_URL when the URL is unusable', () => {
    const bad = [
      'gs://bucket/prefix',
      '/just/a/path',
      'file:',
      'file://remote-host/share',
      's3://',
      's3://key:secret@bucket/prefix',
      's3://bucket/prefix?region=eu-west-1',
      's3://Bad_Bucket/prefix',
      's3://MixedCase/prefix',
      's3://bucket/%zz',
      's3://bucket/../escape',
    ];
    for (const url of bad) {
      expect(() => createBlobStore(url, { s3 }), url).toThrow(
        expect.objectContaining({ code: 'VALIDATION_FAILED', details: { field: 'SEXTANT_BLOB_URL' } }),
      );
    }
  });
});
