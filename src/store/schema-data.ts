/*
 * Table types of the data domain. A dataset is a name; a version is an immutable manifest of files
 * (path, size, sha256) whose canonical JSON hashes to the version's digest. Times are epoch ms.
 */

export interface DatasetTable {
  id: string;
  name: string;
  created_at: number;
  created_by: string;
  deleted_at: number | null;
}

export interface DatasetVersionTable {
  id: string;
  dataset_id: string;
  /** 1, 2, 3 ... within the dataset. */
  number: number;
  /** sha256 of the canonical manifest: the user-visible version id. */
  digest: string;
  created_at: number;
  created_by: string;
  source: string | null;
  description: string | null;
  owner: string | null;
  license: string | null;
  pii: number;
  produced_by_run_id: string | null;
  file_count: number;
  total_size: number;
  deleted_at: number | null;
}

export interface DatasetVersionFileTable {
  version_id: string;
  path: string;
  size: number;
  sha256: string;
}

export interface DatasetVersionTableTable {
  version_id: string;
  path: string;
  format: string;
  row_count: number;
  /** JSON of the TableSchema. */
  schema: string;
  /** JSON of the TableProfile. */
  profile: string;
}

export interface DatasetVersionParentTable {
  version_id: string;
  parent_id: string;
  position: number;
}

export interface DatasetTagTable {
  dataset_id: string;
  tag: string;
  version_id: string;
  updated_at: number;
  updated_by: string;
}

export interface DataTables {
  datasets: DatasetTable;
  dataset_versions: DatasetVersionTable;
  dataset_version_files: DatasetVersionFileTable;
  dataset_version_tables: DatasetVersionTableTable;
  dataset_version_parents: DatasetVersionParentTable;
  dataset_tags: DatasetTagTable;
}
