import { parse as parseYaml, YAMLError } from 'yaml';
import { ValidationError } from '../core/errors.js';
import { type MonitorSpec, monitorSpecSchema } from './monitor-spec.schema.js';

/** Parses and checks monitor.yaml; the ValidationError names the field (e.g. `spec.drift.minRows`). */
export function parseMonitorSpec(yamlText: string): MonitorSpec {
  let raw: unknown;
  try {
    raw = parseYaml(yamlText);
  } catch (err) {
    const msg = err instanceof YAMLError ? err.message.split('\n')[0] : String(err);
    throw new ValidationError(`spec: not valid YAML: ${msg}`, { field: 'spec' });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new ValidationError('spec: must be a YAML mapping (name, features, window, drift, ...)', {
      field: 'spec',
    });
  const parsed = monitorSpecSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const keys = issue?.code === 'unrecognized_keys' ? issue.keys : [];
  const path = [...(issue?.path ?? []), ...(keys.length === 1 ? keys : [])];
  const field = ['spec', ...path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))]
    .join('')
    .replace(/\.\[/g, '[');
  throw new ValidationError(`${field}: ${issue?.message ?? 'invalid'}`, { field });
}
