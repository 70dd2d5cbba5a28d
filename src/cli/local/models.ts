import { registerEndpointVersion, type Services } from '../../app/index.js';
import { localPrincipal, type Role } from '../../auth/index.js';
import type { ModelsApi } from '../../client/models-api.js';
import { parseOrThrow } from '../../core/validate.js';
import {
  type Actor,
  cardFieldsSchema,
  checkPromotionBodySchema,
  createModelBodySchema,
  openPromotionBodySchema,
  registerEndpointBodySchema,
  registerFromRunBodySchema,
  rollbackBodySchema,
} from '../../registry/index.js';
import { modelReadsLocalApi } from './model-reads.js';

/**
 * ModelsApi served in-process from a local workspace. `actor` is a user name: the local admin by
 * default; another workspace user (e.g. a reviewer in the demo) acts with that user's role.
 */
export function modelsLocalApi(s: Services, actor: string): ModelsApi {
  const r = s.registry;
  let who: Promise<Actor> | undefined;
  const me = () => {
    who ??=
      actor === localPrincipal.name
        ? Promise.resolve({ name: actor, role: localPrincipal.role as Role })
        : s.auth.getUser(actor).then((u) => ({ name: u.name, role: u.role }));
    return who;
  };
  const split = (ref: string): [string, string] => {
    const at = ref.lastIndexOf('@');
    return at > 0 ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, 'latest'];
  };
  return {
    ...modelReadsLocalApi(r),
    create: async (input) =>
      r.models.create({ actor: await me(), ...parseOrThrow(createModelBodySchema, input) }),
    update: async (name, patch) => r.models.update({ actor: await me(), name, ...patch }),
    delete: async (name) => r.models.remove({ actor: await me(), name }),
    register: async (name, input) =>
      r.versions.registerFromRun({
        actor: await me(),
        model: name,
        ...parseOrThrow(registerFromRunBodySchema, input),
      }),
    registerFile: async (name, input) =>
      r.versions.registerFile({ actor: await me(), model: name, ...input }),
    registerEndpoint: async (name, input) =>
      registerEndpointVersion(s, {
        actor: await me(),
        model: name,
        body: parseOrThrow(registerEndpointBodySchema, input),
      }),
    updateVersion: async (name, version, patch) =>
      r.versions.update({
        actor: await me(),
        model: name,
        version,
        ...patch,
        ...(patch.card ? { card: parseOrThrow(cardFieldsSchema, patch.card, 'card') } : {}),
      }),
    deleteVersion: async (name, version) => r.versions.remove({ actor: await me(), model: name, version }),
    download: async (ref) => (await r.versions.download(ref.includes('@') ? ref : `${ref}@latest`)).stream,
    card: (ref, format = 'markdown') => r.cards.render(split(ref).join('@'), format),
    setAlias: async (name, alias, version, reason) =>
      r.aliases.set({ actor: await me(), model: name, alias, version, reason }),
    deleteAlias: async (name, alias) => r.aliases.delete({ actor: await me(), model: name, alias }),
    history: async (name, q = {}) => {
      const events = await r.aliases.history({ model: name, alias: q.alias });
      return q.at
        ? { events, at: await r.aliases.at({ model: name, alias: q.alias, at: q.at }) }
        : { events };
    },
    rollback: async (name, input = {}) =>
      r.promotions.rollback({ actor: await me(), model: name, ...parseOrThrow(rollbackBodySchema, input) }),
    promote: async (input) =>
      r.promotions.open({ actor: await me(), ...parseOrThrow(openPromotionBodySchema, input) }),
    checkPromotion: async (input) => r.promotions.check(parseOrThrow(checkPromotionBodySchema, input)),
    requests: (q = {}) => r.promotions.list({ model: q.model, status: q.status, limit: q.maxResults }),
    request: (id) => r.promotions.get(id),
    approve: async (id, comment) =>
      r.promotions.decide({ actor: await me(), id, decision: 'approve', comment }),
    reject: async (id, comment) =>
      r.promotions.decide({ actor: await me(), id, decision: 'reject', comment }),
    cancel: async (id) => r.promotions.cancel({ actor: await me(), id }),
    policy: (name) => r.policies.show(name),
    setPolicy: async (name, yaml) => r.policies.set({ actor: await me(), model: name, yaml }),
  };
}
