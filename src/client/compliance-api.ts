import type { ComplianceReport } from '../governance/compliance/compliance-report.schema.js';
import type { HttpTransport } from './http-transport.js';

/** What a compliance report is asked for: `<model>@<ref>` split, an optional period (ISO times). */
export interface ComplianceReportRequest {
  model: string;
  /** A version number, an alias or `latest`. */
  ref: string;
  from?: string;
  to?: string;
  /** Predictions to trace and explain (default 5). */
  samples?: number;
  /** The caller has just re-run the training (`--reproduce`); the document says so. */
  reproducedNow?: boolean;
  /** Attributes to evaluate per slice and fairness per group (default: the card's protected_attributes). */
  slices?: string[];
  /** `<dataset>@<v>` to evaluate on instead of the training run's validation split. */
  holdout?: string;
}

/** The compliance report of a model version (its data; render it with renderComplianceHtml). */
export interface ComplianceApi {
  report(input: ComplianceReportRequest): Promise<ComplianceReport>;
  /** The same report rendered by the server as one self-contained HTML document. */
  html(input: ComplianceReportRequest): Promise<string>;
}

const enc = encodeURIComponent;

function pathAndQuery({ model, ref, reproducedNow, slices, ...rest }: ComplianceReportRequest) {
  return {
    path: `/api/v1/models/${enc(model)}/versions/${enc(ref)}/compliance-report`,
    query: {
      ...rest,
      ...(reproducedNow ? { reproducedNow: 'true' } : {}),
      ...(slices?.length ? { slices: slices.join(',') } : {}),
    } as Record<string, unknown>,
  };
}

/** ComplianceApi over HTTP. */
export function complianceHttpApi(t: HttpTransport): ComplianceApi {
  return {
    report: (input) => {
      const { path, query } = pathAndQuery(input);
      return t.call('GET', path, { query: { ...query, format: 'json' } });
    },
    html: async (input) => {
      const { path, query } = pathAndQuery(input);
      return (await t.raw('GET', path, { query: { ...query, format: 'html' } })).text();
    },
  };
}
