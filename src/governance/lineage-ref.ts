import { isAppError, NotFoundError, ValidationError } from '../core/errors.js';
import type { Executor } from '../store/index.js';
import type { GovernanceDeps } from './governance-deps.js';
import * as repo from './lineage.repo.js';
import type { LineageNodeKind } from './lineage.schema.js';

export interface LineageRoot {
  kind: LineageNodeKind;
  id: string;
}

const PREFIXED = /^(dataset|model|run):(.+)$/;

// Only "no such thing" and "not that kind of ref" mean "try the next kind"; anything else is a real failure.
async function attempt<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (isAppError(err) && (err.code === 'NOT_FOUND' || err.code === 'VALIDATION_FAILED')) return undefined;
    throw err;
  }
}

/**
 * What a lineage ref names: `run:<id>`, `dataset:<ref>` or `model:<ref>` explicitly, or by shape: a run id,
 * `<dataset>[@<version>]`, `<model>@<n|alias>`. A `name@x` that is both a dataset version and a model
 * version must be prefixed; the error says so.
 */
export async function resolveLineageRef(
  deps: Pick<GovernanceDeps, 'datasetVersions' | 'modelVersions'>,
  tx: Executor,
  rawRef: string,
): Promise<LineageRoot> {
  const ref = rawRef.trim();
  const runById = async (id: string) => ((await repo.findRuns({ tx, ids: [id] })).length ? id : undefined);
  const dataset = (r: string) => deps.datasetVersions.resolve(r).then((v) => v.id);
  const model = (r: string) => deps.modelVersions.resolve(r).then((v) => v.id);

  const prefixed = PREFIXED.exec(ref);
  if (prefixed) {
    const [, kind, rest = ''] = prefixed;
    if (kind === 'run') {
      const id = await runById(rest);
      if (!id) throw new NotFoundError('run', rest);
      return { kind: 'run', id };
    }
    if (kind === 'dataset') return { kind: 'dataset_version', id: await dataset(rest) };
    return { kind: 'model_version', id: await model(rest) };
  }

  if (!ref.includes('@')) {
    const run = await runById(ref);
    if (run) return { kind: 'run', id: run };
    const latest = await attempt(() => dataset(ref));
    if (latest) return { kind: 'dataset_version', id: latest };
    throw new NotFoundError('run or dataset', ref);
  }
  const [ds, mv] = [await attempt(() => dataset(ref)), await attempt(() => model(ref))];
  if (ds && mv) {
    throw new ValidationError(
      `ref: '${ref}' names both a dataset version and a model version; write dataset:${ref} or model:${ref}`,
      { field: 'ref' },
    );
  }
  if (ds) return { kind: 'dataset_version', id: ds };
  if (mv) return { kind: 'model_version', id: mv };
  throw new NotFoundError('dataset or model version', ref);
}
