import { UpstreamError } from '../../core/errors.js';
import type { EndpointMapping, EndpointProtocol } from '../../registry/index.js';
import type { PredictionOutput } from '../serving.schema.js';

/*
 * The three ways the gateway talks to a model server. Each builds one request for a batch of checked
 * records and reads the answer back into one PredictionOutput per record; an answer that cannot be
 * read that way (wrong shape, wrong length, a non-number probability) is an UpstreamError (502).
 *   mlflow  POST <url>/invocations {"dataframe_split": {columns, data}} -> {"predictions": [...]}
 *   oip     POST <url>/v2/models/<name>/infer, typed tensors (FP64 / BYTES) -> {"outputs": [...]}
 *   json    POST <url> with the records at a JSON pointer -> per-record results at a JSON pointer
 */

export interface Feature {
  name: string;
  type: 'float' | 'string';
}

/** What the version says the model predicts. */
export interface Task {
  task: 'classification' | 'regression';
  /** Classification: the labels, in the order the server's probabilities come in. */
  classes: string[] | null;
}

export interface Adapter {
  /** Where the server reports its model (OIP only): its answer's sha256 is the model's identity. */
  metadataUrl: string | null;
  request(records: readonly Record<string, unknown>[]): { url: string; body: unknown };
  read(answer: unknown, n: number): PredictionOutput[];
}

/** Reads a JSON pointer (RFC 6901); undefined when the path is not there. */
export function readPointer(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  let at: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(at)) at = at[Number(key)];
    else if (at !== null && typeof at === 'object') at = (at as Record<string, unknown>)[key];
    else return undefined;
  }
  return at;
}

/** A document holding `value` at `pointer` (objects made on the way). */
function placeAt(pointer: string, value: unknown): unknown {
  if (pointer === '') return value;
  const keys = pointer
    .slice(1)
    .split('/')
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  const root: Record<string, unknown> = {};
  let at = root;
  keys.forEach((k, i) => {
    if (i === keys.length - 1) at[k] = value;
    else {
      const next: Record<string, unknown> = {};
      at[k] = next;
      at = next;
    }
  });
  return root;
}

const garbage = (why: string): never => {
  throw new UpstreamError(`the model server's answer cannot be read: ${why}`, { reason: 'bad_answer' });
};

/** One record's output from what the server said: a label or value, and maybe probabilities. */
export function toOutput(t: Task, raw: unknown, probs: unknown, at: string): PredictionOutput {
  if (t.task === 'regression') {
    const v = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof v !== 'number' || !Number.isFinite(v))
      garbage(`${at}: expected a number, got ${JSON.stringify(raw)}`);
    return { prediction: v as number };
  }
  let probabilities: Record<string, number> | undefined;
  if (Array.isArray(probs)) {
    const classes = t.classes ?? probs.map((_, k) => String(k));
    if (probs.length !== classes.length)
      garbage(`${at}: ${probs.length} probabilities for ${classes.length} classes`);
    probabilities = {};
    probs.forEach((p, k) => {
      if (typeof p !== 'number' || !Number.isFinite(p))
        garbage(`${at}: probability ${JSON.stringify(p)} is not a number`);
      probabilities![classes[k]!] = p as number;
    });
  } else if (probs !== null && typeof probs === 'object') {
    probabilities = {};
    for (const [c, p] of Object.entries(probs)) {
      if (typeof p !== 'number' || !Number.isFinite(p))
        garbage(`${at}: probability ${JSON.stringify(p)} is not a number`);
      probabilities[c] = p as number;
    }
  } else if (probs !== undefined) {
    garbage(`${at}: probabilities must be a list or an object`);
  }
  let prediction: string | number;
  if (typeof raw === 'string' || (typeof raw === 'number' && Number.isFinite(raw))) prediction = raw;
  else if (typeof raw === 'boolean') prediction = raw ? 1 : 0;
  else if (probabilities !== undefined && raw === undefined) {
    let best = '';
    let bestP = Number.NEGATIVE_INFINITY;
    for (const [c, p] of Object.entries(probabilities)) {
      if (p > bestP) {
        best = c;
        bestP = p;
      }
    }
    prediction = /^-?\d+$/.test(best) ? Number(best) : best;
  } else return garbage(`${at}: expected a class label, got ${JSON.stringify(raw)}`);
  return probabilities === undefined ? { prediction } : { prediction, probabilities };
}

function rowsOf(records: readonly Record<string, unknown>[], features: readonly Feature[]): unknown[][] {
  return records.map((r) => features.map((f) => r[f.name]));
}

/** MLflow's scoring server: a list of scalars, of probability rows, or of records (a DataFrame's output). */
function mlflowAdapter(url: string, features: readonly Feature[], t: Task): Adapter {
  const target = /\/invocations\/?$/.test(url) ? url : `${url.replace(/\/+$/, '')}/invocations`;
  return {
    metadataUrl: null,
    request: (records) => ({
      url: target,
      body: { dataframe_split: { columns: features.map((f) => f.name), data: rowsOf(records, features) } },
    }),
    read(answer, n) {
      const list = Array.isArray(answer)
        ? answer
        : answer !== null && typeof answer === 'object'
          ? (answer as { predictions?: unknown }).predictions
          : undefined;
      if (!Array.isArray(list)) return garbage('expected {"predictions": [...]} or a list');
      if (list.length !== n) garbage(`${list.length} predictions for ${n} records`);
      return list.map((p, i) => {
        const at = `predictions[${i}]`;
        if (Array.isArray(p)) return toOutput(t, undefined, p, at);
        if (p !== null && typeof p === 'object') {
          const o = p as Record<string, unknown>;
          const label = o.prediction ?? o.label ?? o.predicted_label ?? Object.values(o)[0];
          return toOutput(t, label, o.probabilities ?? o.probability, at);
        }
        return toOutput(t, p, undefined, at);
      });
    },
  };
}

interface OipTensor {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
}

/** The Open Inference Protocol (KServe v2, Triton, Seldon MLServer). */
function oipAdapter(
  url: string,
  upstreamModel: string,
  features: readonly Feature[],
  t: Task,
  inputs: { name: string; datatype: string }[] | null,
): Adapter {
  const base = `${url.replace(/\/+$/, '')}/v2/models/${encodeURIComponent(upstreamModel)}`;
  // One wide input (a feature matrix) when the server declares one; else one input per feature.
  const single = inputs !== null && inputs.length === 1 ? inputs[0]! : null;
  return {
    metadataUrl: base,
    request(records) {
      const n = records.length;
      const tensors: OipTensor[] = single
        ? [
            {
              name: single.name,
              shape: [n, features.length],
              datatype: single.datatype === 'FP32' ? 'FP32' : 'FP64',
              data: rowsOf(records, features).flat(),
            },
          ]
        : features.map((f) => ({
            name: f.name,
            shape: [n, 1],
            datatype: f.type === 'string' ? 'BYTES' : 'FP64',
            data: records.map((r) => r[f.name]),
          }));
      return { url: `${base}/infer`, body: { inputs: tensors } };
    },
    read(answer, n) {
      const outputs = (answer as { outputs?: unknown } | null)?.outputs;
      if (!Array.isArray(outputs) || outputs.length === 0) return garbage('expected {"outputs": [...]}');
      const tensors = outputs as Partial<OipTensor>[];
      for (const o of tensors) {
        if (!Array.isArray(o.shape) || !Array.isArray(o.data) || o.shape[0] !== n)
          garbage(`output '${String(o.name)}' is not a tensor of ${n} rows`);
      }
      const width = (o: Partial<OipTensor>) => (o.shape!.length > 1 ? Number(o.shape![1]) : 1);
      const probs = tensors.find(
        (o) => /prob/i.test(String(o.name)) || (width(o) > 1 && t.task === 'classification'),
      );
      const label =
        tensors.find(
          (o) => o !== probs && width(o) === 1 && /label|predict|output|variable/i.test(String(o.name)),
        ) ?? tensors.find((o) => o !== probs && width(o) === 1);
      if (label === undefined && probs === undefined) garbage('no output gives one value per record');
      const out: PredictionOutput[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const p = probs ? probs.data!.slice(i * width(probs), (i + 1) * width(probs)) : undefined;
        out[i] = toOutput(t, label ? label.data![i] : undefined, p, `outputs[${i}]`);
      }
      return out;
    },
  };
}

/** Any JSON-over-HTTP server, read through a mapping (see EndpointMapping). */
function jsonAdapter(url: string, features: readonly Feature[], t: Task, m: EndpointMapping): Adapter {
  return {
    metadataUrl: null,
    request: (records) => ({
      url,
      body: placeAt(m.recordsAt, m.recordShape === 'rows' ? rowsOf(records, features) : records),
    }),
    read(answer, n) {
      const list = readPointer(answer, m.predictionsAt);
      if (!Array.isArray(list)) return garbage(`no list at '${m.predictionsAt}'`);
      if (list.length !== n) garbage(`${list.length} results for ${n} records`);
      return list.map((item, i) =>
        toOutput(
          t,
          readPointer(item, m.prediction),
          m.probabilities === undefined ? undefined : readPointer(item, m.probabilities),
          `${m.predictionsAt}[${i}]`,
        ),
      );
    },
  };
}

/** The adapter for a protocol; `inputs` is the OIP server's declared inputs (from its metadata). */
export function adapterFor(input: {
  protocol: EndpointProtocol;
  url: string;
  upstreamModel: string;
  mapping: EndpointMapping | undefined;
  features: readonly Feature[];
  task: Task;
  oipInputs?: { name: string; datatype: string }[] | null;
}): Adapter {
  switch (input.protocol) {
    case 'mlflow':
      return mlflowAdapter(input.url, input.features, input.task);
    case 'oip':
      return oipAdapter(input.url, input.upstreamModel, input.features, input.task, input.oipInputs ?? null);
    case 'json':
      return jsonAdapter(
        input.url,
        input.features,
        input.task,
        input.mapping ?? { recordsAt: '', recordShape: 'records', predictionsAt: '', prediction: '' },
      );
  }
}
