import { createDataQualityService, type DataQualityDeps } from './quality.service.js';

export * from './compare.schema.js';
/** Runs a parsed suite over one table file with DuckDB. */
export { runSuite } from './expectation-runner.js';
export type {
  CompareInput,
  CompareSide,
  DataQualityDeps,
  DataQualityService,
  VersionLookup,
} from './quality.service.js';
export * from './suite.schema.js';
/** Parses a suite's YAML (ValidationError naming the place of any problem); the columns an expectation reads. */
export { checkColumns, columnsOf, parseSuite } from './suite-parser.js';
/** Drafts a suite from a table profile. */
export { suggestSuite } from './suite-suggest.js';

/** Builds the data-quality services: validate (stored, audited), results, latestResults, suggest, compare. */
export function createDataQualityDomain(deps: DataQualityDeps) {
  return createDataQualityService(deps);
}
