/** Table types of data quality: stored suites and validation results (filled in by that work). */
// biome-ignore lint/suspicious/noEmptyInterface: the data-quality work adds its tables here
export interface DataQualityTables {}
