import type { DatasetVersion } from '../data/dataset.schema.js';
import type { TrackingDeps } from '../tracking/index.js';

/** The part of the data domain governance reads: versions by ref and by id (services.data.versions). */
export interface DatasetVersionSource {
  resolve(ref: string): Promise<Pick<DatasetVersion, 'id'>>;
  get(id: string): Promise<DatasetVersion>;
}

/** The part of the registry governance reads: `<model>@<n|alias>` to a version (services.registry.versions). */
export interface ModelVersionSource {
  resolve(ref: string): Promise<{ id: string }>;
}

/** What the governance services are built from: the shared parts plus the readers of lower domains. */
export interface GovernanceDeps extends TrackingDeps {
  datasetVersions: DatasetVersionSource;
  /** Absent until a registry is wired: model refs then fail with a clear error. */
  modelVersions?: ModelVersionSource;
}
