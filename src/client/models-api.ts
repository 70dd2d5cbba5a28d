import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { RegisterEndpointInput } from '../registry/endpoint.schema.js';
import type {
  AliasAt,
  AliasEvent,
  CardField,
  ModelCard,
  ModelVersion,
  PolicyView,
  PromotionCheck,
  PromotionRequest,
  PromotionStatus,
  RegisteredModel,
  RollbackResult,
} from '../registry/registry.schema.js';
import type { HttpTransport } from './http-transport.js';

type TagPatch = Record<string, string | null>;

/** The model registry part of SextantApi; refs are `<model>@<n>`, `<model>@<alias>` or `<model>@latest`. */
export interface ModelsApi {
  list(q?: {
    q?: string;
    offset?: number;
    maxResults?: number;
  }): Promise<{ models: RegisteredModel[]; more: boolean }>;
  create(input: {
    name: string;
    description?: string;
    tags?: Record<string, string>;
  }): Promise<RegisteredModel>;
  get(name: string): Promise<RegisteredModel>;
  update(
    name: string,
    patch: { newName?: string; description?: string; tags?: TagPatch },
  ): Promise<RegisteredModel>;
  delete(name: string): Promise<void>;
  /** Registers a run's model artifact (default path `model`) as the next version. */
  register(
    name: string,
    input: {
      runId: string;
      path?: string;
      description?: string;
      tags?: Record<string, string>;
      environment?: { node?: string; os?: string; lockfileSha256?: string };
    },
  ): Promise<ModelVersion>;
  /** Registers a model file's bytes (ONNX is checked by opening it) as the next version. */
  registerFile(
    name: string,
    input: {
      filename: string;
      content: Uint8Array | Readable | string;
      description?: string;
      /** A single float tensor input's column names, comma-separated. */
      features?: string;
    },
  ): Promise<ModelVersion>;
  /** Registers an external model server as the next version (the server is probed for its identity). */
  registerEndpoint(name: string, input: RegisterEndpointInput): Promise<ModelVersion>;
  versions(
    name: string,
    q?: { offset?: number; maxResults?: number },
  ): Promise<{ versions: ModelVersion[]; more: boolean }>;
  version(ref: string): Promise<ModelVersion>;
  updateVersion(
    name: string,
    version: number,
    patch: { description?: string; tags?: TagPatch; card?: Partial<Record<CardField, string>> },
  ): Promise<ModelVersion>;
  deleteVersion(name: string, version: number): Promise<void>;
  download(ref: string): Promise<Readable>;
  card(ref: string, format?: 'markdown' | 'html'): Promise<ModelCard>;
  setAlias(name: string, alias: string, version: number, reason?: string): Promise<AliasEvent>;
  deleteAlias(name: string, alias: string): Promise<AliasEvent>;
  history(
    name: string,
    q?: { alias?: string; at?: string },
  ): Promise<{ events: AliasEvent[]; at?: AliasAt[] }>;
  rollback(name: string, input?: { alias?: string; reason?: string }): Promise<RollbackResult>;
  promote(input: { ref: string; alias: string; reason?: string }): Promise<PromotionRequest>;
  /** Dry run: the gates a promotion of `ref` to `alias` would face now; nothing is written. */
  checkPromotion(input: { ref: string; alias: string }): Promise<PromotionCheck>;
  requests(q?: {
    model?: string;
    status?: PromotionStatus;
    maxResults?: number;
  }): Promise<PromotionRequest[]>;
  request(id: string): Promise<PromotionRequest>;
  approve(id: string, comment?: string): Promise<PromotionRequest>;
  reject(id: string, comment: string): Promise<PromotionRequest>;
  cancel(id: string): Promise<PromotionRequest>;
  /** The policy governing a model, or the default one when no model is named. */
  policy(name?: string): Promise<PolicyView>;
  setPolicy(name: string | undefined, yaml: string): Promise<PolicyView>;
}

const enc = encodeURIComponent;
/** `<model>@<selector>`: the model is everything before the last '@' (names cannot hold one). */
function split(ref: string): [string, string] {
  const at = ref.lastIndexOf('@');
  return at > 0 ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, 'latest'];
}
const m = (name: string) => `/api/v1/models/${enc(name)}`;
const v = (ref: string) => {
  const [name, sel] = split(ref);
  return `${m(name)}/versions/${enc(sel)}`;
};

/** ModelsApi over HTTP. */
export function modelsHttpApi(t: HttpTransport): ModelsApi {
  const { call, raw } = t;
  return {
    list: (q = {}) => call('GET', '/api/v1/models', { query: q }),
    create: (input) => call('POST', '/api/v1/models', { json: input }),
    get: (name) => call('GET', m(name)),
    update: (name, patch) => call('PATCH', m(name), { json: patch }),
    delete: async (name) => void (await call('DELETE', m(name))),
    register: (name, input) => call('POST', `${m(name)}/versions`, { json: input }),
    registerFile: (name, input) =>
      call('PUT', `${m(name)}/versions/file`, {
        query: { filename: input.filename, description: input.description, features: input.features },
        body: (typeof input.content === 'string' || input.content instanceof Uint8Array
          ? input.content
          : (Readable.toWeb(input.content) as unknown as ReadableStream)) as NonNullable<RequestInit['body']>,
      }),
    registerEndpoint: (name, input) => call('POST', `${m(name)}/versions/endpoint`, { json: input }),
    versions: (name, q = {}) => call('GET', `${m(name)}/versions`, { query: q }),
    version: (ref) => call('GET', v(ref)),
    updateVersion: (name, version, patch) => call('PATCH', `${m(name)}/versions/${version}`, { json: patch }),
    deleteVersion: async (name, version) => void (await call('DELETE', `${m(name)}/versions/${version}`)),
    download: async (ref) => {
      const res = await raw('GET', `${v(ref)}/download`);
      return res.body ? Readable.fromWeb(res.body as unknown as WebReadableStream) : Readable.from([]);
    },
    card: (ref, format = 'markdown') => call('GET', `${v(ref)}/card`, { query: { format } }),
    setAlias: (name, alias, version, reason) =>
      call('PUT', `${m(name)}/aliases/${enc(alias)}`, { json: { version, ...(reason ? { reason } : {}) } }),
    deleteAlias: (name, alias) => call('DELETE', `${m(name)}/aliases/${enc(alias)}`),
    history: (name, q = {}) => call('GET', `${m(name)}/history`, { query: q }),
    rollback: (name, input = {}) => call('POST', `${m(name)}/rollback`, { json: input }),
    promote: (input) => call('POST', '/api/v1/promotions', { json: input }),
    checkPromotion: (input) => call('POST', '/api/v1/promotions/check', { json: input }),
    requests: async (q = {}) =>
      (await call<{ requests: PromotionRequest[] }>('GET', '/api/v1/promotions', { query: q })).requests,
    request: (id) => call('GET', `/api/v1/promotions/${enc(id)}`),
    approve: (id, comment) =>
      call('POST', `/api/v1/promotions/${enc(id)}/approve`, { json: comment ? { comment } : {} }),
    reject: (id, comment) => call('POST', `/api/v1/promotions/${enc(id)}/reject`, { json: { comment } }),
    cancel: (id) => call('POST', `/api/v1/promotions/${enc(id)}/cancel`, { json: {} }),
    policy: (name) => call('GET', name === undefined ? '/api/v1/registry/policy' : `${m(name)}/policy`),
    setPolicy: (name, yaml) =>
      call('PUT', name === undefined ? '/api/v1/registry/policy' : `${m(name)}/policy`, { json: { yaml } }),
  };
}
