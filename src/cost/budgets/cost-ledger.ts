/*
 * The port budgets read spend through: the cost ledger of attribution (src/cost/attribution), which
 * counts for a scope exactly what `sextant cost report` shows for the same range.
 */

/** The spend port and the scope it takes (experiment scopes by name, tags as 'key=value', teams by name). */
export type { CostLedger, CostScope } from '../attribution/cost-ledger.js';
