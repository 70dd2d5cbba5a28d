import { NotFoundError } from '../core/errors.js';
import { ALERTS_ACTOR, type AlertTargets } from '../monitoring/alerts/index.js';
import type { RegistryDomain } from '../registry/index.js';
import type { ServingDomain } from '../serving/index.js';

/*
 * The alert engine's view of serving and the registry. A rollback acts as the system actor with the
 * admin role: the model's promotion policy still decides (emergencyRollback: admin rolls back at once;
 * none opens a rollback request for an approver).
 */
export function alertTargetsOf(registry: RegistryDomain, serving: ServingDomain): AlertTargets {
  return {
    async deployment(id) {
      const d = await serving.deployments.get(id);
      return { name: d.name, model: d.model, ref: d.ref };
    },
    async deploymentId(nameOrId) {
      return (await serving.deployments.get(nameOrId)).id;
    },
    async modelVersion(deploymentId, id) {
      // No lookup by version id is exported; the deployment's model has few versions, read by pages.
      const d = await serving.deployments.get(deploymentId);
      for (let offset = 0; ; offset += 100) {
        const page = await registry.versions.list({ model: d.model, offset, limit: 100 });
        const hit = page.versions.find((v) => v.id === id);
        if (hit) return { model: hit.model, version: hit.version };
        if (!page.more) throw new NotFoundError('model version', id);
      }
    },
    async rollback({ model, alias, reason }) {
      const r = await registry.promotions.rollback({
        actor: { name: ALERTS_ACTOR, role: 'admin' },
        model,
        alias,
        reason,
      });
      return r.outcome === 'rolled_back'
        ? {
            status: 'done',
            message: `${model}@${alias} rolled back ${r.event.fromVersion} -> ${r.event.toVersion}`,
          }
        : { status: 'requested', message: `rollback request ${r.request.id} opened for ${model}@${alias}` };
    },
  };
}
