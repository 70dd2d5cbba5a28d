import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { mapLimit } from '../core/concurrency.js';
import { AppError, IntegrityError, ValidationError } from '../core/errors.js';
import type {
  AddResult,
  CreateVersionInput,
  DatasetDiff,
  DatasetSummary,
  DatasetVersion,
  VersionMetadata,
  VersionSummary,
} from '../data/dataset.schema.js';
import type { HttpTransport } from './http-transport.js';

/** A local file to put in a version: its path in the version, where it is, and (if known) its hash. */
export interface LocalFile {
  path: string;
  localPath: string;
  size: number;
  /** Unset: hashed while it is stored (local workspace) or just before upload (server). */
  sha256?: string;
}

export interface DataProgress {
  phase: 'upload' | 'download';
  done: number;
  total: number;
}

export interface AddVersionInput extends VersionMetadata {
  dataset: string;
  files: LocalFile[];
  onProgress?: (p: DataProgress) => void;
}

/** The Data part of SextantApi: dataset versions, one interface over both transports. */
export interface DataApi {
  listDatasets(): Promise<DatasetSummary[]>;
  /** Versions of a dataset, newest first (`data log`). */
  listVersions(dataset: string): Promise<VersionSummary[]>;
  /** The version a ref names: `name`, `name@3`, `name@latest`, `name@<tag>`, `name@<digest prefix>`. */
  show(ref: string): Promise<DatasetVersion>;
  /** Stores the files the server lacks (deduplicated by sha256), then commits the version. */
  add(input: AddVersionInput): Promise<AddResult>;
  /** Which of these blobs the server lacks. */
  missingBlobs(blobs: { sha256: string; size: number }[]): Promise<string[]>;
  /** Uploads one local file; with sha256 given the server checks the bytes against it. */
  uploadFile(file: LocalFile): Promise<{ sha256: string; size: number }>;
  /**
   * Uploads many local files (results in input order), calling `onStored` as each lands; resolves once
   * all are durable, so a commit may follow.
   */
  uploadFiles(
    files: LocalFile[],
    onStored?: (file: LocalFile) => void,
  ): Promise<{ sha256: string; size: number }[]>;
  /** Commits a version whose blobs are all stored. */
  commit(dataset: string, body: CreateVersionInput): Promise<AddResult>;
  /** A verified stream of one file of a version. */
  download(ref: string, filePath: string): Promise<Readable>;
  /** Downloads a version's files into destDir, each verified against its sha256; returns the version. */
  get(
    ref: string,
    destDir: string,
    opts?: { onProgress?: (p: DataProgress) => void },
  ): Promise<DatasetVersion>;
  diff(a: string, b: string): Promise<DatasetDiff>;
  /** Points a tag at a version (tags move; the move is audited). */
  tag(ref: string, tag: string): Promise<DatasetVersion>;
}

const UPLOAD_CONCURRENCY = 4;

/** uploadFiles as `concurrency` uploadFile calls in flight (each durable on its own). */
export async function uploadEach(
  api: Pick<DataApi, 'uploadFile'>,
  files: LocalFile[],
  concurrency: number,
  onStored?: (file: LocalFile) => void,
): Promise<{ sha256: string; size: number }[]> {
  return mapLimit(files, concurrency, async (f) => {
    const info = await api.uploadFile(f);
    onStored?.(f);
    return info;
  });
}

/** add() over the three primitives, the same for both transports. */
export async function addVersionWith(
  api: Pick<DataApi, 'missingBlobs' | 'uploadFiles' | 'commit'>,
  input: AddVersionInput,
): Promise<AddResult> {
  const { dataset, files, onProgress, ...meta } = input;
  if (files.length === 0)
    throw new ValidationError('files: a version needs at least one file', { field: 'files' });
  const known = files.filter((f) => f.sha256 !== undefined);
  const missing = new Set(await api.missingBlobs(known.map((f) => ({ sha256: f.sha256!, size: f.size }))));
  // One upload per distinct content: two paths with equal bytes share a blob.
  const seen = new Set<string>();
  const uploads = files.filter((f) => {
    if (f.sha256 === undefined) return true;
    if (!missing.has(f.sha256) || seen.has(f.sha256)) return false;
    seen.add(f.sha256);
    return true;
  });
  const total = uploads.reduce((n, f) => n + f.size, 0);
  let done = 0;
  const infos = await api.uploadFiles(uploads, (f) => {
    done += f.size;
    onProgress?.({ phase: 'upload', done, total });
  });
  const hashes = new Map<LocalFile, string>();
  uploads.forEach((f, i) => {
    const info = infos[i]!;
    if (info.size !== f.size) {
      throw new ValidationError(`files: '${f.path}' changed while it was being added; try again`, {
        field: 'files',
        path: f.path,
      });
    }
    hashes.set(f, info.sha256);
  });
  return api.commit(dataset, {
    ...meta,
    files: files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 ?? hashes.get(f)! })),
  });
}

/** get() over show + download: each file lands in a temp name, is verified, then renamed into place. */
export async function getVersionWith(
  api: Pick<DataApi, 'show' | 'download'>,
  ref: string,
  destDir: string,
  opts: { onProgress?: (p: DataProgress) => void } = {},
): Promise<DatasetVersion> {
  const version = await api.show(ref);
  const root = path.resolve(destDir);
  const pinned = `${version.dataset}@${version.number}`;
  const total = version.files.reduce((n, f) => n + f.size, 0);
  let done = 0;
  for (const f of version.files) {
    const target = path.resolve(root, ...f.path.split('/'));
    if (!target.startsWith(root + path.sep)) {
      throw new ValidationError(`path: '${f.path}' would land outside ${destDir}`, { field: 'path' });
    }
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.sextant-${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(tmp, 'wx');
    try {
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of await api.download(pinned, f.path)) {
        const buf = chunk as Buffer;
        hash.update(buf);
        size += buf.length;
        await handle.write(buf);
      }
      await handle.close();
      const sha256 = hash.digest('hex');
      if (sha256 !== f.sha256 || size !== f.size) {
        throw new IntegrityError(`${f.path}: downloaded bytes hash to ${sha256}, expected ${f.sha256}`, {
          path: f.path,
        });
      }
      await rename(tmp, target);
    } catch (err) {
      await handle.close().catch(() => {});
      await rm(tmp, { force: true });
      throw err;
    }
    done += f.size;
    opts.onProgress?.({ phase: 'download', done, total });
  }
  return version;
}

/** `name@sel` -> URL parts; the server validates both. */
function refPath(ref: string): string {
  const at = ref.indexOf('@');
  const name = at === -1 ? ref : ref.slice(0, at);
  const sel = at === -1 ? 'latest' : ref.slice(at + 1);
  if (name === '' || sel === '')
    throw new ValidationError(`ref: '${ref}' is not a dataset ref`, { field: 'ref' });
  return `/api/v1/datasets/${encodeURIComponent(name)}/versions/${encodeURIComponent(sel)}`;
}

/** DataApi over HTTP. */
export function dataHttpApi(t: HttpTransport): DataApi {
  const enc = encodeURIComponent;
  const api: DataApi = {
    listDatasets: async () =>
      (await t.call<{ datasets: DatasetSummary[] }>('GET', '/api/v1/datasets')).datasets,
    listVersions: async (dataset) =>
      (await t.call<{ versions: VersionSummary[] }>('GET', `/api/v1/datasets/${enc(dataset)}/versions`))
        .versions,
    show: (ref) => t.call('GET', refPath(ref)),
    add: (input) => addVersionWith(api, input),
    missingBlobs: async (blobs) =>
      (await t.call<{ missing: string[] }>('POST', '/api/v1/datasets/-/blobs/missing', { json: { blobs } }))
        .missing,
    uploadFile: async (f) => {
      const sha256 = f.sha256 ?? (await hashLocalFile(f.localPath));
      return t.call('PUT', `/api/v1/datasets/-/blobs/${sha256}`, {
        body: Readable.toWeb(
          createReadStream(f.localPath, {
            highWaterMark: Math.min(8 * 1024 * 1024, Math.max(64 * 1024, f.size)),
          }),
        ) as unknown as NonNullable<RequestInit['body']>,
      });
    },
    uploadFiles: (files, onStored) => uploadEach(api, files, UPLOAD_CONCURRENCY, onStored),
    commit: (dataset, body) => t.call('POST', `/api/v1/datasets/${enc(dataset)}/versions`, { json: body }),
    download: async (ref, filePath) => {
      const res = await t.raw('GET', `${refPath(ref)}/files/${filePath.split('/').map(enc).join('/')}`);
      if (!res.body) return Readable.from([]);
      return Readable.fromWeb(res.body as unknown as WebReadableStream);
    },
    get: (ref, destDir, opts) => getVersionWith(api, ref, destDir, opts),
    diff: (a, b) => t.call('GET', '/api/v1/datasets/-/diff', { query: { a, b } }),
    tag: (ref, tag) => {
      const at = ref.indexOf('@');
      const name = at === -1 ? ref : ref.slice(0, at);
      return t.call('PUT', `/api/v1/datasets/${enc(name)}/tags/${enc(tag)}`, {
        json: { version: at === -1 ? 'latest' : ref.slice(at + 1) },
      });
    },
  };
  return api;
}

async function hashLocalFile(localPath: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(localPath, { highWaterMark: 1024 * 1024 })) hash.update(chunk);
  } catch (err) {
    throw new AppError('VALIDATION_FAILED', `path: cannot read '${localPath}': ${(err as Error).message}`);
  }
  return hash.digest('hex');
}
