import type { BuiltinStep } from './pipeline-spec.schema.js';

/*
 * What pipelines need from the domains around them, passed in by the wiring (src/app/services.ts):
 * pipelines read data, tracking, ml and the registry without importing their services' internals.
 */

/** Dataset versions: resolving refs, and recording a step's file as a new version. */
export interface PipelineDatasets {
  /** `name@3` or `name@latest` -> the version (NotFoundError when there is none). */
  resolve(ref: string): Promise<{ ref: string; id: string; digest: string }>;
  /** Adds a file as the next version of a dataset (created when missing). */
  addFile(input: {
    actor: string;
    name: string;
    file: string;
  }): Promise<{ ref: string; id: string; digest: string }>;
}

/** Tracked runs: a pipeline run is a run, each step a child run. */
export interface PipelineTracking {
  startRun(input: {
    actor: string;
    name: string;
    parentRunId?: string;
    tags: Record<string, string>;
    params: Record<string, string>;
  }): Promise<string>;
  endRun(input: { actor: string; runId: string; status: 'FINISHED' | 'FAILED' | 'KILLED' }): Promise<void>;
  /** The experiment a tracked run belongs to (what its steps' cost falls on). */
  experimentOf(runId: string): Promise<string>;
  putArtifact(input: {
    actor: string;
    runId: string;
    path: string;
    content: Uint8Array | string;
  }): Promise<void>;
  /** Links dataset versions to a run as inputs or outputs (lineage). */
  linkDatasets(input: {
    actor: string;
    runId: string;
    versionIds: string[];
    direction: 'input' | 'output';
  }): Promise<void>;
}

/** Runs a built-in step (`uses: sextant/<name>`) through the domain service that does the work. */
export interface BuiltinStepRunner {
  run(
    step: BuiltinStep,
    input: {
      with: Record<string, unknown>;
      actor: string;
      /** The step's tracked child run. */
      runId: string | null;
      signal: AbortSignal;
      log: (line: string) => Promise<void>;
    },
  ): Promise<Record<string, unknown>>;
}
