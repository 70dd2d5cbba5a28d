import type { Readable } from 'node:stream';
import type {
  ArtifactEntry,
  CreateRunInput,
  Experiment,
  LogBatchInput,
  LogInputsInput,
  Run,
  RunStatus,
} from '../tracking/tracking.schema.js';
import type { OnnxPredictor } from './trainers/index.js';

/*
 * The part of SextantApi that training, evaluation, sweeps and reproduction need. ml never imports
 * client/ or cli/; any SextantApi (in-process on a local workspace, or HTTP against a server) fits
 * this port structurally, so the same code trains on a laptop and against a shared server.
 */

/** What ml reads of a dataset version (data's DatasetVersion has more). */
export interface DatasetVersionLike {
  id: string;
  digest: string;
  dataset: string;
  number: number;
  tables: {
    path: string;
    format: 'csv' | 'parquet' | 'jsonl';
    rowCount: number;
    /** CSV: the null tokens the version was added with (every reader must read with them). */
    schema?: { nullValues?: string[] | undefined };
  }[];
}

/** What ml reads of a registered model version (registry's ModelVersion has more). */
export interface ModelVersionLike {
  model: string;
  version: number;
  runId: string | null;
  sha256: string;
  format: string;
  datasetVersionIds: string[];
  codeCommit: string | null;
  command: string | null;
  params: Record<string, string>;
  metrics: Record<string, number>;
  /** `declared` is signature.json as the trainer wrote it, when the version came from such a run. */
  signature?: { declared?: Record<string, unknown> | undefined } | null;
}

export interface MlApi {
  experiments: {
    get(id: string): Promise<Experiment>;
    getByName(name: string): Promise<Experiment>;
    create(input: { name: string; tags?: Record<string, string> }): Promise<Experiment>;
  };
  runs: {
    create(input: Partial<CreateRunInput>): Promise<Run>;
    get(id: string): Promise<Run>;
    update(id: string, patch: { status?: RunStatus; endTime?: number; name?: string }): Promise<Run>;
    logBatch(id: string, batch: LogBatchInput): Promise<void>;
    logInputs(id: string, inputs: LogInputsInput): Promise<void>;
    listArtifacts(id: string, path?: string): Promise<ArtifactEntry[]>;
    uploadArtifact(
      id: string,
      path: string,
      content: Uint8Array | string,
    ): Promise<{ sha256: string; size: number }>;
    downloadArtifact(id: string, path: string): Promise<Readable>;
  };
  data: {
    /** Downloads a version's files (verified) into destDir and returns the version. */
    get(ref: string, destDir: string): Promise<DatasetVersionLike>;
  };
}

/** Registry lookups used by `evaluate <model>@<version>` and `models reproduce`. */
export interface ModelRegistryPort {
  /** Resolves `<model>@<n>` or `<model>@<alias>`. */
  resolve(ref: string): Promise<ModelVersionLike>;
  /** The bytes of the version's ONNX file, for versions registered without a run. */
  download?(ref: string): Promise<Uint8Array>;
  /**
   * An external model (format 'endpoint': its endpoint record's bytes) as a scorer that answers
   * through its model server (serving's gateway, wired by the caller; ml does not import serving).
   * Without it, evaluate scores ONNX models only.
   */
  openExternal?(bytes: Uint8Array, version: ModelVersionLike): Promise<OnnxPredictor>;
}
