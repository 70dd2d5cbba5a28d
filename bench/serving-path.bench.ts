import os from 'node:os';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import { systemClock } from '../src/core/clock.js';
import { seededRandom } from '../src/core/random.js';
import type { ModelVersion } from '../src/registry/index.js';
import { createDeploymentRuntime, type Deployment, readNumericRecords } from '../src/serving/index.js';
import { flattenRows, type PredictionBatch, packBatch } from '../src/serving/ledger/prediction-row.js';
import { createServingMetrics } from '../src/serving/serving-metrics.js';
import { creditRecords, trainCreditModel } from '../test/e2e/serving-serve-harness.js';
import { foreignLogisticOnnx } from '../test/fixtures/foreign-onnx.js';
import { fmtRatio, intEnv, median, printTable } from './support.js';

/*
 * The request path of serving without HTTP and without the prediction log (npx tsx
 * bench/serving-path.bench.ts). Prints CPU and main-thread microseconds per request; asserts nothing.
 *   bare     what bench/serving-bare.ts does per request: JSON.parse, one tensor, session.run, reply
 *            objects, JSON.stringify
 *   sextant  the body read as the scoring routes read it (numeric-records.ts, else JSON.parse), the deployment runtime's predict (body reading, record checks, tensor,
 *            micro-batched run, ids, reply items, metrics) with a ledger that takes the batch and
 *            does nothing, JSON.stringify of the reply
 *   log's    what the prediction log adds on the event loop before a request's rows leave for its
 *            writer (reported, not in 'sextant'): 'json' is the packing before binary entries
 *            (JSON.stringify of each record's inputs and outputs), 'binary' is packBatch now; 'writer'
 *            is what unpacking the binary entry into rows (the JSON text rebuilt) costs where the rows
 *            are written (the SQLite writer thread, the sealer), off the event loop
 * The models (BENCH_PATH_MODELS, default linear,tree): `linear`, the serving bench's logistic
 * regression over 30 floats in one tensor input, so cheap that the servers' own work is most of each
 * request; `tree`, the demo's credit model (gbdt, 60 trees, depth 5), one input per column, strings
 * for the categorical ones (bare builds one tensor per input, as bench/serving-bare.ts does).
 * Requests run CONCURRENCY at a time (as 32 connections do), so micro-batching works as it does under load.
 * A last table (linear model) compares the body forms, records and pandas' split orient, each read as
 * the routes read it against always by JSON.parse.
 * Knobs: BENCH_PATH_SECONDS (3 per measurement), BENCH_PATH_ROUNDS (3, alternating), BENCH_PATH_BATCH (32).
 */

const SECONDS = intEnv('BENCH_PATH_SECONDS', 3);
const ROUNDS = intEnv('BENCH_PATH_ROUNDS', 3);
const BATCH = intEnv('BENCH_PATH_BATCH', 32);
const CONCURRENCY = 32;
const WIDTH = 30;

const MODELS = (process.env.BENCH_PATH_MODELS ?? 'linear,tree').split(',').filter(Boolean);
for (const m of MODELS)
  if (m !== 'tree' && m !== 'linear') throw new Error(`BENCH_PATH_MODELS: tree or linear, got '${m}'`);

type Row = Record<string, unknown>;
type Tensor = InstanceType<typeof ort.Tensor>;
type Session = Awaited<ReturnType<typeof ort.InferenceSession.create>>;

interface BenchModel {
  title: string;
  bytes: Uint8Array;
  version: ModelVersion;
  records(n: number): Row[];
  /** The bare server's feeds for these rows. */
  feeds(session: Session, rows: Row[]): Record<string, Tensor>;
}

function versionOf(model: string, declared?: unknown): ModelVersion {
  return {
    id: 'mv_bench',
    modelId: 'mdl_bench',
    model,
    version: 1,
    format: 'onnx',
    signature: declared ? { declared } : null,
  } as unknown as ModelVersion;
}

function linearModel(): BenchModel {
  const rand = seededRandom(5);
  const weights = Array.from({ length: WIDTH }, () => rand() * 2 - 1);
  const columns = Array.from({ length: WIDTH }, (_, i) => `x${i}`);
  return {
    title: `a logistic regression over ${WIDTH} floats`,
    bytes: foreignLogisticOnnx({ weights, bias: 0.1 }),
    version: versionOf('bench-linear', { inputs: columns.map((name) => ({ name, type: 'float' })) }),
    records: (n) => {
      const r = seededRandom(23);
      return Array.from({ length: n }, () =>
        Object.fromEntries(columns.map((c) => [c, Math.round((r() * 4 - 2) * 1000) / 1000])),
      );
    },
    feeds: (session, rows) => {
      const data = new Float32Array(rows.length * WIDTH);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        for (let j = 0; j < WIDTH; j++) data[i * WIDTH + j] = Number(r[columns[j]!] ?? Number.NaN);
      }
      return { [session.inputNames[0]!]: new ort.Tensor('float32', data, [rows.length, WIDTH]) };
    },
  };
}

function treeModel(): BenchModel {
  return {
    title: "the demo's credit model (gbdt, 60 trees, depth 5)",
    bytes: trainCreditModel({ kind: 'gbdt', rows: 2000 }).toOnnx(),
    version: versionOf('bench-credit'),
    records: (n) => creditRecords(n, 23),
    feeds: (session, rows) => {
      const feeds: Record<string, Tensor> = {};
      for (const m of session.inputMetadata) {
        if (!m.isTensor) continue;
        const dims = m.shape.length === 2 ? [rows.length, 1] : [rows.length];
        feeds[m.name] =
          m.type === 'string'
            ? new ort.Tensor(
                'string',
                rows.map((r) => String(r[m.name] ?? '')),
                dims,
              )
            : new ort.Tensor(
                'float32',
                Float32Array.from(rows, (r) => Number(r[m.name] ?? Number.NaN)),
                dims,
              );
      }
      return feeds;
    },
  };
}

/**
 * A ledger that takes each batch and keeps nothing (the log's cost is measured apart): only what the
 * runtime calls on the request path, cast, so a change to the log's wider interface does not touch it.
 */
const nullLedger = {
  appendBatch: () => Promise.resolve(),
  flush: () => Promise.resolve(),
  close: () => Promise.resolve(),
  stats: () => ({
    mode: 'async',
    pending: 0,
    waiting: 0,
    committed: 0,
    commits: 0,
    failedCommits: 0,
    atRisk: 0,
    flushIntervalMs: 0,
  }),
} as unknown as Parameters<typeof createDeploymentRuntime>[0]['ledger'];

type Serve = (text: string) => Promise<string>;

async function bareServer(model: BenchModel): Promise<Serve> {
  const session = await ort.InferenceSession.create(model.bytes, { logSeverityLevel: 3 });
  return async (text) => {
    const body = JSON.parse(text) as { dataframe_records: Row[] };
    const rows = body.dataframe_records;
    const out = await session.run(model.feeds(session, rows));
    const probs = out.probabilities!.data as Float32Array;
    const labels = out.label!.data as BigInt64Array;
    const predictions = rows.map((_, i) => ({
      prediction: Number(labels[i]),
      probabilities: { '0': probs[2 * i], '1': probs[2 * i + 1] },
    }));
    return JSON.stringify({ predictions });
  };
}

/** `routes`: the body read as the scoring routes read it; `json`: always by JSON.parse (the reader's baseline). */
async function sextantServer(model: BenchModel, read: 'routes' | 'json' = 'routes'): Promise<Serve> {
  const { version, bytes } = model;
  const deployment = {
    id: 'dep_bench',
    name: 'bench',
    model: version.model,
    modelId: version.modelId,
    ref: '1',
    challenger: null,
    ledgerMode: 'async',
    resilience: null,
  } as unknown as Deployment;
  const runtime = await createDeploymentRuntime({
    deployment,
    registry: {
      versions: {
        resolve: async () => version,
        resolveIn: async () => version,
        download: async () => ({ version, stream: streamOf(bytes) }),
        downloadIn: async () => ({ version, stream: streamOf(bytes) }),
      },
    },
    ledger: nullLedger,
    metrics: createServingMetrics(),
    clock: systemClock,
    pollIntervalMs: 0,
  });
  let last = { text: '', bytes: Buffer.alloc(0) };
  return async (text) => {
    // As the scoring routes read a body: records of numbers only from the bytes, any other by JSON.parse.
    if (text !== last.text) last = { text, bytes: Buffer.from(text) };
    const body = read === 'routes' ? (readNumericRecords(last.bytes) ?? JSON.parse(text)) : JSON.parse(text);
    const result = await runtime.predict(body);
    return JSON.stringify({ predictions: result.items });
  };
}

function streamOf(b: Uint8Array): NodeJS.ReadableStream {
  return (async function* () {
    yield Buffer.from(b);
  })() as unknown as NodeJS.ReadableStream;
}

/**
 * Per request, CONCURRENCY requests in flight, for SECONDS: the process's CPU microseconds (all
 * threads, onnxruntime's included) and the main thread's busy microseconds (event loop utilisation:
 * the servers' bottleneck, where onnxruntime's threads do not count).
 */
async function measure(serve: Serve, text: string): Promise<{ cpu: number; main: number }> {
  let done = 0;
  const until = performance.now() + SECONDS * 1000;
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const worker = async () => {
    while (performance.now() < until) {
      await serve(text);
      done++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  return { cpu: (cpu.user + cpu.system) / done, main: (elu.active * 1000) / done };
}

/** The batch the runtime appends for a request (a classifier's outputs). */
function batchOf(text: string): PredictionBatch {
  const inputs = (JSON.parse(text) as { dataframe_records: Record<string, unknown>[] }).dataframe_records;
  const r = seededRandom(3);
  return {
    ids: inputs.map((_, i) => `pred_01JBENCH${String(i).padStart(17, '0')}`),
    deploymentId: 'dep_bench',
    modelVersionId: 'mv_bench',
    model: 'bench-model',
    version: 1,
    alias: null,
    role: 'champion',
    servedAt: Date.now(),
    requestKey: null,
    inputs,
    outputs: inputs.map(() => {
      const p = Math.fround(r());
      return { prediction: p > 0.5 ? 1 : 0, probabilities: { '0': Math.fround(1 - p), '1': p } };
    }),
    latencyUs: 120,
    shadow: null,
  };
}

/** CPU microseconds per request of `work`, repeated over about 20,000 records. */
function cpuPerRequest(records: number, work: () => void): number {
  const n = Math.max(1, Math.round(20_000 / records));
  for (let k = 0; k < n; k++) work(); // warm-up: as many runs again, so the optimising compiler has run
  const t0 = process.cpuUsage();
  for (let k = 0; k < n; k++) work();
  const cpu = process.cpuUsage(t0);
  return (cpu.user + cpu.system) / n;
}

function logCost(text: string): { json: number; binary: number; writer: number } {
  const b = batchOf(text);
  const packed = packBatch(b);
  return {
    json: cpuPerRequest(b.ids.length, () => {
      for (let i = 0; i < b.ids.length; i++) {
        JSON.stringify(b.inputs[i]);
        JSON.stringify(b.outputs[i]);
      }
    }),
    binary: cpuPerRequest(b.ids.length, () => packBatch(b)),
    writer: cpuPerRequest(b.ids.length, () => flattenRows([packed])),
  };
}

async function benchModel(model: BenchModel): Promise<void> {
  const bare = await bareServer(model);
  const sextant = await sextantServer(model);
  const rows: string[][] = [];
  for (const n of [1, BATCH]) {
    const text = JSON.stringify({ dataframe_records: model.records(n) });
    const samples = {
      bare: [] as number[],
      sextant: [] as number[],
      bareMain: [] as number[],
      sextantMain: [] as number[],
    };
    await measure(bare, text); // warm-up
    await measure(sextant, text);
    for (let round = 0; round < ROUNDS; round++) {
      const b = await measure(bare, text);
      const s = await measure(sextant, text);
      samples.bare.push(b.cpu);
      samples.sextant.push(s.cpu);
      samples.bareMain.push(b.main);
      samples.sextantMain.push(s.main);
    }
    const b = median(samples.bare);
    const s = median(samples.sextant);
    const bm = median(samples.bareMain);
    const sm = median(samples.sextantMain);
    const log = logCost(text);
    rows.push([
      n === 1 ? '1 record' : `${n} records`,
      b.toFixed(1),
      s.toFixed(1),
      ((s - b) / n).toFixed(2),
      fmtRatio(b / s),
      bm.toFixed(1),
      sm.toFixed(1),
      fmtRatio(bm / sm),
      log.json.toFixed(1),
      log.binary.toFixed(1),
      log.writer.toFixed(1),
    ]);
  }
  console.log(
    `\nThe request path in process (no HTTP, no log), ${model.title}, ` +
      `${CONCURRENCY} requests in flight, CPU us per request, medians of ${ROUNDS} alternating rounds of ${SECONDS} s` +
      `; load average ${os.loadavg()[0]!.toFixed(2)}\n`,
  );
  printTable(
    [
      'BODY',
      'BARE CPU US/REQ',
      'SEXTANT CPU US/REQ',
      'OURS CPU US/RECORD',
      'BARE/SEXTANT CPU',
      'BARE MAIN US/REQ',
      'SEXTANT MAIN US/REQ',
      'BARE/SEXTANT MAIN',
      "LOG'S JSON US/REQ (BEFORE)",
      "LOG'S BINARY US/REQ",
      'WRITER UNPACK US/REQ',
    ],
    rows,
  );
}

/**
 * The linear model's request path with bodies of records and of pandas' split orient (what MLflow's
 * clients send), read as the routes read them against always by JSON.parse: what the numeric reader
 * saves on each form.
 */
async function bodyForms(model: BenchModel): Promise<void> {
  const fast = await sextantServer(model, 'routes');
  const json = await sextantServer(model, 'json');
  const rows: string[][] = [];
  for (const n of [1, BATCH]) {
    const records = model.records(n);
    const names = Object.keys(records[0]!);
    const forms = {
      records: JSON.stringify({ dataframe_records: records }),
      split: JSON.stringify({
        dataframe_split: { columns: names, data: records.map((r) => names.map((k) => r[k])) },
      }),
    };
    for (const [form, text] of Object.entries(forms)) {
      await measure(json, text); // warm-up
      await measure(fast, text);
      const samples = { json: [] as number[], fast: [] as number[] };
      for (let round = 0; round < ROUNDS; round++) {
        samples.json.push((await measure(json, text)).cpu);
        samples.fast.push((await measure(fast, text)).cpu);
      }
      const j = median(samples.json);
      const f = median(samples.fast);
      rows.push([n === 1 ? '1 record' : `${n} records`, form, j.toFixed(1), f.toFixed(1), fmtRatio(j / f)]);
    }
  }
  console.log(
    `\nBody forms, ${model.title}: sextant's CPU us per request with the body read by JSON.parse and as the routes read it (numeric-records.ts), medians of ${ROUNDS} alternating rounds of ${SECONDS} s\n`,
  );
  printTable(['BODY', 'FORM', 'JSON.PARSE CPU US/REQ', 'AS THE ROUTES READ IT', 'SPEEDUP'], rows);
}

for (const m of MODELS) await benchModel(m === 'tree' ? treeModel() : linearModel());
if (MODELS.includes('linear')) await bodyForms(linearModel());
process.exit(0);
