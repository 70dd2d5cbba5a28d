import { ValidationError } from './errors.js';

/*
 * A check of the raw ONNX protobuf before onnxruntime sees it. An initializer may keep its data in
 * an "external" file named by a relative path, which onnxruntime reads from the server's working
 * directory when a model is loaded from bytes: a hostile model could carry any readable file there
 * (the database, a .env) into its outputs. Served models must be self-contained, so every tensor
 * proto in the file (graph initializers, sparse ones, attribute tensors, subgraphs, functions) is
 * walked and one with external data is refused. The walk reads only field numbers and lengths.
 *
 * Field numbers are onnx.proto's: ModelProto graph=7 functions=25; GraphProto node=1 initializer=5
 * sparse_initializer=15; NodeProto attribute=5; FunctionProto node=7; AttributeProto t=5 g=6
 * tensors=10 graphs=11 sparse_tensor=22 sparse_tensors=23; SparseTensorProto values=1 indices=2;
 * TensorProto external_data=13 data_location=14 (EXTERNAL = 1).
 */

type Kind = 'model' | 'graph' | 'node' | 'function' | 'attribute' | 'sparse' | 'tensor';

/** The sub-messages worth descending into, per message kind. */
const children: Record<Kind, Record<number, Kind>> = {
  model: { 7: 'graph', 25: 'function' },
  graph: { 1: 'node', 5: 'tensor', 15: 'sparse' },
  node: { 5: 'attribute' },
  function: { 7: 'node' },
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparse', 23: 'sparse' },
  sparse: { 1: 'tensor', 2: 'tensor' },
  tensor: {},
};
const MAX_DEPTH = 64;

class Malformed extends Error {}

/** Throws a ValidationError (field 'model') for a file whose tensors read external data, or that is not a protobuf at all. */
export function assertSelfContained(bytes: Uint8Array): void {
  try {
    walk(bytes, 0, bytes.length, 'model', 0);
  } catch (err) {
    if (err instanceof Malformed) {
      throw new ValidationError(`not an ONNX model (${err.message})`, { field: 'model' });
    }
    throw err;
  }
}

function walk(b: Uint8Array, start: number, end: number, kind: Kind, depth: number): void {
  if (depth > MAX_DEPTH)
    throw new ValidationError(`the model nests subgraphs deeper than ${MAX_DEPTH}`, { field: 'model' });
  const descend = children[kind];
  let at = start;
  while (at < end) {
    const [key, afterKey] = varint(b, at, end);
    at = afterKey;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 0) throw new Malformed(`field number 0 at byte ${at}`);
    switch (wire) {
      case 0: {
        const [value, next] = varint(b, at, end);
        if (kind === 'tensor' && field === 14 && value === 1) throw external();
        at = next;
        break;
      }
      case 1:
        at += 8;
        break;
      case 5:
        at += 4;
        break;
      case 2: {
        const [length, next] = varint(b, at, end);
        const stop = next + length;
        if (stop > end) throw new Malformed(`a field runs past the end of its message at byte ${next}`);
        if (kind === 'tensor' && field === 13) throw external();
        const child = descend[field];
        if (child !== undefined) walk(b, next, stop, child, depth + 1);
        at = stop;
        break;
      }
      default:
        throw new Malformed(`wire type ${wire} at byte ${at}`);
    }
    if (at > end) throw new Malformed('truncated');
  }
}

function external(): ValidationError {
  return new ValidationError(
    'the model keeps tensor data in external files; serve a self-contained ONNX file (external data is never read from the server)',
    { field: 'model' },
  );
}

function varint(b: Uint8Array, at: number, end: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at >= end) throw new Malformed('truncated');
    const byte = b[at++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, at];
    scale *= 128;
  }
  throw new Malformed(`a varint longer than 10 bytes at byte ${at}`);
}
