import path from 'node:path';
import { z } from 'zod';
import { ValidationError } from './errors.js';

export type AuthMode = 'off' | 'token';

const envSchema = z.object({
  SEXTANT_HOME: z.string().min(1).default('./.sextant'),
  SEXTANT_DATABASE_URL: z.string().min(1).optional(),
  SEXTANT_BLOB_URL: z.string().min(1).optional(),
  SEXTANT_S3_ENDPOINT: z.string().url().optional(),
  SEXTANT_S3_REGION: z.string().min(1).default('us-east-1'),
  SEXTANT_REDIS_URL: z.string().min(1).optional(),
  SEXTANT_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .default('sextant'),
  SEXTANT_HOST: z.string().min(1).default('127.0.0.1'),
  SEXTANT_PORT: z.coerce.number().int().min(0).max(65535).default(5005),
  SEXTANT_AUTH: z.enum(['off', 'token']).default('off'),
  SEXTANT_AUDIT_KEY: z.string().min(16).optional(),
  SEXTANT_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SEXTANT_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(16 * 1024 * 1024),
  SEXTANT_URL: z.string().url().optional(),
  SEXTANT_TOKEN: z.string().min(1).optional(),
  SEXTANT_WEBHOOK_ALLOW: z.string().optional(),
  SEXTANT_ALLOWED_HOSTS: z.string().optional(),
  SEXTANT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(14),
  SEXTANT_CHROMIUM: z.string().min(1).optional(),
  SEXTANT_PREDICTION_LOG: z.enum(['table', 'segments']).default('segments'),
  SEXTANT_PREDICTION_SEGMENT_ROWS: z.coerce.number().int().min(1).max(10_000_000).default(100_000),
  SEXTANT_PREDICTION_SEGMENT_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
});

/** Everything the platform reads from its environment, parsed once at the edge. */
export interface Config {
  home: string;
  databaseUrl: string;
  blobUrl: string;
  s3: { endpoint?: string; region: string };
  redisUrl?: string;
  /** Key prefix of the job queues in Redis (one Redis can hold several installations). */
  redisPrefix: string;
  host: string;
  port: number;
  authMode: AuthMode;
  /** HMAC key for audit checkpoints; when unset a key file under `home` is used. */
  auditKey?: string;
  logLevel: string;
  bodyLimitBytes: number;
  /** Remote server for the CLI; unset means the local workspace. */
  remoteUrl?: string;
  token?: string;
  /** Webhook destinations exempt from the private-address rules: IPs, CIDR ranges, host names. */
  webhookAllow: string[];
  /** Host names the server answers to besides the address it listens on (DNS-rebinding guard): names, `*.suffix`, or `*`. */
  allowedHosts: string[];
  /** Finished jobs and settled events older than this many days are pruned by the `system.prune` job. */
  retentionDays: number;
  /** The chromium the CLI prints PDFs with (default: /usr/bin/chromium and the usual places). */
  chromiumPath?: string;
  /**
   * Where ledgers write served predictions: 'segments' (the default: append-only segment files under
   * `<home>/prediction-log`, sealed into Parquet blobs) or 'table' (a row each in `predictions`).
   */
  predictionLog: {
    storage: 'table' | 'segments';
    dir: string;
    /** A segment is sealed at this many rows... */
    maxRows: number;
    /** ...or at its first commit this old. */
    maxAgeMs: number;
  };
}

function listOf(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

/** Parses the environment (process.env at the edge, a literal object in tests) into a Config. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue ? String(issue.path[0]) : 'environment';
    throw new ValidationError(`${field}: ${issue?.message ?? 'invalid'}`, { field });
  }
  const e = parsed.data;
  const home = path.resolve(e.SEXTANT_HOME);
  return {
    home,
    databaseUrl: e.SEXTANT_DATABASE_URL ?? `sqlite:${path.join(home, 'sextant.db')}`,
    blobUrl: e.SEXTANT_BLOB_URL ?? `file:${path.join(home, 'blobs')}`,
    s3: {
      ...(e.SEXTANT_S3_ENDPOINT ? { endpoint: e.SEXTANT_S3_ENDPOINT } : {}),
      region: e.SEXTANT_S3_REGION,
    },
    ...(e.SEXTANT_REDIS_URL ? { redisUrl: e.SEXTANT_REDIS_URL } : {}),
    redisPrefix: e.SEXTANT_REDIS_PREFIX,
    host: e.SEXTANT_HOST,
    port: e.SEXTANT_PORT,
    authMode: e.SEXTANT_AUTH,
    ...(e.SEXTANT_AUDIT_KEY ? { auditKey: e.SEXTANT_AUDIT_KEY } : {}),
    logLevel: e.SEXTANT_LOG_LEVEL,
    bodyLimitBytes: e.SEXTANT_BODY_LIMIT_BYTES,
    ...(e.SEXTANT_URL ? { remoteUrl: e.SEXTANT_URL } : {}),
    ...(e.SEXTANT_TOKEN ? { token: e.SEXTANT_TOKEN } : {}),
    webhookAllow: listOf(e.SEXTANT_WEBHOOK_ALLOW),
    allowedHosts: listOf(e.SEXTANT_ALLOWED_HOSTS),
    retentionDays: e.SEXTANT_RETENTION_DAYS,
    ...(e.SEXTANT_CHROMIUM ? { chromiumPath: e.SEXTANT_CHROMIUM } : {}),
    predictionLog: {
      storage: e.SEXTANT_PREDICTION_LOG,
      dir: path.join(home, 'prediction-log'),
      maxRows: e.SEXTANT_PREDICTION_SEGMENT_ROWS,
      maxAgeMs: e.SEXTANT_PREDICTION_SEGMENT_SECONDS * 1000,
    },
  };
}
