/*
 * The serving benchmark's baseline: the straightforward way to put an ONNX model behind HTTP with
 * nothing else - node:http + onnxruntime-node, one session, per request: read the body, JSON.parse,
 * build one tensor per model input from the records, session.run, JSON reply. No logging, no
 * validation beyond what building the tensors needs, no metrics. It answers the same bodies as
 * `sextant serve` (MLflow's dataframe_records, or a bare record / array of records).
 * Usage: tsx bench/serving-bare.ts <model.onnx> [a,b,...: the columns of a single float tensor input]; prints the port it listens on, serves until SIGTERM.
 */
import fs from 'node:fs';
import http from 'node:http';
import ort from 'onnxruntime-node';

type Row = Record<string, unknown>;
type Session = Awaited<ReturnType<typeof ort.InferenceSession.create>>;

const file = process.argv[2];
if (!file) throw new Error('usage: serving-bare.ts <model.onnx>');
/*
 * onnxruntime's defaults, as the straightforward server has them: idle intra-op threads spin between
 * runs. BENCH_SERVING_BARE_SPINNING=0 turns that off as `sextant serve` does (its threads block), to
 * show how much of the gap on a model is that one setting.
 */
const spinning = process.env.BENCH_SERVING_BARE_SPINNING !== '0';
const session: Session = await ort.InferenceSession.create(fs.readFileSync(file), {
  logSeverityLevel: 3,
  ...(spinning ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
});
const inputs = session.inputMetadata.flatMap((m) =>
  m.isTensor ? [{ name: m.name, type: m.type, rank: m.shape.length }] : [],
);
const classes = ['0', '1'];
/*
 * A model with one float tensor input [None, N] (skl2onnx's shape, e.g. the bench's linear model):
 * its N columns are named by the optional second argument (a,b,...), read from each record in order.
 */
const columns = process.argv[3]?.split(',');
const tensorInput =
  inputs.length === 1 && inputs[0]!.rank === 2 && inputs[0]!.type === 'float32' && columns
    ? inputs[0]
    : undefined;

function recordsOf(body: unknown): Row[] {
  if (Array.isArray(body)) return body as Row[];
  const b = body as { dataframe_records?: Row[] };
  return b.dataframe_records ?? [body as Row];
}

function tensor(input: (typeof inputs)[number], rows: Row[]): InstanceType<typeof ort.Tensor> {
  const dims = input.rank === 2 ? [rows.length, 1] : [rows.length];
  if (input.type === 'string')
    return new ort.Tensor(
      'string',
      rows.map((r) => String(r[input.name] ?? '')),
      dims,
    );
  return new ort.Tensor(
    'float32',
    Float32Array.from(rows, (r) => Number(r[input.name] ?? Number.NaN)),
    dims,
  );
}

async function predict(rows: Row[]): Promise<unknown[]> {
  const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
  if (tensorInput && columns) {
    const width = columns.length;
    const data = new Float32Array(rows.length * width);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      for (let j = 0; j < width; j++) data[i * width + j] = Number(r[columns[j]!] ?? Number.NaN);
    }
    feeds[tensorInput.name] = new ort.Tensor('float32', data, [rows.length, width]);
  } else for (const input of inputs) feeds[input.name] = tensor(input, rows);
  const out = await session.run(feeds);
  const probs = out.probabilities?.data as Float32Array | undefined;
  const rawLabels = out.label?.data as ArrayLike<unknown> | undefined;
  const labels = rawLabels
    ? Array.from(rawLabels, (l) => (typeof l === 'bigint' ? Number(l) : l))
    : undefined;
  return rows.map((_, i) => ({
    prediction: labels?.[i] ?? null,
    ...(probs ? { probabilities: { [classes[0]!]: probs[2 * i], [classes[1]!]: probs[2 * i + 1] } } : {}),
  }));
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const reply = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    if (req.method !== 'POST' || (req.url !== '/predict' && req.url !== '/invocations')) {
      reply(404, { error: 'not found' });
      return;
    }
    let rows: Row[];
    try {
      rows = recordsOf(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch {
      reply(400, { error: 'invalid JSON' });
      return;
    }
    predict(rows).then(
      (predictions) => reply(200, { predictions }),
      (err: Error) => reply(400, { error: err.message }),
    );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  session.release().finally(() => process.exit(0));
});
