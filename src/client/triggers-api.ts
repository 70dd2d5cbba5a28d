import type {
  CreateTriggerInput,
  FireResult,
  FireTriggerInput,
  Firing,
  Trigger,
} from '../pipelines/triggers/trigger.schema.js';
import type { HttpTransport } from './http-transport.js';

/** A trigger with its most recent firings (newest first). */
export type TriggerDetail = Trigger & { firings: Firing[] };

/** The Triggers part of SextantApi: what starts pipelines on a schedule, new data, events or a call. */
export interface TriggersApi {
  list(): Promise<Trigger[]>;
  create(input: CreateTriggerInput): Promise<Trigger>;
  /** By id or name. */
  get(ref: string): Promise<TriggerDetail>;
  remove(ref: string): Promise<void>;
  /** Fires the trigger now; with a key, the same key fires once. */
  fire(ref: string, input?: FireTriggerInput): Promise<FireResult>;
}

const enc = encodeURIComponent;

/** TriggersApi over HTTP. */
export function triggersHttpApi(t: HttpTransport): TriggersApi {
  return {
    list: async () => (await t.call<{ triggers: Trigger[] }>('GET', '/api/v1/triggers')).triggers,
    create: (input) => t.call('POST', '/api/v1/triggers', { json: input }),
    get: (ref) => t.call('GET', `/api/v1/triggers/${enc(ref)}`),
    remove: async (ref) => void (await t.call('DELETE', `/api/v1/triggers/${enc(ref)}`)),
    fire: (ref, input = {}) => t.call('POST', `/api/v1/triggers/${enc(ref)}/fire`, { json: input }),
  };
}
