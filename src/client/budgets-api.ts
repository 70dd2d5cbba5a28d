import type {
  Budget,
  BudgetCheck,
  BudgetCreated,
  CreateBudgetInput,
  UpdateBudgetInput,
} from '../cost/budgets/budget.schema.js';
import type { HttpTransport } from './http-transport.js';

/** The Budgets part of SextantApi: caps on spend per experiment, tag or team. */
export interface BudgetsApi {
  list(): Promise<Budget[]>;
  create(input: CreateBudgetInput): Promise<BudgetCreated>;
  /** By id or name. */
  get(ref: string): Promise<Budget>;
  update(ref: string, patch: UpdateBudgetInput): Promise<Budget>;
  remove(ref: string): Promise<void>;
  /** Checks every budget against spend now. */
  check(): Promise<{ checks: BudgetCheck[]; failed: { budgetId: string; error: string }[] }>;
}

const enc = encodeURIComponent;

/** BudgetsApi over HTTP. */
export function budgetsHttpApi(t: HttpTransport): BudgetsApi {
  return {
    list: async () => (await t.call<{ budgets: Budget[] }>('GET', '/api/v1/budgets')).budgets,
    create: (input) => t.call('POST', '/api/v1/budgets', { json: input }),
    get: (ref) => t.call('GET', `/api/v1/budgets/${enc(ref)}`),
    update: (ref, patch) => t.call('PATCH', `/api/v1/budgets/${enc(ref)}`, { json: patch }),
    remove: async (ref) => void (await t.call('DELETE', `/api/v1/budgets/${enc(ref)}`)),
    check: () => t.call('POST', '/api/v1/budgets/check', { json: {} }),
  };
}
