import type { Services } from '../../app/index.js';
import type { TriggersApi } from '../../client/triggers-api.js';

/** TriggersApi served in-process from a local workspace. */
export function triggersLocalApi(s: Services, actor: string): TriggersApi {
  return {
    list: () => s.triggers.list(),
    create: (input) => s.triggers.create({ actor, ...input }),
    get: (ref) => s.triggers.get(ref),
    remove: (ref) => s.triggers.remove({ actor, ref }),
    fire: (ref, input = {}) => s.triggers.fire({ actor, ref, via: 'manual', ...input }),
  };
}
