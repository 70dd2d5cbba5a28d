import { describe, expect, it } from 'vitest';
import { parseOrThrow } from '../../core/validate.js';
import { AlertRulesSchema } from './alert-rule.schema.js';

const fieldOf = (input: unknown) => {
  try {
    parseOrThrow(AlertRulesSchema, input, 'alerts');
    return 'ok';
  } catch (e) {
    return (e as { details: { field: string } }).details.field;
  }
};
const base = { name: 'drift', metric: 'drift.share', condition: { op: '>', threshold: 0.3 } };

describe('alert rules', () => {
  it('fill their defaults: one window, no cooldown, warning, notify by webhook and log', () => {
    const [r] = parseOrThrow(AlertRulesSchema, [{ ...base, cooldown: '30m' }]);
    expect(r).toMatchObject({
      for: 1,
      cooldown: 1_800_000,
      severity: 'warning',
      action: 'notify',
      notify: ['webhook', 'log'],
    });
  });

  it('are refused naming the field that is wrong', () => {
    expect(fieldOf([{ ...base, colour: 'red' }])).toBe('alerts.0');
    expect(fieldOf([{ ...base, metric: 'Drift' }])).toBe('alerts.0.metric');
    expect(fieldOf([{ ...base, condition: { op: '>' } }])).toBe('alerts.0.condition.threshold');
    expect(fieldOf([{ ...base, condition: { threshold: 1 } }])).toBe('alerts.0.condition.op');
    expect(fieldOf([{ ...base, condition: { op: '>', threshold: 1, status: 'alert' } }])).toBe(
      'alerts.0.condition.status',
    );
    expect(fieldOf([{ ...base, condition: { status: 'insufficient_data' } }])).toBe(
      'alerts.0.condition.status',
    );
    expect(fieldOf([{ ...base, condition: { op: '>', threshold: Number.NaN } }])).toBe(
      'alerts.0.condition.threshold',
    );
    expect(fieldOf([{ ...base, for: 0 }])).toBe('alerts.0.for');
    expect(fieldOf([{ ...base, cooldown: '5 minutes' }])).toBe('alerts.0.cooldown');
    expect(fieldOf([{ ...base, action: 'page' }])).toBe('alerts.0.action');
    expect(fieldOf([{ ...base, notify: ['email'] }])).toBe('alerts.0.notify.0');
    expect(fieldOf([base, { ...base }])).toBe('alerts.1.name');
    expect(fieldOf([base, { ...base, name: 'other', condition: { status: 'alert' } }])).toBe('ok');
  });
});
