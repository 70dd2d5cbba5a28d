import type { Services } from '../../app/index.js';
import type { ComplianceApi } from '../../client/compliance-api.js';
import { renderComplianceHtml } from '../../governance/index.js';

/** ComplianceApi served in-process from a local workspace. */
export function complianceLocalApi(s: Services, actor: string): ComplianceApi {
  return {
    report: (input) => s.compliance.report(input, actor),
    html: async (input) => renderComplianceHtml(await s.compliance.report(input, actor)),
  };
}
