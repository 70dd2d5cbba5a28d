import os from 'node:os';
import type { Readable } from 'node:stream';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { canonicalJson, sha256Hex } from '../core/hashing.js';
import type { ArtifactEntry, Run } from '../tracking/index.js';
import type { EndpointSpec } from './endpoint.schema.js';
import { inspectOnnx } from './onnx-inspect.js';
import type { ModelEnvironment, ModelFormat, Signature } from './registry.schema.js';
import type { RegistryDeps } from './registry-deps.js';

/** Everything a new version records, gathered before the write transaction opens. */
export interface VersionFacts {
  runId: string | null;
  runAuthor: string | null;
  source: string;
  format: ModelFormat;
  sha256: string;
  size: number;
  files: { path: string; sha256: string; size: number }[];
  signature: Signature | null;
  datasetVersionIds: string[];
  codeCommit: string | null;
  command: string | null;
  params: Record<string, string>;
  metrics: Record<string, number>;
  environment: ModelEnvironment;
}

/** ONNX models are read whole into memory to open them; beyond this, refuse rather than exhaust it. */
const MAX_ONNX_BYTES = 1024 * 1024 * 1024;

async function readAll(stream: Readable, limit: number, field: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      stream.destroy();
      throw new ValidationError(`${field}: the model file is larger than ${limit} bytes`, { field });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The registry's own environment, for versions whose run did not record one. */
function ownEnvironment(): ModelEnvironment {
  return { node: process.version, os: `${os.platform()} ${os.release()} ${os.arch()}`, source: 'registry' };
}

/** The environment a run recorded in its tags, else what the client said, else the registry's own. */
function environmentOf(
  run: Run | undefined,
  client: Omit<ModelEnvironment, 'source'> | undefined,
): ModelEnvironment {
  const tags = run?.tags ?? {};
  const node = tags['sextant.env.node'] ?? tags['sextant.node_version'];
  const osName = tags['sextant.env.os'] ?? tags['sextant.os'];
  const lock = tags['sextant.env.lockfile_sha256'] ?? tags['sextant.lockfile_sha256'];
  if (node || osName || lock) {
    return {
      ...(node ? { node } : {}),
      ...(osName ? { os: osName } : {}),
      ...(lock ? { lockfileSha256: lock } : {}),
      source: 'run',
    };
  }
  if (client && (client.node || client.os || client.lockfileSha256)) return { ...client, source: 'client' };
  return ownEnvironment();
}

/**
 * The content hash: a single model file's own sha256, or for a generic multi-file model the sha256 of
 * its canonical manifest (path, sha256, size of every file), so any changed file changes it.
 */
function contentOf(format: ModelFormat, files: VersionFacts['files']): { sha256: string; size: number } {
  if (format === 'onnx' || files.length === 1) return { sha256: files[0]!.sha256, size: files[0]!.size };
  const manifest = [...files].sort((a, b) => a.path.localeCompare(b.path));
  return { sha256: sha256Hex(canonicalJson(manifest)), size: files.reduce((n, f) => n + f.size, 0) };
}

export function createVersionSources(deps: RegistryDeps) {
  const { blobs, runs, artifacts } = deps;

  async function signatureFromBlob(sha256: string, field: string): Promise<Record<string, unknown>> {
    const text = (await readAll(await blobs.get(sha256), 1024 * 1024, field)).toString('utf8');
    try {
      const value = JSON.parse(text) as unknown;
      if (value && typeof value === 'object' && !Array.isArray(value))
        return value as Record<string, unknown>;
    } catch {
      // fall through to the error below
    }
    throw new ValidationError(`${field}: signature.json is not a JSON object`, { field });
  }

  /** Opens ONNX files in onnxruntime (refusing malformed ones); other formats are generic artifacts. */
  async function describe(primary: { path: string; sha256: string }, field: string) {
    if (!primary.path.toLowerCase().endsWith('.onnx')) return { format: 'generic' as const, io: null };
    const bytes = await readAll(await blobs.get(primary.sha256), MAX_ONNX_BYTES, field);
    return { format: 'onnx' as const, io: await inspectOnnx(bytes, field) };
  }

  /**
   * The model in a set of files: the primary file first (model.onnx, else any .onnx, else the only
   * file, else the first that is not signature.json), its format, content hash and signature.
   */
  async function modelOfFiles(entries: VersionFacts['files'], where: string) {
    const named = (n: string) => entries.find((e) => e.path.split('/').pop() === n);
    const signatureEntry = named('signature.json');
    const primary =
      named('model.onnx') ??
      entries.find((e) => e.path.endsWith('.onnx')) ??
      (entries.length === 1 ? entries[0] : undefined) ??
      entries.find((e) => e !== signatureEntry);
    if (!primary) throw new NotFoundError('artifact', `${where}/model.onnx`);
    const files = [primary, ...entries.filter((e) => e !== primary)];
    const { format, io } = await describe(files[0]!, 'path');
    const declared = signatureEntry ? await signatureFromBlob(signatureEntry.sha256, 'path') : undefined;
    return {
      format,
      ...contentOf(format, files),
      files,
      signature:
        io || declared
          ? { inputs: io?.inputs ?? [], outputs: io?.outputs ?? [], ...(declared ? { declared } : {}) }
          : null,
    };
  }

  /** Facts of a version made from a run's artifact (a model file, or a folder holding model.onnx). */
  async function fromRun(input: {
    runId: string;
    path: string;
    environment?: Omit<ModelEnvironment, 'source'> | undefined;
  }): Promise<VersionFacts> {
    const run = await runs.get(input.runId);
    if (run.lifecycleStage !== 'active') {
      throw new ConflictError(
        `runId: run '${input.runId}' is deleted; restore it before registering its model`,
        {
          field: 'runId',
        },
      );
    }
    const path = input.path.replace(/\/+$/, '');
    let entries: ArtifactEntry[];
    const file = await artifacts.stat(input.runId, path).catch((err: unknown) => {
      if ((err as { code?: string }).code === 'NOT_FOUND') return undefined;
      throw err;
    });
    if (file) entries = [{ path: file.path, isDir: false, size: file.size, sha256: file.sha256 }];
    else entries = (await artifacts.list(input.runId, path)).filter((e) => !e.isDir);
    if (entries.length === 0) throw new NotFoundError('artifact', `${input.runId}/${path}`);
    const model = await modelOfFiles(
      entries.map((e) => ({ path: e.path, sha256: e.sha256 ?? '', size: e.size ?? 0 })),
      `${input.runId}/${path}`,
    );
    const datasetVersionIds = [
      ...new Set(
        run.inputs
          .filter((i) => i.direction === 'input' && i.datasetVersionId)
          .map((i) => i.datasetVersionId!),
      ),
    ];
    const metrics: Record<string, number> = {};
    for (const m of run.metrics) if (typeof m.value === 'number') metrics[m.key] = m.value;
    return {
      runId: run.id,
      runAuthor: run.userId,
      source: `runs:/${run.id}/${path}`,
      ...model,
      datasetVersionIds,
      codeCommit: run.gitCommit,
      command: run.command,
      params: run.params,
      metrics,
      environment: environmentOf(run, input.environment),
    };
  }

  /**
   * Facts of a version made from a logged model without a source run (MLflow 3's `log_model` outside a
   * run): its files, params and latest metrics; no run, so no datasets, code or command. The model's
   * creator vouches for the files as a run's author does.
   */
  async function fromLoggedModel(input: {
    modelId: string;
    createdBy: string;
    files: VersionFacts['files'];
    params: Record<string, string>;
    metrics: Record<string, number>;
    environment?: Omit<ModelEnvironment, 'source'> | undefined;
  }): Promise<VersionFacts> {
    if (input.files.length === 0) {
      throw new ValidationError(`source: logged model '${input.modelId}' has no files; upload them first`, {
        field: 'source',
      });
    }
    return {
      runId: null,
      runAuthor: input.createdBy,
      source: `models:/${input.modelId}`,
      ...(await modelOfFiles(input.files, input.modelId)),
      datasetVersionIds: [],
      codeCommit: null,
      command: null,
      params: input.params,
      metrics: input.metrics,
      environment: environmentOf(undefined, input.environment),
    };
  }

  /**
   * Facts of a version made from an uploaded file (no run: no lineage beyond the bytes). Whoever uploads
   * the bytes vouches for them as a run's author does, so separation of duties counts them as its author.
   */
  async function fromFile(input: {
    uploader: string;
    filename: string;
    content: Readable | Uint8Array | string;
    environment?: Omit<ModelEnvironment, 'source'> | undefined;
    /** The names of a single float tensor input's columns, in order (`--features a,b,c`). */
    features?: string[] | undefined;
  }): Promise<VersionFacts> {
    const blob = await blobs.put(input.content);
    if (blob.size === 0) throw new ValidationError('file: the model file is empty', { field: 'file' });
    const { format, io } = await describe({ path: input.filename, sha256: blob.sha256 }, 'file');
    const declared =
      input.features !== undefined ? declaredFeatures(input.filename, io, input.features) : undefined;
    return {
      runId: null,
      runAuthor: input.uploader,
      source: `file:${input.filename}`,
      format,
      sha256: blob.sha256,
      size: blob.size,
      files: [{ path: input.filename, sha256: blob.sha256, size: blob.size }],
      signature: io ? { inputs: io.inputs, outputs: io.outputs, ...(declared ? { declared } : {}) } : null,
      datasetVersionIds: [],
      codeCommit: null,
      command: null,
      params: {},
      metrics: {},
      environment: environmentOf(undefined, input.environment),
    };
  }

  /**
   * Facts of an external model: its one file is the endpoint record (endpoint.json, canonical JSON),
   * so the version's sha256 changes with the URL, the protocol or the model identity it records.
   */
  async function fromEndpoint(input: {
    uploader: string;
    spec: EndpointSpec;
    features: { name: string; type: 'float' | 'string' }[];
    declared: Record<string, unknown>;
    datasetVersionIds: string[];
  }): Promise<VersionFacts> {
    const blob = await blobs.put(canonicalJson(input.spec));
    return {
      runId: null,
      runAuthor: input.uploader,
      source: input.spec.url,
      format: 'endpoint',
      sha256: blob.sha256,
      size: blob.size,
      files: [{ path: 'endpoint.json', sha256: blob.sha256, size: blob.size }],
      signature: {
        inputs: input.features.map((f) => ({
          name: f.name,
          type: f.type === 'string' ? 'string' : 'double',
        })),
        outputs: [],
        declared: { ...input.declared, inputs: input.features },
      },
      datasetVersionIds: input.datasetVersionIds,
      codeCommit: null,
      command: null,
      params: {},
      metrics: {},
      environment: environmentOf(undefined, undefined),
    };
  }

  return { fromRun, fromFile, fromLoggedModel, fromEndpoint };
}

/**
 * signature.declared for a model from elsewhere whose single float tensor input is named column by
 * column: { inputs: [{ name, type: 'float' }, ...] }, the shape signature.json has, so that serving,
 * evaluation, explanations and monitoring all read the same names. The count must be the tensor's width.
 */
function declaredFeatures(
  filename: string,
  io: Pick<Signature, 'inputs' | 'outputs'> | null,
  features: string[],
): Record<string, unknown> {
  const input = io?.inputs.length === 1 ? io.inputs[0] : undefined;
  const width = input?.shape?.length === 2 ? input.shape[1] : undefined;
  if (!input || typeof width !== 'number' || width < 2 || !/^float/.test(input.type)) {
    throw new ValidationError(
      `features: ${filename} does not take one float tensor of several columns (its inputs: ${
        io?.inputs.map((i) => `${i.name} [${(i.shape ?? []).join(', ')}]`).join(', ') || 'none'
      }); --features names such a tensor's columns`,
      { field: 'features' },
    );
  }
  if (features.length !== width) {
    throw new ValidationError(
      `features: ${features.length} names given, but input '${input.name}' of ${filename} takes ${width} columns`,
      { field: 'features', modelWidth: width, given: features.length },
    );
  }
  const seen = new Set<string>();
  for (const f of features) {
    if (f === '' || seen.has(f))
      throw new ValidationError(`features: '${f}' is empty or named twice`, { field: 'features' });
    seen.add(f);
  }
  return { inputs: features.map((name) => ({ name, type: 'float' })) };
}
