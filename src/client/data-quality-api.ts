import type { CompareBody, ComparisonResult } from '../data/quality/compare.schema.js';
import type { LatestResult, ValidationResult } from '../data/quality/suite.schema.js';
import type { HttpTransport } from './http-transport.js';

/** The DataQuality part of SextantApi: suites over versions, their results, suggestions, comparisons. */
export interface DataQualityApi {
  /** Runs a suite (YAML text) over a version's table; the suite and the result are stored with the version. */
  validate(ref: string, suiteYaml: string, opts?: { table?: string }): Promise<ValidationResult>;
  /** Stored results of a version, newest first. */
  results(ref: string, opts?: { suite?: string }): Promise<ValidationResult[]>;
  /** The newest result of each suite run on a version. */
  latest(ref: string): Promise<LatestResult[]>;
  /** A draft suite from a version table's stored profile. */
  suggest(ref: string, opts?: { table?: string }): Promise<{ yaml: string }>;
  /** Schema differences and per-column drift between two versions or profiles. */
  compare(body: CompareBody): Promise<ComparisonResult>;
}

// `name`, `name@3`, `name@tag`...: the part after the first '@' selects the version (latest by default).
function versionPath(ref: string): string {
  const at = ref.indexOf('@');
  const name = at < 0 ? ref : ref.slice(0, at);
  const sel = at < 0 ? 'latest' : ref.slice(at + 1);
  return `/api/v1/datasets/${encodeURIComponent(name)}/versions/${encodeURIComponent(sel)}`;
}

/** DataQualityApi over HTTP. */
export function dataQualityHttpApi(t: HttpTransport): DataQualityApi {
  return {
    validate: (ref, suite, opts) =>
      t.call('POST', `${versionPath(ref)}/validations`, {
        json: { suite, ...(opts?.table ? { table: opts.table } : {}) },
      }),
    results: async (ref, opts) =>
      (
        await t.call<{ validations: ValidationResult[] }>('GET', `${versionPath(ref)}/validations`, {
          query: { suite: opts?.suite },
        })
      ).validations,
    latest: async (ref) =>
      (await t.call<{ latest: LatestResult[] }>('GET', `${versionPath(ref)}/validations/latest`)).latest,
    suggest: (ref, opts) =>
      t.call('GET', `${versionPath(ref)}/suggested-suite`, { query: { table: opts?.table } }),
    compare: (body) => t.call('POST', '/api/v1/datasets/-/compare', { json: body }),
  };
}
