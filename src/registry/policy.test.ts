import { describe, expect, it } from 'vitest';
import { modelNameKey, splitRef } from './model-name.js';
import { compare, parseMetricRule, parsePolicy } from './policy.js';

describe('promotion policies as YAML', () => {
  it('fills the defaults: one approval by an approver or admin, separation of duties, 7 days, no gates', () => {
    expect(parsePolicy('{}')).toEqual({
      protectedAliases: ['champion'],
      approvals: 1,
      approverRoles: ['approver', 'admin'],
      separationOfDuties: true,
      expiresAfter: 7 * 86_400_000,
      emergencyRollback: 'admin',
      gates: [],
    });
    expect(parsePolicy('expiresAfter: 30m\n').expiresAfter).toBe(1_800_000);
  });

  it('reads absolute and relative metric rules', () => {
    expect(parseMetricRule('auc >= 0.80')).toMatchObject({
      metric: 'auc',
      op: '>=',
      rhs: { kind: 'absolute', value: 0.8 },
    });
    expect(parseMetricRule('auc >= champion.auc - 0.005')).toMatchObject({
      rhs: { kind: 'relative', alias: 'champion', metric: 'auc', offset: -0.005 },
    });
    expect(parseMetricRule('val.loss<challenger.val.loss+1e-3')).toMatchObject({
      metric: 'val.loss',
      op: '<',
      rhs: { kind: 'relative', alias: 'challenger', metric: 'val.loss', offset: 0.001 },
    });
    expect(compare(0.8, '>=', 0.8)).toBe(true);
    expect(compare(0.79, '>=', 0.8)).toBe(false);
  });

  it('refuses a bad policy with the field that is wrong', () => {
    const bad: [string, RegExp][] = [
      ['approvals: many', /^policy\.approvals: /],
      ['gates:\n  - metric: auc >>= 0.8', /^policy\.gates\[0\]/],
      ['gates:\n  - metric: auc >= champion', /^policy\.gates\[0\]/],
      ['gates:\n  - fairness: { metric: dp }', /^policy\.gates\[0\]/],
      ['gates:\n  - coverage: 1', /^policy\.gates\[0\]/],
      ['approverRoles: [editor]', /^policy\.approverRoles\[0\]/],
      ['expiresAfter: 1 week', /^policy\.expiresAfter: must be a duration/],
      ['protectedAliases: [Champion]', /^policy\.protectedAliases\[0\]/],
      ['colour: red', /^policy: .*colour|^policy.*unrecognized/i],
      ['- just\n- a list', /^policy: must be a YAML mapping/],
      ['key: [unclosed', /^policy: not valid YAML/],
    ];
    for (const [yaml, message] of bad) expect(() => parsePolicy(yaml), yaml).toThrow(message);
  });
});

describe('model names and refs', () => {
  it('normalises URL-encoding, Unicode form and case into one key', () => {
    const key = modelNameKey('Café Model');
    for (const twin of ['cafe\u0301 model', 'CAFÉ%20MODEL', 'caf%C3%A9%2520model', 'ｃａｆé model']) {
      expect(modelNameKey(twin), twin).toBe(key);
    }
    expect(modelNameKey('100% model')).toBe('100% model');
  });

  it('splits a ref at its last @', () => {
    expect(splitRef('fraud@champion')).toEqual({ model: 'fraud', selector: 'champion' });
    expect(() => splitRef('fraud')).toThrow(/must look like <model>@<version>/);
    expect(() => splitRef('fraud@')).toThrow(/ref:/);
  });
});
