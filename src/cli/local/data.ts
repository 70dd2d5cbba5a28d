import type { CoreServices } from '../../app/index.js';
import { addVersionWith, type DataApi, getVersionWith } from '../../client/data-api.js';

/** DataApi served in-process from a local workspace. */
export function dataLocalApi(s: Pick<CoreServices, 'data'>, actor: string): DataApi {
  const v = s.data.versions;
  const api: DataApi = {
    listDatasets: () => v.listDatasets(),
    listVersions: (dataset) => v.listVersions(dataset),
    show: (ref) => v.resolve(ref),
    add: (input) => addVersionWith(api, input),
    missingBlobs: (blobs) => v.missingBlobs(blobs),
    // The blob store copies the file in the kernel while it hashes it, so a big file is read once.
    uploadFile: (f) => v.putLocalFile({ localPath: f.localPath, ...(f.sha256 ? { sha256: f.sha256 } : {}) }),
    // One batch: the blob store makes the files durable together (each folder fsynced once), then the commit.
    uploadFiles: (files, onStored) =>
      v.putLocalFiles(
        files.map((f) => ({ localPath: f.localPath, ...(f.sha256 ? { sha256: f.sha256 } : {}) })),
        onStored ? (i) => onStored(files[i]!) : undefined,
      ),
    commit: (dataset, body) => v.create({ actor, dataset, ...body }),
    download: async (ref, filePath) => (await v.openFile(ref, filePath)).stream,
    get: (ref, destDir, opts) => getVersionWith(api, ref, destDir, opts),
    diff: (a, b) => v.diff(a, b),
    tag: (ref, tag) => v.tag({ actor, ref, tag }),
  };
  return api;
}
