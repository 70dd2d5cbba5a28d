import { createReadStream } from 'node:fs';
import { addVersionWith, type DataApi, getVersionWith } from '../../client/data-api.js';
import type { Services } from '../../server/services.js';

// Local puts are bounded by fsync, not the CPU: several in flight let the disk overlap them.
const LOCAL_PUT_CONCURRENCY = 8;
/*
 * Read chunks sized to the file, up to 8 MiB: the blob store hashes and writes chunk by chunk, and on a busy
 * machine every chunk's round trip through the event loop costs a scheduling delay, so a 1 GiB file goes in
 * 128 steps rather than 16,384 default-sized ones.
 */
const readBufferFor = (size: number) => Math.min(8 * 1024 * 1024, Math.max(64 * 1024, size));

/** DataApi served in-process from a local workspace. */
export function dataLocalApi(s: Services, actor: string): DataApi {
  const v = s.data.versions;
  const api: DataApi = {
    listDatasets: () => v.listDatasets(),
    listVersions: (dataset) => v.listVersions(dataset),
    show: (ref) => v.resolve(ref),
    add: (input) => addVersionWith(api, input, LOCAL_PUT_CONCURRENCY),
    missingBlobs: (blobs) => v.missingBlobs(blobs),
    // No hash given: the blob store hashes while it copies, so a big file is read once.
    uploadFile: (f) => {
      const content = createReadStream(f.localPath, { highWaterMark: readBufferFor(f.size) });
      return f.sha256 ? v.putBlob({ sha256: f.sha256, content }) : s.blobs.put(content);
    },
    commit: (dataset, body) => v.create({ actor, dataset, ...body }),
    download: async (ref, filePath) => (await v.openFile(ref, filePath)).stream,
    get: (ref, destDir, opts) => getVersionWith(api, ref, destDir, opts),
    diff: (a, b) => v.diff(a, b),
    tag: (ref, tag) => v.tag({ actor, ref, tag }),
  };
  return api;
}
