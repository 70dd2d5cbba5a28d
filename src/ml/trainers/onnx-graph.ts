import type { AttributeMessage, NodeMessage, TensorMessage, ValueInfoMessage } from './onnx-proto.js';
import { AttributeType, DataType, encodeModel } from './onnx-proto.js';

const utf8 = new TextEncoder();
/** The batch dimension of every input and output. */
const BATCH = 'N';
/** Internal value names carry this prefix so they cannot meet a feature (input) name. */
const PREFIX = 'sextant/';

/** Attribute constructors, so node definitions stay one line each. */
export const attr = {
  int: (name: string, i: number): AttributeMessage => ({ name, type: AttributeType.INT, i }),
  ints: (name: string, ints: number[]): AttributeMessage => ({ name, type: AttributeType.INTS, ints }),
  floats: (name: string, floats: number[]): AttributeMessage => ({
    name,
    type: AttributeType.FLOATS,
    floats,
  }),
  string: (name: string, s: string): AttributeMessage => ({
    name,
    type: AttributeType.STRING,
    s: utf8.encode(s),
  }),
  strings: (name: string, values: string[]): AttributeMessage => ({
    name,
    type: AttributeType.STRINGS,
    strings: values.map((v) => utf8.encode(v)),
  }),
  tensor: (name: string, t: TensorMessage): AttributeMessage => ({ name, type: AttributeType.TENSOR, t }),
};

/** A double tensor stored as little-endian raw bytes (exact, and compact). */
export function doubleTensor(values: ArrayLike<number>, dims: number[], name?: string): TensorMessage {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i]!, true);
  return { ...(name !== undefined ? { name } : {}), dims, dataType: DataType.DOUBLE, rawData: raw };
}

/** Builds one graph node by node; names are numbered in creation order, so output is deterministic. */
export class GraphBuilder {
  private readonly nodes: NodeMessage[] = [];
  private readonly initializers: TensorMessage[] = [];
  private readonly inputs: ValueInfoMessage[] = [];
  private readonly outputs: ValueInfoMessage[] = [];
  private counter = 0;

  /** Declares a graph input of shape [N, 1]. */
  input(name: string, elemType: number): string {
    this.inputs.push(valueInfo(name, elemType, [BATCH, 1]));
    return name;
  }

  /** Declares a graph output; dims of `BATCH` stand for the batch size. */
  output(name: string, elemType: number, dims: (number | typeof BATCH)[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** A constant double tensor. */
  doubles(values: ArrayLike<number>, dims: number[]): string {
    const name = this.fresh('const');
    this.initializers.push(doubleTensor(values, dims, name));
    return name;
  }

  /** A constant int64 tensor. */
  int64s(values: number[], dims: number[]): string {
    const name = this.fresh('const');
    this.initializers.push({ name, dims, dataType: DataType.INT64, int64Data: values });
    return name;
  }

  /** A constant string tensor. */
  strings(values: string[], dims: number[]): string {
    const name = this.fresh('const');
    this.initializers.push({
      name,
      dims,
      dataType: DataType.STRING,
      stringData: values.map((v) => utf8.encode(v)),
    });
    return name;
  }

  /** Adds a node with one output; `output` names it (a graph output), else it gets a fresh name. */
  node(
    opType: string,
    inputs: string[],
    attributes: AttributeMessage[] = [],
    opts: { domain?: string; output?: string } = {},
  ): string {
    const out = opts.output ?? this.fresh(opType);
    this.nodes.push({
      input: inputs,
      output: [out],
      name: `${PREFIX}node${this.nodes.length}`,
      opType,
      ...(opts.domain !== undefined ? { domain: opts.domain } : {}),
      attribute: attributes,
    });
    return out;
  }

  /** Serialises the model: ONNX opset 17 with ai.onnx.ml 3, IR version 8. */
  toBytes(meta: { graphName: string; doc: string; metadata: Record<string, string> }): Uint8Array {
    return encodeModel({
      irVersion: 8,
      producerName: 'sextant',
      producerVersion: '1',
      graph: {
        node: this.nodes,
        name: meta.graphName,
        initializer: this.initializers,
        docString: meta.doc,
        input: this.inputs,
        output: this.outputs,
      },
      opsetImport: [
        { domain: '', version: 17 },
        { domain: 'ai.onnx.ml', version: 3 },
      ],
      metadataProps: Object.entries(meta.metadata).map(([key, value]) => ({ key, value })),
    });
  }

  private fresh(hint: string): string {
    return `${PREFIX}${hint}${this.counter++}`;
  }
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): ValueInfoMessage {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
