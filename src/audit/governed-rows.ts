import { sha256Hex } from '../core/hashing.js';
import type { ApiTokenTable, UserTable } from '../store/index.js';
import type {
  AliasEventTable,
  ModelAliasTable,
  ModelVersionTable,
  PromotionDecisionTable,
} from '../store/schema-registry.js';

/*
 * The governed tables: rows whose silent edit would change who may do what, or what production
 * serves. Each audited change of one records the row's governed fields in its entry (`details.governed`,
 * covered by the chain's hash), through the projection below; `audit verify --deep` reads the tables
 * back through the same projection and names every row that differs from what its last entry recorded,
 * every row no entry recorded, and every recorded row that is gone. One projection for writer and
 * checker, so they cannot drift apart.
 */

export const GOVERNED_TABLES = [
  'users',
  'api_tokens',
  'model_aliases',
  'alias_events',
  'model_versions',
  'promotion_decisions',
] as const;
export type GovernedTable = (typeof GOVERNED_TABLES)[number];

/** The governed fields of one row as an audit entry records them; `fields: null` records its removal. */
export interface GovernedRow {
  table: GovernedTable;
  id: string;
  fields: Record<string, string | number | null> | null;
}

interface RowOf {
  users: UserTable;
  api_tokens: ApiTokenTable;
  model_aliases: ModelAliasTable;
  alias_events: AliasEventTable;
  model_versions: ModelVersionTable;
  promotion_decisions: PromotionDecisionTable;
}

type Projection<T> = { id(row: T): string; fields(row: T): Record<string, string | number | null> };

const num = (v: number | string | null) => (v === null ? null : Number(v));

const projections: { [K in GovernedTable]: Projection<RowOf[K]> } = {
  users: {
    id: (r) => r.id,
    fields: (r) => ({ name: r.name, role: r.role, disabled_at: num(r.disabled_at) }),
  },
  api_tokens: {
    id: (r) => r.id,
    // The hash of the hash: enough to see a replaced secret, nothing to authenticate with.
    fields: (r) => ({
      user_id: r.user_id,
      name: r.name,
      token_hash_digest: sha256Hex(r.token_hash),
      expires_at: num(r.expires_at),
      revoked_at: num(r.revoked_at),
      minted_under: r.minted_under,
    }),
  },
  model_aliases: {
    id: (r) => `${r.model_id}/${r.alias}`,
    fields: (r) => ({ version: num(r.version) }),
  },
  alias_events: {
    id: (r) => r.id,
    fields: (r) => ({
      model_id: r.model_id,
      alias: r.alias,
      kind: r.kind,
      from_version: num(r.from_version),
      to_version: num(r.to_version),
      actor: r.actor,
      request_id: r.request_id,
    }),
  },
  model_versions: {
    id: (r) => r.id,
    fields: (r) => ({
      model_id: r.model_id,
      version: num(r.version),
      sha256: r.sha256,
      run_id: r.run_id,
      run_author: r.run_author,
      created_by: r.created_by,
      deleted_at: num(r.deleted_at),
    }),
  },
  promotion_decisions: {
    id: (r) => r.id,
    fields: (r) => ({ request_id: r.request_id, actor: r.actor, role: r.role, decision: r.decision }),
  },
};

/** What an audit entry records of a governed row, e.g. governedRow('users', row) after a role change. */
export function governedRow<K extends GovernedTable>(table: K, row: RowOf[K]): GovernedRow {
  const p = projections[table] as Projection<RowOf[K]>;
  return { table, id: p.id(row), fields: p.fields(row) };
}

/** Records that a governed row is gone (an alias removed), by the id governedRow would give it. */
export function governedRemoval(table: GovernedTable, id: string): GovernedRow {
  return { table, id, fields: null };
}

/** The id a governed row of this table is recorded under. */
export function governedIdOf<K extends GovernedTable>(table: K, row: RowOf[K]): string {
  return (projections[table] as Projection<RowOf[K]>).id(row);
}
