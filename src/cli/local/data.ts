import { createReadStream } from 'node:fs';
import { addVersionWith, type DataApi, getVersionWith } from '../../client/data-api.js';
import type { Services } from '../../server/services.js';

// Local puts are bounded by fsync, not the CPU: several in flight let the disk overlap them.
const LOCAL_PUT_CONCURRENCY = 8;
const READ_BUFFER = 1024 * 1024;

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
      const content = createReadStream(f.localPath, { highWaterMark: READ_BUFFER });
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
