import type { Services } from '../../app/index.js';
import type { BudgetsApi } from '../../client/budgets-api.js';

/** BudgetsApi served in-process from a local workspace. */
export function budgetsLocalApi(s: Services, actor: string): BudgetsApi {
  return {
    list: () => s.budgets.list(),
    create: (input) => s.budgets.create({ actor, ...input }),
    get: (ref) => s.budgets.get(ref),
    update: (ref, patch) => s.budgets.update({ actor, ref, ...patch }),
    remove: (ref) => s.budgets.remove({ actor, ref }),
    check: () => s.budgets.checkAll(),
  };
}
