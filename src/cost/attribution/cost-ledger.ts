import type { Db } from '../../store/index.js';
import * as repo from './attribution.repo.js';
import type { CostBy } from './cost-report.schema.js';
import type { CostReportService } from './cost-report.service.js';

/** What a budget is kept on. */
export interface CostScope {
  kind: 'experiment' | 'tag' | 'team' | 'model' | 'deployment' | 'all';
  /**
   * experiment: its name; tag: 'key=value'; team: the run tag `team`'s value; model: a name (every
   * version) or 'name@version'; deployment: its id or name; all: none.
   */
  value?: string;
}

/** The port budgets read spending through (src/cost/budgets). */
export interface CostLedger {
  /** Cost accrued in [from, to) by a scope, priced with the price book in force at each usage's time. */
  spent(input: {
    scope: CostScope;
    from: number;
    to: number;
  }): Promise<{ amount: number; currency: string; usageRows: number }>;
}

/**
 * The ledger on the cost report: a scope is one report grouping and the groups it matches, so what a
 * budget counts is exactly what `sextant cost report` shows for the same range.
 */
export function createCostLedger({ db, reports }: { db: Db; reports: CostReportService }): CostLedger {
  return {
    async spent({ scope, from, to }) {
      const { by, match } = await matcher(db, scope);
      const r = await reports.report({ by, from, to });
      const hit = r.groups.filter((g) => match(g.key));
      const cents = hit.reduce((s, g) => s + Math.round(g.amount * 100), 0);
      return {
        amount: cents / 100,
        currency: r.currency,
        usageRows: hit.reduce((s, g) => s + g.usageRows, 0),
      };
    },
  };
}

async function matcher(db: Db, scope: CostScope): Promise<{ by: CostBy; match: (key: string) => boolean }> {
  const value = scope.value ?? '';
  switch (scope.kind) {
    case 'all':
      return { by: 'experiment', match: () => true };
    case 'experiment':
      return { by: 'experiment', match: (k) => k === value };
    case 'team':
      return { by: 'tag:team', match: (k) => k === value };
    case 'tag': {
      const at = value.indexOf('=');
      const key = at < 0 ? value : value.slice(0, at);
      return { by: `tag:${key}`, match: (k) => at < 0 || k === value.slice(at + 1) };
    }
    case 'model':
      return {
        by: 'model',
        match: (k) => k === value || (!value.includes('@') && k.startsWith(`${value}@`)),
      };
    case 'deployment': {
      const name = (await repo.deploymentNames({ tx: db, ids: [value] })).get(value) ?? value;
      return { by: 'deployment', match: (k) => k === name };
    }
  }
}
