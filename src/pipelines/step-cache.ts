import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { digestOf, sha256Hex } from '../core/hashing.js';
import type { StepSpec } from './pipeline-spec.schema.js';

/*
 * The step cache, after DVC's run cache: a step whose spec, code, input data, params and environment
 * are all unchanged has the outputs it had, so they are reused instead of recomputed. The key is the
 * sha256 of all of these; a file output is reused by its blob digest and restored into the workdir.
 */

/**
 * The content digest of the code a step runs: the files its `code:` names, else the git tree of the
 * workdir (HEAD plus uncommitted changes), else nothing: outside git, a step names its code or its
 * cache key does not see code changes (docs/pipelines.md says so).
 */
export function codeDigest(step: StepSpec, workdir: string): string {
  if (step.code?.length) return digestOf(step.code.map((f) => [f, fileDigest(path.resolve(workdir, f))]));
  return gitTreeDigest(workdir) ?? 'no-code';
}

function fileDigest(file: string): string {
  try {
    return sha256Hex(fs.readFileSync(file));
  } catch {
    return 'missing';
  }
}

/** HEAD's tree plus the uncommitted changes (a dirty tree must not hit the cache of a clean one). */
function gitTreeDigest(workdir: string): string | undefined {
  try {
    const opts = { cwd: workdir, stdio: ['ignore', 'pipe', 'ignore'] as ('ignore' | 'pipe')[], maxBuffer: 64 * 1024 * 1024 };
    const tree = execFileSync('git', ['rev-parse', 'HEAD^{tree}'], opts).toString().trim();
    const diff = execFileSync('git', ['diff', 'HEAD'], opts);
    const untracked = execFileSync('git', ['ls-files', '--others', '--exclude-standard'], opts).toString();
    return digestOf({ tree, diff: sha256Hex(diff), untracked: sha256Hex(untracked) });
  } catch {
    return undefined;
  }
}

/** The cache key of one step of one run: sha256 over everything that decides its outputs. */
export function stepCacheKey(input: {
  pipeline: string;
  step: string;
  /** The step's spec with its expressions substituted. */
  resolved: unknown;
  code: string;
  /** Input dataset version digests, by input name. */
  datasets: Record<string, string>;
  params: Record<string, unknown>;
  env: Record<string, string>;
}): string {
  return digestOf(input);
}
