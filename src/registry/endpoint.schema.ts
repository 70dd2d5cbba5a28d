import { z } from 'zod';

/*
 * An external model: a version whose model runs in another server (MLflow's scoring server, an Open
 * Inference Protocol server such as KServe, Triton or Seldon, or any JSON-over-HTTP service) that
 * Sextant's gateway fronts. The version's one stored file is this record (endpoint.json): where the
 * server is, how to talk to it, how hard to try, and which model it was serving when registered.
 */

export const endpointProtocolSchema = z.enum(['mlflow', 'oip', 'json']);
export type EndpointProtocol = z.infer<typeof endpointProtocolSchema>;

/** A JSON pointer (RFC 6901): '' is the whole document, '/predictions/0' a path into it. */
const pointerSchema = z
  .string()
  .max(500)
  .regex(/^(\/.*)?$/, "must be a JSON pointer: '' or a path starting with '/'");

/**
 * How a plain JSON server is called and read. The request body is `{}` with the records placed at
 * `recordsAt` (as objects keyed by feature, or as positional rows with `recordShape: 'rows'`); the
 * answer's list of per-record results is at `predictionsAt`; within each result, `prediction` and
 * `probabilities` point at the label/value and the class probabilities (an object class -> p, or a
 * list aligned with the version's classes).
 */
export const endpointMappingSchema = z.strictObject({
  recordsAt: pointerSchema.default(''),
  recordShape: z.enum(['records', 'rows']).default('records'),
  predictionsAt: pointerSchema.default(''),
  prediction: pointerSchema.default(''),
  probabilities: pointerSchema.optional(),
});
export type EndpointMapping = z.infer<typeof endpointMappingSchema>;

/** How hard the gateway tries; every field has a default (see docs/serving.md). */
/** Query parameter names that carry credentials. */
const CREDENTIAL_PARAM = /token|key|secret|sig|password|passwd|auth/i;

export const endpointResilienceSchema = z.strictObject({
  /** One attempt's deadline; past it the request fails as UPSTREAM_TIMEOUT (504). */
  timeoutMs: z.number().int().min(10).max(600_000).default(5000),
  /** Extra attempts after a refused connection or a 502/503/504 answer (not after a timeout). */
  retries: z.number().int().min(0).max(10).default(2),
  /** First backoff; doubled per attempt, each wait at most 5 s. */
  backoffMs: z.number().int().min(0).max(5_000).default(50),
  /** Consecutive failed calls that open the circuit (calls then fail at once). */
  breakerFailures: z.number().int().min(1).max(1000).default(5),
  /** How long the circuit stays open before one probe call may try again. */
  breakerResetMs: z.number().int().min(10).max(3_600_000).default(10_000),
  /** Records per upstream call (larger calls are split). */
  batchRows: z.number().int().min(1).max(100_000).default(500),
  /** Upstream calls one scoring call (explanations, monitoring's reference) may make at most. */
  scoreCallBudget: z.number().int().min(1).max(100_000).default(64),
  /** How often (at most) a request re-checks the server's identity; 0 checks only at load. */
  identityCheckMs: z.number().int().min(0).max(86_400_000).default(60_000),
});
export type EndpointResilience = z.infer<typeof endpointResilienceSchema>;

/**
 * What identifies the model behind the endpoint: the sha256 of the server's own metadata (OIP's
 * `GET /v2/models/<name>`), of an uploaded artifact, or of the server's answers to fixed probe
 * records (a behavioural fingerprint, for servers that report nothing).
 */
export const endpointIdentitySchema = z.strictObject({
  source: z.enum(['metadata', 'artifact', 'probe']),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type EndpointIdentity = z.infer<typeof endpointIdentitySchema>;

export const endpointSpecSchema = z.strictObject({
  url: z
    .string()
    .url()
    .max(2000)
    .refine((u) => /^https?:\/\//.test(u), 'must be an http:// or https:// URL')
    // A fragment would silently drop the protocol's path suffix (fetch never sends it).
    .refine((u) => !u.includes('#'), 'must not hold a #fragment')
    // The URL is shown wherever the version is (listings, reports): no credentials in it.
    .refine((u) => {
      const url = new URL(u);
      return (
        !url.username && !url.password && ![...url.searchParams.keys()].some((k) => CREDENTIAL_PARAM.test(k))
      );
    }, 'must not carry credentials (user:password@, or a token/key/secret/signature/password query parameter)'),
  protocol: endpointProtocolSchema,
  /** OIP: the model's name on the server (default: the registered model's name). */
  upstreamModel: z.string().min(1).max(256).optional(),
  mapping: endpointMappingSchema.optional(),
  resilience: endpointResilienceSchema.default(endpointResilienceSchema.parse({})),
  identity: endpointIdentitySchema,
});
export type EndpointSpec = z.infer<typeof endpointSpecSchema>;

/** The features (and what the model predicts) of an external model: given at registration, since no file says them. */
export const endpointFeatureSchema = z.strictObject({
  name: z.string().min(1).max(256),
  type: z.enum(['float', 'string']),
});

/** The body of `POST /api/v1/models/:name/versions/endpoint`. */
export const registerEndpointBodySchema = z.strictObject({
  url: endpointSpecSchema.shape.url,
  protocol: endpointProtocolSchema,
  upstreamModel: endpointSpecSchema.shape.upstreamModel,
  mapping: endpointMappingSchema.optional(),
  resilience: endpointResilienceSchema.partial().optional(),
  features: z.array(endpointFeatureSchema).min(1).max(10_000),
  task: z.enum(['classification', 'regression']),
  /** Classification: the class labels, in the order the server's probabilities come in. */
  classes: z.array(z.string().min(1).max(256)).min(2).max(10_000).optional(),
  /** The training target's column (monitoring's reference scores read it). */
  target: z.string().min(1).max(256).optional(),
  /** Training / reference data: `<dataset>@<n>` (background for explanations, monitoring's reference). */
  dataset: z.string().min(3).max(400).optional(),
  /** The sha256 of the model artifact the server runs (an uploaded file's digest); overrides what the server reports. */
  artifactSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  description: z.string().max(20_000).optional(),
});
export type RegisterEndpointInput = z.input<typeof registerEndpointBodySchema>;
export type RegisterEndpointBody = z.infer<typeof registerEndpointBodySchema>;
