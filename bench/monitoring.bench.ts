import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { LocalBlobStore } from '../src/blobs/index.js';
import { systemClock } from '../src/core/clock.js';
import type { ColumnProfile } from '../src/data/tables/index.js';
import { type PreparedReference, prepareReference, windowDrift } from '../src/monitoring/stats/index.js';
import { readWindow } from '../src/monitoring/window-traffic.js';
import { createPredictionStore, createSegmentReader } from '../src/serving/ledger/index.js';
import { openStore } from '../src/store/index.js';
import { fmtInt, fmtMs, fmtRatio, intEnv, median, printTable, progress, tempDir } from './support.js';

/*
 * Monitoring statistics benchmarks (npm run bench:monitoring). Prints tables and ratios; asserts nothing.
 *   c. The shape of Evidently's issue 1526: 3M reference rows kept as stored profiles (sketches) and a
 *      300k-row window of 1,000 columns (900 numeric, 100 categorical), default tests: time and peak
 *      RSS. BENCH_FULL=1 runs the full 1,000 columns; by default 100 (a tenth), to keep it routine.
 *      Runs first, so the peak RSS is its own.
 *   a. Exact drift tests (KS and Wasserstein) on 1M current rows x 20 numeric columns against 1M
 *      reference rows, side by side with scipy.stats (ks_2samp + wasserstein_distance) on the same
 *      raw columns, when python3 with scipy is there.
 *   b. 200 columns against 100 columns (100k rows): the ratio (linear would be 2.0).
 *   d. Reading a window of BENCH_MON_LOG_ROWS (1M) logged predictions from the prediction log (SQLite):
 *      the monitoring window reader (PredictionStore.scan in keyset pages + splitPage into per-version
 *      rows) and PredictionStore.scan alone, against a bare better-sqlite3 iterate() of the same SELECT
 *      (with and without the JSON.parse of inputs and outputs every reader needs). Target >= 0.5x.
 * Knobs: BENCH_MON_ROWS (1000000), BENCH_MON_LOG_ROWS (1000000), BENCH_ROUNDS (3), BENCH_FULL (0),
 * BENCH_ONLY (a | b | c | d).
 * The data are the same formula on both sides (a hash of the row number), so no files are written.
 */

const ROWS = intEnv('BENCH_MON_ROWS', 1_000_000);
const ROUNDS = intEnv('BENCH_ROUNDS', 3);
const FULL = process.env.BENCH_FULL === '1';
const ONLY = process.env.BENCH_ONLY;
const COLS_A = 20;

/** A uniform in [0, 1) from the row number and a key: a 32-bit integer hash (lowbias32), the same in numpy. */
function u(i: number, k: number): number {
  let x = (Math.imul(i, 0x9e3779b1) + Math.imul(k, 0x85ebca77)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return (x >>> 0) / 4294967296;
}

/** Column c: a sum of three uniforms, scaled and shifted per column; `shift` moves the current window. */
function column(n: number, offset: number, c: number, shift: number): Float64Array {
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const i = j + offset;
    out[j] = (u(i, 3 * c) + u(i, 3 * c + 1) + u(i, 3 * c + 2) - 1.5) * (c + 1) + c + shift * (c + 1);
  }
  return out;
}

const CUR_OFFSET = 10_000_000;
const shiftOf = (c: number) => (c % 2 === 1 ? 0.02 : 0);

const PYTHON = `
import sys, json, time
import numpy as np
from scipy.stats import ks_2samp, wasserstein_distance
n, cols = int(sys.argv[1]), int(sys.argv[2])
def u(i, k):
    x = i * np.uint32(0x9e3779b1) + np.uint32((k * 0x85ebca77) % 2**32)
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x7feb352d)
    x ^= x >> np.uint32(15)
    x *= np.uint32(0x846ca68b)
    x ^= x >> np.uint32(16)
    return x.astype(np.float64) / 4294967296.0
def column(n, off, c, shift):
    i = np.arange(off, off + n, dtype=np.uint32)
    return (u(i, 3*c) + u(i, 3*c+1) + u(i, 3*c+2) - 1.5) * (c + 1) + c + shift * (c + 1)
ref = [column(n, 0, c, 0) for c in range(cols)]
cur = [column(n, ${CUR_OFFSET}, c, 0.02 if c % 2 else 0) for c in range(cols)]
t = time.perf_counter()
out = []
for c in range(cols):
    ks = ks_2samp(ref[c], cur[c])
    w = wasserstein_distance(ref[c], cur[c])
    out.append([float(ks.statistic), float(ks.pvalue), float(w)])
ms = (time.perf_counter() - t) * 1000
print(json.dumps({"ms": ms, "first": out[0], "second": out[1]}))
`;

function scipyAvailable(): string | null {
  const r = spawnSync('python3', ['-c', 'import scipy; print(scipy.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function time<T>(fn: () => T): { result: T; ms: number } {
  const t = performance.now();
  const result = fn();
  return { result, ms: performance.now() - t };
}

function benchExact(): void {
  progress(`a. exact KS + Wasserstein, ${fmtInt(ROWS)} rows x ${COLS_A} columns`);
  const refCols: Record<string, Float64Array> = {};
  const curCols: Record<string, Float64Array> = {};
  for (let c = 0; c < COLS_A; c++) {
    refCols[`f${c}`] = column(ROWS, 0, c, 0);
    curCols[`f${c}`] = column(ROWS, CUR_OFFSET, c, shiftOf(c));
  }
  const prep = time(() => {
    const out: Record<string, PreparedReference> = {};
    for (const [k, v] of Object.entries(refCols)) out[k] = prepareReference(v, k, 'numeric');
    return out;
  });
  const rounds: number[] = [];
  let first: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = time(() => {
      const ks = windowDrift(prep.result, curCols, { tests: { numeric: 'ks' } });
      const w = windowDrift(prep.result, curCols, { tests: { numeric: 'wasserstein' } });
      return { ks, w };
    });
    rounds.push(t.ms);
    const f0 = t.result.ks.features[1];
    first = [f0?.statistic ?? Number.NaN, f0?.pValue ?? Number.NaN];
  }
  const ours = median(rounds);
  const version = scipyAvailable();
  const stored = [
    'sextant, reference prepared (stored)',
    fmtMs(ours),
    '',
    `D=${first[0]?.toFixed(6)} p=${first[1]?.toExponential(4)}`,
  ];
  const withSort = ['sextant, incl. sorting the reference', fmtMs(ours + prep.ms), '', ''];
  const rows: string[][] = [stored, withSort];
  if (version) {
    progress(`   scipy ${version} on the same columns`);
    const py = spawnSync('python3', ['-c', PYTHON, String(ROWS), String(COLS_A)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    if (py.status === 0) {
      const res = JSON.parse(py.stdout) as { ms: number; second: number[] };
      rows.push([
        `scipy ${version} ks_2samp + wasserstein_distance`,
        fmtMs(res.ms),
        '1.00x',
        `D=${res.second[0]?.toFixed(6)} p=${res.second[1]?.toExponential(4)}`,
      ]);
      stored[2] = `${fmtRatio(ours / res.ms)} of scipy`;
      withSort[2] = `${fmtRatio((ours + prep.ms) / res.ms)} of scipy`;
    } else rows.push(['scipy', 'failed', '', py.stderr.split('\n').slice(-3).join(' ')]);
  } else rows.push(['scipy', 'not installed (python3 with scipy not found): no side-by-side ratio', '', '']);
  printTable(['a. 1M x 20 exact (KS + Wasserstein)', 'ms', 'ratio', 'column f1'], rows);
}

function benchLinear(): void {
  const n = 100_000;
  progress(`b. 100 vs 200 columns, ${fmtInt(n)} rows`);
  const make = (cols: number) => {
    const ref: Record<string, PreparedReference> = {};
    const cur: Record<string, Float64Array> = {};
    for (let c = 0; c < cols; c++) {
      ref[`f${c}`] = prepareReference(column(n, 0, c % 50, 0), `f${c}`, 'numeric');
      cur[`f${c}`] = column(n, CUR_OFFSET, c % 50, shiftOf(c));
    }
    return { ref, cur };
  };
  const w100 = make(100);
  const w200 = make(200);
  const t100: number[] = [];
  const t200: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    t100.push(time(() => windowDrift(w100.ref, w100.cur)).ms);
    t200.push(time(() => windowDrift(w200.ref, w200.cur)).ms);
  }
  const a = median(t100);
  const b = median(t200);
  printTable(
    ['b. columns', 'ms', 'ratio'],
    [
      ['100', fmtMs(a), '1.00x'],
      ['200', fmtMs(b), `${fmtRatio(b / a)} (target <= 2.2x)`],
    ],
  );
}

const CATEGORIES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

/** A stored profile of 3M reference rows: the sketch of the column's distribution, as a profile keeps it. */
function referenceProfile(c: number, rows: number): ColumnProfile {
  if (c % 10 === 9) {
    const weights = CATEGORIES.map((_, k) => k + 1);
    const total = weights.reduce((x, y) => x + y, 0);
    return {
      name: `f${c}`,
      type: 'string',
      count: rows,
      nulls: 0,
      distinct: CATEGORIES.length,
      hll: '',
      topK: CATEGORIES.map((value, k) => ({
        value,
        count: Math.round(((weights[k] as number) / total) * rows),
      })),
      topKComplete: true,
    };
  }
  // The sketch is read off a 50k-row sample of the same generator: building the profile of 3M rows is
  // the data domain's job (bench:data-profile), not what this measures.
  const s = column(50_000, 0, c % 50, 0).sort();
  const sketch = Array.from(
    { length: 101 },
    (_, k) => s[Math.min(s.length - 1, Math.round((k / 100) * (s.length - 1)))] as number,
  );
  let mean = 0;
  for (const x of s) mean += x / s.length;
  let m2 = 0;
  for (const x of s) m2 += (x - mean) ** 2;
  return {
    name: `f${c}`,
    type: 'float',
    count: rows,
    nulls: 0,
    distinct: rows,
    hll: '',
    min: sketch[0],
    max: sketch[100],
    mean,
    std: Math.sqrt(m2 / (s.length - 1)),
    m2: (m2 / s.length) * rows,
    sketch,
    topKComplete: false,
  };
}

function currentColumn(c: number, n: number): () => Float64Array | string[] {
  if (c % 10 === 9) {
    return () => {
      const out = new Array<string>(n);
      for (let j = 0; j < n; j++) {
        const x = u(j + CUR_OFFSET, c);
        // Triangular-ish weights, a little shifted towards 'h' on odd columns.
        const k = Math.min(7, Math.floor(Math.sqrt(x) * 8 + (c % 2 ? 0.3 : 0)));
        out[j] = CATEGORIES[k] as string;
      }
      return out;
    };
  }
  return () => column(n, CUR_OFFSET, c % 50, shiftOf(c));
}

function benchEvidently1526(): void {
  const cols = FULL ? 1000 : 100;
  const refRows = 3_000_000;
  const curRows = 300_000;
  progress(
    `c. Evidently 1526 shape: ${fmtInt(refRows)} reference rows (profiles) + ${fmtInt(curRows)} x ${cols} columns`,
  );
  const profiles: Record<string, ColumnProfile> = {};
  for (let c = 0; c < cols; c++) profiles[`f${c}`] = referenceProfile(c, refRows);
  const current: Record<string, () => Float64Array | string[]> = {};
  for (let c = 0; c < cols; c++) current[`f${c}`] = currentColumn(c, curRows);
  const gen = time(() => {
    for (let c = 0; c < 10; c++) currentColumn(c, curRows)();
  });
  const t = time(() => windowDrift(profiles, current));
  const rssMb = process.resourceUsage().maxRSS / 1024;
  const tests = new Map<string, number>();
  for (const f of t.result.features) tests.set(f.test ?? 'none', (tests.get(f.test ?? 'none') ?? 0) + 1);
  printTable(
    ['c. Evidently 1526 shape', 'value'],
    [
      ['columns', `${cols}${FULL ? ' (full)' : ' (BENCH_FULL=1 for 1,000)'}`],
      ['ms (windowDrift, columns loaded one at a time)', fmtMs(t.ms)],
      ['ms of it generating the window (est.)', fmtMs((gen.ms / 10) * cols)],
      ['peak RSS of the process', `${rssMb.toFixed(0)} MB`],
      ['tests', [...tests].map(([k, v]) => `${k} ${v}`).join(', ')],
      ['drifted / tested', `${t.result.drifted} / ${t.result.tested}`],
      ['targets', '< 2 min, < 2 GiB'],
    ],
  );
}

/** A fixed workload to read the other numbers against (the bench machine is often shared). */
function calibrate(): void {
  const a = column(1_000_000, 0, 0, 0);
  const t = time(() => a.sort());
  progress(`calibration: native Float64Array.sort of 1M values: ${fmtMs(t.ms)} ms`);
}

const LOG_ROWS = intEnv('BENCH_MON_LOG_ROWS', 1_000_000);

/** Seeds the log straight into the table (batched inserts, one transaction per 50k), half labelled. */
function seedLog(file: string, deploymentId: string, t0: number): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  const insert = db.prepare(
    `insert into predictions (id, deployment_id, model_version_id, model, version, alias, role, served_at,
       request_key, inputs, outputs, latency_us, shadow_version_id, shadow_outputs, shadow_error)
     values (?, ?, 'mv_bench', 'credit', 1, 'champion', 'champion', ?, null, ?, ?, 900, null, null, null)`,
  );
  const label = db.prepare(
    `insert into prediction_labels (prediction_id, label, deployment_id, model_version_id, received_at, received_by)
     values (?, ?, ?, 'mv_bench', ?, 'bench')`,
  );
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const id = `pred_${String(i).padStart(10, '0')}`;
      const p = u(i, 7);
      const inputs = JSON.stringify({
        age: Math.round(18 + 60 * u(i, 1)),
        income: Math.round(20_000 + 80_000 * u(i, 2)),
        debt_ratio: Number(u(i, 3).toFixed(4)),
        sex: u(i, 4) < 0.5 ? 'female' : 'male',
        purpose: ['car', 'home', 'education', 'business'][Math.floor(u(i, 5) * 4)],
      });
      const outputs = JSON.stringify({ prediction: p >= 0.5 ? 1 : 0, probabilities: { '0': 1 - p, '1': p } });
      insert.run(id, deploymentId, t0 + i * 10, inputs, outputs);
      if (i % 2 === 0) label.run(id, String(u(i, 6) < 0.3 ? 1 : 0), deploymentId, t0 + i * 10 + 5000);
    }
  });
  for (let at = 0; at < LOG_ROWS; at += 50_000) {
    batch(at, Math.min(LOG_ROWS, at + 50_000));
    progress(`d. seeded ${fmtInt(Math.min(LOG_ROWS, at + 50_000))} / ${fmtInt(LOG_ROWS)} predictions`);
  }
  db.close();
}

async function benchLogRead(): Promise<void> {
  const file = path.join(tempDir('sextant-bench-monlog-'), 'bench.db');
  const store = await openStore(`sqlite:${file}`);
  const deploymentId = 'dep_bench';
  const t0 = Date.UTC(2026, 0, 1);
  seedLog(file, deploymentId, t0);
  const predictions = createPredictionStore({
    db: store.db,
    clock: systemClock,
    segments: createSegmentReader({
      db: store.db,
      blobs: new LocalBlobStore(path.join(os.tmpdir(), 'sextant-bench-unused-blobs')),
      cacheDir: os.tmpdir(),
    }),
  });
  const q = { deploymentId, since: t0, until: t0 + LOG_ROWS * 10 };
  const raw = new Database(file, { readonly: true });
  const select = raw.prepare(
    `select p.*, l.label as label, l.received_at as label_received_at from predictions as p
     left join prediction_labels as l on l.prediction_id = p.id
     where p.deployment_id = ? and p.served_at >= ? and p.served_at < ? order by p.served_at, p.id`,
  );
  const bare = (parse: boolean) => {
    const start = performance.now();
    let n = 0;
    let sink = 0;
    for (const r of select.iterate(q.deploymentId, q.since, q.until) as Iterable<Record<string, string>>) {
      n++;
      if (parse)
        sink +=
          Object.keys(JSON.parse(r.inputs as string)).length + (JSON.parse(r.outputs as string) ? 1 : 0);
    }
    return { ms: performance.now() - start, n, sink };
  };
  const scan = async () => {
    const start = performance.now();
    let n = 0;
    for await (const page of predictions.scan({ ...q, batchSize: 5000 })) n += page.length;
    return { ms: performance.now() - start, n };
  };
  const reader = async () => {
    const start = performance.now();
    const w = await readWindow(predictions, q);
    let n = 0;
    for (const t of w.values()) n += t.rows.length;
    return { ms: performance.now() - start, n };
  };
  const times = {
    bare: [] as number[],
    bareParse: [] as number[],
    scan: [] as number[],
    reader: [] as number[],
  };
  for (let r = 0; r < ROUNDS; r++) {
    progress(`d. round ${r + 1}/${ROUNDS}`);
    // Alternating, so drift of a shared machine falls on both sides.
    const b = bare(false);
    const bp = bare(true);
    const s = await scan();
    const w = await reader();
    if (b.n !== LOG_ROWS || s.n !== LOG_ROWS || w.n !== LOG_ROWS)
      throw new Error(`read ${b.n}/${s.n}/${w.n} rows`);
    times.bare.push(b.ms);
    times.bareParse.push(bp.ms);
    times.scan.push(s.ms);
    times.reader.push(w.ms);
  }
  raw.close();
  await store.close();
  const m = {
    bare: median(times.bare),
    bareParse: median(times.bareParse),
    scan: median(times.scan),
    reader: median(times.reader),
  };
  const rate = (ms: number) => `${fmtInt(Math.round(LOG_ROWS / (ms / 1000)))} rows/s`;
  printTable(
    [
      `d. read ${fmtInt(LOG_ROWS)} logged predictions (SQLite, median of ${ROUNDS})`,
      'ms',
      'rate',
      'vs bare iterate()',
      'vs iterate() + JSON.parse',
    ],
    [
      ['bare better-sqlite3 iterate() of the same SELECT', fmtMs(m.bare), rate(m.bare), '1.00x', ''],
      [
        'bare iterate() + JSON.parse(inputs, outputs)',
        fmtMs(m.bareParse),
        rate(m.bareParse),
        fmtRatio(m.bare / m.bareParse),
        '1.00x',
      ],
      [
        'PredictionStore.scan (5k keyset pages)',
        fmtMs(m.scan),
        rate(m.scan),
        fmtRatio(m.bare / m.scan),
        fmtRatio(m.bareParse / m.scan),
      ],
      [
        'monitoring window reader (scan + per-version rows)',
        fmtMs(m.reader),
        rate(m.reader),
        fmtRatio(m.bare / m.reader),
        fmtRatio(m.bareParse / m.reader),
      ],
      ['target', '', '', '>= 0.50x (rate)', ''],
    ],
  );
}

calibrate();
if (!ONLY || ONLY === 'c') benchEvidently1526();
if (!ONLY || ONLY === 'a') benchExact();
if (!ONLY || ONLY === 'b') benchLinear();
if (!ONLY || ONLY === 'd') await benchLogRead();
