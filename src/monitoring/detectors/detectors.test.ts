import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MetricPointSchema } from '../metric-point.schema.js';
import {
  bernoulliErrorStream,
  createDetector,
  creditErrorStream,
  DETECTOR_KINDS,
  detectorToMetricPoint,
  evaluateDetector,
  feedDetector,
  restoreDetector,
} from './index.js';

/*
 * River is the oracle. The fixture holds the streams of river's own drift tests and docstrings,
 * regenerated in Python exactly as written there:
 *   s1: np.random.seed(12345); concat(randint(2, size=1000), randint(8, size=1000))   ADWIN [1055], PH [1020, 1991]
 *   s2: np.random.seed(12345); concat(binomial(1, .2) x 1000, binomial(1, .8) x 1000) DDM [1049]
 *   s3: np.random.seed(12345); concat(randint(2, 1000), randint(4, 8, 1000))          PH [1009]; ADWIN before it
 *       reset on drift [1023, 1055, 1087, 1119]
 *   phdoc: random.Random(12345); choices([0, 1], k=1000) + choices(range(4, 8), k=1000)  PH [1006], ADWIN [1023]
 *   ddmdoc: random.Random(42); choices([0, 1], k=1000) + choices([0, 1], k=1000, weights=[.3, .7])
 *       DDM warning 1084, drift 1334, warning 1492
 */
const fixture = JSON.parse(
  fs.readFileSync(new URL('./river-streams.fixture.json', import.meta.url), 'utf8'),
) as Record<string, string>;
const stream = (name: string) => [...fixture[name]!].map(Number);

const ctx = {
  monitorId: 'mon_1',
  runId: 'run_1',
  deploymentId: 'dep_1',
  modelVersionId: 'mv_1',
  windowStart: 0,
  windowEnd: 1,
};

describe('concept drift detectors match river on its own test streams', () => {
  it('ADWIN (delta 0.002, fresh window after a drift; river split points to reproduce its indices)', () => {
    expect(feedDetector(createDetector('adwin', { riverSplitPoints: true }), stream('s1')).drifts).toEqual([
      1055,
    ]);
    expect(feedDetector(createDetector('adwin', { riverSplitPoints: true }), stream('phdoc')).drifts).toEqual(
      [1023],
    );
    expect(
      feedDetector(createDetector('adwin', { resetOnDrift: false, riverSplitPoints: true }), stream('s3'))
        .drifts,
    ).toEqual([1023, 1055, 1087, 1119]);
    // Our default tries every split point (MOA's loop): the same single detection, no later.
    const all = feedDetector(createDetector('adwin'), stream('s1')).drifts;
    expect(all).toHaveLength(1);
    expect(all[0]!).toBeGreaterThanOrEqual(1000);
    expect(all[0]!).toBeLessThanOrEqual(1055);
  });

  it('Page-Hinkley (delta 0.005, lambda 50, 30 rows)', () => {
    expect(feedDetector(createDetector('page_hinkley'), stream('s1')).drifts).toEqual([1020, 1991]);
    expect(feedDetector(createDetector('page_hinkley'), stream('s3')).drifts).toEqual([1009]);
    expect(feedDetector(createDetector('page_hinkley'), stream('phdoc')).drifts).toEqual([1006]);
  });

  it('DDM (warning 2, drift 3, 30 rows), warnings included', () => {
    expect(feedDetector(createDetector('ddm'), stream('s2')).drifts).toEqual([1049]);
    const doc = feedDetector(createDetector('ddm'), stream('ddmdoc'));
    expect(doc.drifts).toEqual([1334]);
    expect(doc.warnings[0]).toBe(1084);
    expect(doc.warnings.find((w) => w > 1334)).toBe(1492);
    expect(doc.signal).toBe('drift');
  });
});

describe('concept drift detectors', () => {
  it('resume across monitor ticks: a stored and restored state gives the same signals as one uninterrupted run', () => {
    const { errors } = bernoulliErrorStream(
      [
        { rows: 3000, rate: 0.1 },
        { rows: 3000, rate: 0.3 },
        { rows: 3000, rate: 0.6 },
      ],
      5,
    );
    for (const kind of DETECTOR_KINDS) {
      const whole = feedDetector(createDetector(kind), errors).drifts;
      let detector = createDetector(kind);
      const resumed: number[] = [];
      for (let start = 0; start < errors.length; start += 700) {
        resumed.push(...feedDetector(detector, errors.subarray(start, start + 700), start).drifts);
        detector = restoreDetector(JSON.parse(JSON.stringify(detector.state())));
      }
      expect(resumed, kind).toEqual(whole);
      expect(whole.length, kind).toBeGreaterThan(0);
    }
  });

  it("find the credit generator's concept drift (knob 0 -> 1) after the change and stay quiet on the same stream without it", () => {
    for (const kind of DETECTOR_KINDS) {
      let detected = 0;
      for (let seed = 1; seed <= 4; seed++) {
        const drifted = creditErrorStream({ rows: 10_000, changeAt: 5000, seed });
        const e = evaluateDetector(kind, drifted.errors, drifted.changePoints);
        detected += e.changes - e.missed;
        const stable = creditErrorStream({ rows: 10_000, changeAt: 5000, seed, conceptDrift: 0 });
        expect(
          evaluateDetector(kind, stable.errors, []).falseAlarms,
          `${kind} seed ${seed}`,
        ).toBeLessThanOrEqual(1);
      }
      // DDM weighs all rows since its last reset equally, so a 25% -> 31% error rise after 5,000
      // stable rows can take it longer than the 5,000 rows that follow (see docs for the numbers).
      expect(detected, kind).toBeGreaterThanOrEqual(kind === 'ddm' ? 1 : 4);
    }
  });

  it('detect a Bernoulli error-rate jump 0.1 -> 0.3 within a few hundred rows', () => {
    for (const kind of DETECTOR_KINDS) {
      const s = bernoulliErrorStream(
        [
          { rows: 3000, rate: 0.1 },
          { rows: 3000, rate: 0.3 },
        ],
        11,
      );
      const e = evaluateDetector(kind, s.errors, s.changePoints);
      expect(e.missed, kind).toBe(0);
      expect(e.delays[0]!, kind).toBeLessThan(1000);
    }
  });

  it('evaluateDetector scores delay, false alarms per 10k rows and missed changes', () => {
    // Page-Hinkley on s1 fires at 1020 and 1991; with the change at 1000: delay 20, one false alarm
    // (1991) in 2,000 rows = 5 per 10k; a second change at 1500 is attributed 1991 instead.
    const one = evaluateDetector('page_hinkley', stream('s1'), [1000]);
    expect(one).toMatchObject({
      delays: [20],
      meanDelay: 20,
      falseAlarms: 1,
      falseAlarmsPer10k: 5,
      missed: 0,
    });
    const two = evaluateDetector('page_hinkley', stream('s1'), [1000, 1500]);
    expect(two).toMatchObject({ delays: [20, 491], falseAlarms: 0, missed: 0 });
    const early = evaluateDetector('page_hinkley', stream('s1'), [1500]);
    expect(early).toMatchObject({ delays: [491], falseAlarms: 1, missed: 0 });
    const late = evaluateDetector('page_hinkley', stream('s1'), [1995]);
    expect(late).toMatchObject({ delays: [], falseAlarms: 2, missed: 1, meanDelay: null });
    expect(() => evaluateDetector('ddm', [0, 1], [5])).toThrow(/changePoints\[0\]/);
  });

  it('reject bad rows, unknown options and corrupt states with errors naming the field', () => {
    expect(() => createDetector('ddm').update(2)).toThrow(/0\/1/);
    expect(() => createDetector('adwin').update(Number.NaN)).toThrow(/finite/);
    expect(() => createDetector('page_hinkley').update(Number.POSITIVE_INFINITY)).toThrow(/finite/);
    expect(() => createDetector('adwin', { lambda: 3 } as never)).toThrow(/options/);
    expect(() => createDetector('page_hinkley', { lambda: -1 })).toThrow(/options\.lambda/);
    expect(() => createDetector('ddm', { warningThreshold: 3, driftThreshold: 2 })).toThrow(
      /warningThreshold/,
    );
    expect(() => restoreDetector({ kind: 'adwin', width: 'x' })).toThrow(/state\./);
    expect(() => restoreDetector({ kind: 'kswin' })).toThrow(/state/);
  });

  it('map a fed window to a concept.<kind> point: insufficient data while warming up, alert on drift', () => {
    const ddm = createDetector('ddm');
    const warmup = detectorToMetricPoint(ctx, ddm, feedDetector(ddm, stream('s2').slice(0, 20)));
    expect(warmup).toMatchObject({ metric: 'concept.ddm', status: 'insufficient_data', value: null });
    const quiet = detectorToMetricPoint(ctx, ddm, feedDetector(ddm, stream('s2').slice(20, 900), 20));
    expect(quiet.status).toBe('ok');
    expect(quiet.value).toBeCloseTo(0.2, 1);
    const drift = detectorToMetricPoint(ctx, ddm, feedDetector(ddm, stream('s2').slice(900), 900), {
      slice: 'sex=female',
    });
    expect(drift).toMatchObject({
      status: 'alert',
      slice: 'sex=female',
      details: { signal: 'drift', drifts: [1049] },
    });
    for (const p of [warmup, quiet, drift]) MetricPointSchema.parse(p);
  });
});
