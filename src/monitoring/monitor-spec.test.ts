import { describe, expect, it } from 'vitest';
import { isAppError } from '../core/errors.js';
import { parseMonitorSpec } from './monitor-spec.js';

const fieldOf = (yaml: string): unknown => {
  try {
    parseMonitorSpec(yaml);
  } catch (err) {
    if (isAppError(err)) return err.details?.field;
    throw err;
  }
  return undefined;
};

describe('monitor spec', () => {
  it('fills the defaults: hourly window, training reference, skew and drift, Evidently-like policy', () => {
    const s = parseMonitorSpec('name: m\n');
    expect(s.window).toEqual({ kind: 'time', ms: 3_600_000 });
    expect(s.reference).toEqual({ source: 'training' });
    expect(s).toMatchObject({
      skew: true,
      driftVsPrevious: true,
      estimation: false,
      detectors: [],
      alerts: [],
    });
    expect(s.drift).toMatchObject({ minRows: 30, driftShare: 0.5, bh: false });
  });

  it('reads time and count windows, per-feature tests, BH and alerts as written', () => {
    const s = parseMonitorSpec(
      [
        'name: credit',
        'features: [age, income]',
        'window: { rows: 1000 }',
        'reference: { source: dataset, dataset: credit@3 }',
        'drift:',
        '  features: { age: { test: psi, threshold: 0.2 } }',
        '  bh: { fdr: 0.1 }',
        'protected: { attribute: sex }',
        'alerts:',
        "  - { name: drift-high, metric: drift.share, condition: { op: '>', threshold: 0.5 } }",
      ].join('\n'),
    );
    expect(s.window).toEqual({ kind: 'count', rows: 1000 });
    expect(s.drift.features.age).toEqual({ test: 'psi', threshold: 0.2 });
    expect(s.drift.bh).toEqual({ fdr: 0.1 });
    expect(s.protected).toEqual({ attribute: 'sex', minGroupSize: 30 });
    expect(s.alerts).toHaveLength(1);
    // A rule that is not one (no name, an unknown key) is refused at parse time, naming the field.
    expect(fieldOf('name: m\nalerts:\n  - { metric: drift.share, above: 0.5 }\n')).toMatch(/^spec\.alerts/);
    expect(parseMonitorSpec('name: m\nwindow: 30m\n').window).toEqual({ kind: 'time', ms: 1_800_000 });
  });

  it('names the field of every mistake', () => {
    expect(fieldOf('name: m\nwindw: 1h\n')).toBe('spec.windw');
    expect(fieldOf('name: m\nwindow: 1 hour\n')).toBe('spec.window');
    expect(fieldOf('name: m\ndrift: { thresholds: { ks: 1.5 } }\n')).toBe('spec.drift.thresholds.ks');
    expect(fieldOf('name: m\ndrift: { minRows: 0 }\n')).toBe('spec.drift.minRows');
    expect(fieldOf('name: m\nreference: { source: dataset }\n')).toBe('spec.reference.dataset');
    expect(fieldOf('name: m\ndetectors: [eddm]\n')).toBe('spec.detectors[0]');
    expect(fieldOf('features: [a]\n')).toBe('spec.name');
    expect(fieldOf('- a\n- b\n')).toBe('spec');
    expect(fieldOf('name: [unclosed\n')).toBe('spec');
  });
});
