import type { CostReport, CostReportQuery } from '../cost/attribution/cost-report.schema.js';
import type { RecordUsageInput, UsageRecord } from '../cost/meters/usage.schema.js';
import type { PriceBook, SetPriceBookBody } from '../cost/prices/price-book.schema.js';
import type { HttpTransport } from './http-transport.js';

/** The Cost part of SextantApi: usage records, the price book, reports. */
export interface CostApi {
  /** Records what a meter measured (a `sextant run`, an attempt, a deployment interval). */
  recordUsage(input: RecordUsageInput): Promise<UsageRecord[]>;
  /** Usage recorded for a run. */
  usageOfRun(runId: string): Promise<UsageRecord[]>;
  /** Sets the price book (YAML text or a document): a new version, audited. */
  setPrices(body: SetPriceBookBody): Promise<PriceBook>;
  /** The price book in force, or a given version. */
  getPrices(version?: number): Promise<PriceBook>;
  report(q: CostReportQuery): Promise<CostReport>;
}

/** CostApi over HTTP. */
export function costHttpApi(t: HttpTransport): CostApi {
  return {
    recordUsage: async (input) =>
      (await t.call<{ records: UsageRecord[] }>('POST', '/api/v1/cost/usage', { json: input })).records,
    usageOfRun: async (runId) =>
      (await t.call<{ records: UsageRecord[] }>('GET', '/api/v1/cost/usage', { query: { runId } })).records,
    setPrices: (body) => t.call('PUT', '/api/v1/cost/prices', { json: body }),
    getPrices: (version) =>
      t.call('GET', '/api/v1/cost/prices', { query: version === undefined ? {} : { version } }),
    report: (q) => t.call('GET', '/api/v1/cost/report', { query: q as Record<string, unknown> }),
  };
}
