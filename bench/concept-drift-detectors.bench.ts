import {
  bernoulliErrorStream,
  creditErrorStream,
  DETECTOR_KINDS,
  type ErrorStream,
  evaluateDetector,
} from '../src/monitoring/index.js';
import { intEnv, median, printTable, progress } from './support.js';

/*
 * Concept drift detectors on streams with known change points (npx tsx bench/concept-drift-detectors.bench.ts).
 * Prints detection delay (rows from the change to the first drift signal), false alarms per 10k rows
 * and missed changes for DDM, ADWIN and Page-Hinkley with their defaults, over BENCH_CD_SEEDS seeds
 * (20) of each stream. Asserts nothing; docs/monitoring-estimation.md quotes the table.
 *   credit 0->1       the credit model's errors; labels from the generator's conceptDrift knob 1 after
 *                     row 5,000 (error rate about 0.25 -> 0.31), 15,000 rows
 *   credit, no change the same stream with the knob left at 0 (false alarms only)
 *   bernoulli .1->.3  independent errors, rate 0.1 for 5,000 rows then 0.3 for 5,000
 *   bernoulli .2      independent errors at 0.2, 10,000 rows (false alarms only)
 */

const SEEDS = intEnv('BENCH_CD_SEEDS', 20);
const streams: { name: string; make: (seed: number) => ErrorStream }[] = [
  { name: 'credit 0->1', make: (seed) => creditErrorStream({ rows: 15_000, changeAt: 5000, seed }) },
  {
    name: 'credit, no change',
    make: (seed) => ({
      ...creditErrorStream({ rows: 15_000, changeAt: 5000, seed, conceptDrift: 0 }),
      changePoints: [],
    }),
  },
  {
    name: 'bernoulli .1->.3',
    make: (seed) =>
      bernoulliErrorStream(
        [
          { rows: 5000, rate: 0.1 },
          { rows: 5000, rate: 0.3 },
        ],
        seed,
      ),
  },
  { name: 'bernoulli .2', make: (seed) => bernoulliErrorStream([{ rows: 10_000, rate: 0.2 }], seed) },
];

const rows: string[][] = [];
for (const s of streams) {
  progress(`${s.name}: ${SEEDS} seeds`);
  const made = Array.from({ length: SEEDS }, (_, i) => s.make(i + 1));
  for (const kind of DETECTOR_KINDS) {
    const delays: number[] = [];
    let falseAlarms = 0;
    let total = 0;
    let missed = 0;
    let changes = 0;
    for (const stream of made) {
      const e = evaluateDetector(kind, stream.errors, stream.changePoints);
      delays.push(...e.delays);
      falseAlarms += e.falseAlarms;
      total += e.rows;
      missed += e.missed;
      changes += e.changes;
    }
    rows.push([
      s.name,
      kind,
      changes > 0 ? (delays.length > 0 ? String(Math.round(median(delays))) : 'none') : '-',
      changes > 0
        ? delays.length > 0
          ? String(Math.round(delays.reduce((a, b) => a + b, 0) / delays.length))
          : 'none'
        : '-',
      ((falseAlarms * 10_000) / total).toFixed(2),
      changes > 0 ? `${missed}/${changes}` : '-',
    ]);
  }
}
printTable(['stream', 'detector', 'median delay', 'mean delay', 'false alarms / 10k rows', 'missed'], rows);
