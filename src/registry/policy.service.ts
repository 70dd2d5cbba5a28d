import { toIso } from '../core/clock.js';
import { type Executor, inTransaction } from '../store/index.js';
import type { RegisteredModelTable } from '../store/schema-registry.js';
import { getModelRow, getModelRowById } from './lookups.js';
import { BUILT_IN_POLICY_YAML, type Policy, parsePolicy } from './policy.js';
import * as repo from './promotion.repo.js';
import type { PolicyView } from './registry.schema.js';
import type { Actor, RegistryDeps } from './registry-deps.js';

const DEFAULT_SCOPE = '*';

/** Promotion policies stored in Sextant: one per model, a default for the rest, a built-in under both. */
export function createPolicyService({ db, audit, clock }: RegistryDeps) {
  /** The policy that governs a model now, with where it came from. */
  async function effective(
    tx: Executor,
    model: RegisteredModelTable,
  ): Promise<{ policy: Policy; view: PolicyView }> {
    const own = await repo.findPolicy({ tx, scope: model.id });
    const row = own ?? (await repo.findPolicy({ tx, scope: DEFAULT_SCOPE }));
    const view: PolicyView = row
      ? {
          scope: own ? model.name : 'default',
          source: own ? 'model' : 'default',
          yaml: row.yaml,
          updatedBy: row.updated_by,
          updatedAt: toIso(row.updated_at),
        }
      : {
          scope: 'default',
          source: 'built-in',
          yaml: BUILT_IN_POLICY_YAML,
          updatedBy: null,
          updatedAt: null,
        };
    return { policy: parsePolicy(view.yaml), view };
  }

  /** Shows a model's effective policy, or (no model) the default one. */
  async function show(model?: string): Promise<PolicyView> {
    if (model !== undefined) return (await effective(db, await getModelRow(db, model))).view;
    const row = await repo.findPolicy({ tx: db, scope: DEFAULT_SCOPE });
    return row
      ? {
          scope: 'default',
          source: 'default',
          yaml: row.yaml,
          updatedBy: row.updated_by,
          updatedAt: toIso(row.updated_at),
        }
      : {
          scope: 'default',
          source: 'built-in',
          yaml: BUILT_IN_POLICY_YAML,
          updatedBy: null,
          updatedAt: null,
        };
  }

  /** Stores a policy for a model (or the default when model is undefined) after checking it parses. */
  async function set(input: { actor: Actor; model?: string | undefined; yaml: string }): Promise<PolicyView> {
    parsePolicy(input.yaml);
    await inTransaction(db, async (tx) => {
      const model = input.model === undefined ? undefined : await getModelRow(tx, input.model);
      const scope = model?.id ?? DEFAULT_SCOPE;
      const before = await repo.findPolicy({ tx, scope });
      const now = clock.now();
      await repo.upsertPolicy({
        tx,
        row: { scope, yaml: input.yaml, updated_by: input.actor.name, updated_at: now },
      });
      await audit.append(tx, {
        actor: input.actor.name,
        action: 'registry_policy.set',
        entityType: 'registry_policy',
        entityId: scope,
        ...(before ? { before: before.yaml } : {}),
        after: input.yaml,
        details: { scope: model?.name ?? 'default' },
      });
    });
    return show(input.model);
  }

  /** The aliases of the model with this id that move only through promotion requests. */
  async function protectedAliases(modelId: string): Promise<string[]> {
    return (await effective(db, await getModelRowById(db, modelId))).policy.protectedAliases;
  }

  return { effective, show, set, protectedAliases };
}

export type PolicyService = ReturnType<typeof createPolicyService>;
