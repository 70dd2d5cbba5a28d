/*
 * Table types of data quality. A suite is stored once per distinct text (keyed by its sha256); each run
 * of a suite over a dataset version is a result row holding every expectation's outcome as JSON.
 */

export interface DataQualitySuiteTable {
  id: string;
  name: string;
  /** sha256 of the YAML text. */
  digest: string;
  text: string;
  created_at: number;
  created_by: string;
}

export interface DataQualityResultTable {
  id: string;
  version_id: string;
  /** Path of the table inside the version. */
  table_path: string;
  suite_id: string;
  suite_name: string;
  passed: number;
  total: number;
  failed: number;
  /** JSON of ExpectationResult[]. */
  results: string;
  created_at: number;
  created_by: string;
  deleted_at: number | null;
}

export interface DataQualityTables {
  data_quality_suites: DataQualitySuiteTable;
  data_quality_results: DataQualityResultTable;
}
