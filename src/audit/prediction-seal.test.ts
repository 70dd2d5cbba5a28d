import { describe, expect, it } from 'vitest';
import type { PredictionTable } from '../store/schema-serving.js';
import { predictionDigest } from './prediction-seal.js';

/** A row as the log stored it before migration 025 added the `error` column. */
const before = {
  id: 'pred_01',
  deployment_id: 'dep_01',
  model_version_id: 'mv_01',
  model: 'credit',
  version: 3,
  alias: 'champion',
  role: 'champion',
  served_at: 1_700_000_000_000,
  request_key: null,
  inputs: '{"age":41}',
  outputs: '{"prediction":1}',
  latency_us: 812,
  shadow_model_version_id: null,
  shadow_outputs: null,
  shadow_error: null,
} as unknown as PredictionTable;

describe('prediction digests across the error column (migration 025)', () => {
  it('a row read back with error: null after the upgrade keeps the digest it was sealed with', () => {
    expect(predictionDigest({ ...before, error: null } as PredictionTable)).toBe(predictionDigest(before));
  });

  it('a failed row’s error is part of its digest, so changing it is seen', () => {
    const failed = { ...before, outputs: 'null', error: '{"code":"UPSTREAM_ERROR","message":"down"}' };
    const changed = { ...failed, error: '{"code":"UPSTREAM_ERROR","message":"fine"}' };
    expect(predictionDigest(failed as PredictionTable)).not.toBe(predictionDigest(before));
    expect(predictionDigest(changed as PredictionTable)).not.toBe(
      predictionDigest(failed as PredictionTable),
    );
  });
});
