import protobuf from 'protobufjs';
import type { ModelVersion } from '../../src/registry/index.js';

/*
 * Fixtures of the registry suites: a tiny, valid ONNX model encoded by hand with protobufjs (no
 * downloads, no Python): score = sigmoid(X · W + b) over 3 float features.
 * Field numbers are ONNX's (onnx.proto): ModelProto ir_version=1, producer_name=2, graph=7,
 * opset_import=8; GraphProto node=1, name=2, initializer=5, input=11, output=12; NodeProto input=1,
 * output=2, name=3, op_type=4; TensorProto dims=1, data_type=2, float_data=4, name=8; ValueInfoProto
 * name=1, type=2; TypeProto tensor_type=1; TypeProto.Tensor elem_type=1, shape=2; dims dim=1
 * (dim_value=1, dim_param=2).
 */

const FLOAT = 1;
type W = protobuf.Writer;
const msg = (field: number, w: W, build: (w: W) => void) => {
  w.uint32((field << 3) | 2).fork();
  build(w);
  w.ldelim();
};
const str = (w: W, field: number, s: string) => w.uint32((field << 3) | 2).string(s);
const int = (w: W, field: number, n: number) => w.uint32(field << 3).int64(n);

function valueInfo(w: W, field: number, name: string, dims: (number | string)[]) {
  msg(field, w, (v) => {
    str(v, 1, name);
    msg(2, v, (t) =>
      msg(1, t, (tt) => {
        int(tt, 1, FLOAT);
        msg(2, tt, (shape) => {
          for (const d of dims)
            msg(1, shape, (dim) => (typeof d === 'number' ? int(dim, 1, d) : str(dim, 2, d)));
        });
      }),
    );
  });
}

function tensor(w: W, name: string, dims: number[], values: number[]) {
  msg(5, w, (t) => {
    for (const d of dims) int(t, 1, d);
    int(t, 2, FLOAT);
    t.uint32((4 << 3) | 2).fork();
    for (const x of values) t.float(x);
    t.ldelim();
    str(t, 8, name);
  });
}

function node(w: W, op: string, inputs: string[], outputs: string[]) {
  msg(1, w, (n) => {
    for (const i of inputs) str(n, 1, i);
    for (const o of outputs) str(n, 2, o);
    str(n, 3, `${op.toLowerCase()}_node`);
    str(n, 4, op);
  });
}

/** A valid ONNX model: input `features` float[N,3], output `score` float[N,1]. Weights vary the bytes. */
export function tinyOnnxModel(weights: [number, number, number] = [0.5, -0.25, 1], bias = 0.1): Uint8Array {
  const w = protobuf.Writer.create();
  int(w, 1, 8);
  str(w, 2, 'sextant-test');
  msg(7, w, (g) => {
    node(g, 'MatMul', ['features', 'W'], ['xw']);
    node(g, 'Add', ['xw', 'B'], ['logit']);
    node(g, 'Sigmoid', ['logit'], ['score']);
    str(g, 2, 'tiny');
    tensor(g, 'W', [3, 1], weights);
    tensor(g, 'B', [1], [bias]);
    valueInfo(g, 11, 'features', ['N', 3]);
    valueInfo(g, 12, 'score', ['N', 1]);
  });
  msg(8, w, (o) => {
    str(o, 1, '');
    int(o, 2, 13);
  });
  return w.finish();
}

/**
 * A hostile ONNX model: its one initializer keeps its data in an "external" file at `location`
 * (TensorProto external_data=13, data_location=14 EXTERNAL), which onnxruntime would read from the
 * working directory and answer as the output.
 */
export function externalDataOnnx(location: string): Uint8Array {
  const w = protobuf.Writer.create();
  const msg = (field: number, into: protobuf.Writer, build: (x: protobuf.Writer) => void) => {
    into.uint32((field << 3) | 2).fork();
    build(into);
    into.ldelim();
  };
  w.uint32(1 << 3).int64(8);
  msg(7, w, (g) => {
    msg(1, g, (n) => {
      n.uint32((1 << 3) | 2).string('secret');
      n.uint32((2 << 3) | 2).string('out');
      n.uint32((4 << 3) | 2).string('Identity');
    });
    msg(5, g, (t) => {
      t.uint32(1 << 3).int64(16);
      t.uint32(2 << 3).int64(2);
      t.uint32((8 << 3) | 2).string('secret');
      msg(13, t, (e) =>
        e
          .uint32((1 << 3) | 2)
          .string('location')
          .uint32((2 << 3) | 2)
          .string(location),
      );
      msg(13, t, (e) =>
        e
          .uint32((1 << 3) | 2)
          .string('length')
          .uint32((2 << 3) | 2)
          .string('16'),
      );
      t.uint32(14 << 3).int64(1);
    });
  });
  msg(8, w, (o) => o.uint32(2 << 3).int64(13));
  return w.finish();
}

/** A registry version as the registry would return it (an ONNX file, no run, no data); override any field. */
export function modelVersionFixture(patch: Partial<ModelVersion> = {}): ModelVersion {
  const epoch = new Date(0).toISOString();
  return {
    id: 'mv_test',
    modelId: 'mdl_test',
    model: 'credit',
    version: 1,
    runId: null,
    runAuthor: null,
    source: 'test',
    format: 'onnx',
    sha256: '0'.repeat(64),
    size: 0,
    files: [],
    signature: null,
    datasetVersionIds: [],
    codeCommit: null,
    command: null,
    params: {},
    metrics: {},
    environment: { source: 'registry' },
    description: null,
    tags: {},
    card: {},
    aliases: [],
    createdBy: 'tester',
    createdAt: epoch,
    updatedAt: epoch,
    ...patch,
  };
}

/**
 * A hostile ONNX model of about 200 bytes: ConstantOfShape over a constant [side, side] shape. Opening
 * it folds the constant, so onnxruntime allocates side² floats (16000: about 1 GB, twice over) before
 * anything is served.
 */
export function constantOfShapeBomb(side = 16000): Uint8Array {
  const w = protobuf.Writer.create();
  int(w, 1, 8);
  str(w, 2, 'sextant-test');
  msg(7, w, (g) => {
    node(g, 'ConstantOfShape', ['shape'], ['filled']);
    node(g, 'Identity', ['filled'], ['out']);
    str(g, 2, 'bomb');
    msg(5, g, (t) => {
      int(t, 1, 2);
      int(t, 2, 7); // INT64
      t.uint32((7 << 3) | 2).fork();
      t.int64(side).int64(side);
      t.ldelim();
      str(t, 8, 'shape');
    });
    valueInfo(g, 12, 'out', [side, side]);
  });
  msg(8, w, (o) => {
    str(o, 1, '');
    int(o, 2, 13);
  });
  return w.finish();
}
