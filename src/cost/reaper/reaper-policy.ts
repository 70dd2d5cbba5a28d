import fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ValidationError } from '../../core/errors.js';

/*
 * The idle reaper's policy, YAML at <SEXTANT_HOME>/reaper.yaml (every key optional; the defaults are
 * what a missing file means):
 *
 *   deployments:
 *     idleMinutes: 30          # unload a deployment's model after 30 min without a request (0: never)
 *   workers:
 *     idleMinutes: 0           # `sextant worker` exits after this long with no job (0: never;
 *                              #  --idle-exit <minutes> overrides)
 *   gpu:
 *     minUtilisationPercent: 10  # a GPU job under 10% ...
 *     minutes: 30                # ... for 30 minutes in a row ...
 *     action: flag               # ... is flagged (audited), or `stop`: cancelled
 *   rates:                     # what an instance-hour costs, for the savings report (0: hours only)
 *     workerHour: 0
 *     deploymentHour: 0
 *     currency: USD
 */

export const reaperPolicySchema = z.strictObject({
  deployments: z.strictObject({ idleMinutes: z.number().min(0).default(30) }).default({ idleMinutes: 30 }),
  workers: z.strictObject({ idleMinutes: z.number().min(0).default(0) }).default({ idleMinutes: 0 }),
  gpu: z
    .strictObject({
      minUtilisationPercent: z.number().min(0).max(100).default(10),
      minutes: z.number().positive().default(30),
      action: z.enum(['flag', 'stop']).default('flag'),
    })
    .default({ minUtilisationPercent: 10, minutes: 30, action: 'flag' }),
  rates: z
    .strictObject({
      workerHour: z.number().min(0).default(0),
      deploymentHour: z.number().min(0).default(0),
      currency: z
        .string()
        .regex(/^[A-Z]{3}$/)
        .default('USD'),
    })
    .default({ workerHour: 0, deploymentHour: 0, currency: 'USD' }),
});
export type ReaperPolicy = z.infer<typeof reaperPolicySchema>;

/** The policy with every default: what a workspace without reaper.yaml runs. */
export const DEFAULT_REAPER_POLICY: ReaperPolicy = reaperPolicySchema.parse({});

/** Parses policy YAML; a bad file is a ValidationError naming the field (never a silent default). */
export function parseReaperPolicy(text: string, source = 'reaper.yaml'): ReaperPolicy {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    throw new ValidationError(`${source}: not YAML: ${(err as Error).message}`, { field: source });
  }
  const r = reaperPolicySchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue?.path.join('.') || '(root)';
    throw new ValidationError(`${source}: ${field}: ${issue?.message}`, { field: `${source}:${field}` });
  }
  return r.data;
}

/** Reads the policy file; a missing file is the defaults. */
export function loadReaperPolicy(file: string): ReaperPolicy {
  if (!fs.existsSync(file)) return DEFAULT_REAPER_POLICY;
  return parseReaperPolicy(fs.readFileSync(file, 'utf8'), file);
}
