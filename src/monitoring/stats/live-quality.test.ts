import { describe, expect, it } from 'vitest';
import type { ColumnProfile } from '../../data/tables/index.js';
import { LiveQualitySchema, liveQuality, toMetricPoints } from './index.js';

const ageProfile: ColumnProfile = {
  name: 'age',
  type: 'integer',
  count: 1000,
  nulls: 50,
  distinct: 60,
  hll: '',
  min: 18,
  max: 90,
  std: 12,
  sketch: Array.from({ length: 101 }, (_, k) => 18 + (72 * k) / 100),
  topKComplete: false,
};
const cityProfile: ColumnProfile = {
  name: 'city',
  type: 'string',
  count: 100,
  nulls: 0,
  distinct: 2,
  hll: '',
  topK: [
    { value: 'Paris', count: 60 },
    { value: 'Lyon', count: 40 },
  ],
  topKComplete: true,
};

describe('liveQuality', () => {
  it('counts nulls, NaN/Infinity, values outside the training range and type changes of a numeric feature', () => {
    const q = liveQuality(ageProfile, [
      20,
      17,
      95,
      40,
      null,
      null,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      '42',
      true,
    ]);
    expect(q).toMatchObject({
      feature: 'age',
      rows: 10,
      nulls: 2,
      nullShare: 0.2,
      referenceNullShare: 0.05,
      nan: 1,
      infinite: 1,
      outOfRange: 2,
      outOfRangeShare: 2 / 4,
      expectedType: 'number',
      types: { number: 6, string: 1, boolean: 1 },
      typeChanges: 2,
      typeChangeShare: 2 / 8,
      unseen: 0,
    });
    expect(LiveQualitySchema.parse(q)).toEqual(q);
  });

  it('counts unseen categories with their most frequent examples', () => {
    const q = liveQuality(cityProfile, ['Paris', 'Nice', 'Nice', 'Lille', 'Lyon', null, 7, 'Nice']);
    expect(q).toMatchObject({
      nulls: 1,
      unseen: 5,
      unseenShare: 5 / 7,
      unseenExact: true,
      unseenExamples: [
        { value: 'Nice', count: 3 },
        { value: '7', count: 1 },
        { value: 'Lille', count: 1 },
      ],
      typeChanges: 1,
      expectedType: 'string',
    });
  });

  it('an empty window has zero shares (no NaN) and insufficient_data points', () => {
    const q = liveQuality(ageProfile, []);
    expect([q.nullShare, q.outOfRangeShare, q.unseenShare, q.typeChangeShare]).toEqual([0, 0, 0, 0]);
    const points = toMetricPoints(
      { quality: [q] },
      {
        monitorId: 'm',
        runId: 'r',
        deploymentId: 'd',
        modelVersionId: 'v',
        windowStart: 0,
        windowEnd: 1,
        comparison: 'drift',
      },
    );
    expect(points.map((p) => p.metric)).toEqual([
      'quality.null_share',
      'quality.out_of_range_share',
      'quality.unseen_share',
      'quality.non_finite',
      'quality.type_change_share',
    ]);
    expect(points.every((p) => p.status === 'insufficient_data' && p.value === null)).toBe(true);
  });

  it('raw references work too', () => {
    const q = liveQuality([true, false, true], [true, 'yes', null], 'flag');
    expect(q).toMatchObject({ feature: 'flag', expectedType: 'boolean', typeChanges: 1, unseen: 1 });
  });
});
