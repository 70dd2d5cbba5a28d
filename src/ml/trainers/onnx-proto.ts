import type protobuf from 'protobufjs';
import { lazyRequire } from '../../core/lazy-require.js';

/*
 * The subset of onnx.proto (IR version 8) that the exporter writes, with the field numbers of the
 * ONNX specification. Fields are declared in field-number order, and protobufjs writes them in
 * declaration order, so the same message object always gives the same bytes.
 */
const definition = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: { id: 1, type: 'string' },
            f: { id: 2, type: 'float' },
            i: { id: 3, type: 'int64' },
            s: { id: 4, type: 'bytes' },
            t: { id: 5, type: 'TensorProto' },
            floats: { id: 7, rule: 'repeated', type: 'float' },
            ints: { id: 8, rule: 'repeated', type: 'int64' },
            strings: { id: 9, rule: 'repeated', type: 'bytes' },
            type: { id: 20, type: 'int32' },
          },
        },
        ValueInfoProto: {
          fields: {
            name: { id: 1, type: 'string' },
            type: { id: 2, type: 'TypeProto' },
          },
        },
        NodeProto: {
          fields: {
            input: { id: 1, rule: 'repeated', type: 'string' },
            output: { id: 2, rule: 'repeated', type: 'string' },
            name: { id: 3, type: 'string' },
            opType: { id: 4, type: 'string' },
            attribute: { id: 5, rule: 'repeated', type: 'AttributeProto' },
            domain: { id: 7, type: 'string' },
          },
        },
        StringStringEntryProto: {
          fields: {
            key: { id: 1, type: 'string' },
            value: { id: 2, type: 'string' },
          },
        },
        OperatorSetIdProto: {
          fields: {
            domain: { id: 1, type: 'string' },
            version: { id: 2, type: 'int64' },
          },
        },
        ModelProto: {
          fields: {
            irVersion: { id: 1, type: 'int64' },
            producerName: { id: 2, type: 'string' },
            producerVersion: { id: 3, type: 'string' },
            domain: { id: 4, type: 'string' },
            modelVersion: { id: 5, type: 'int64' },
            docString: { id: 6, type: 'string' },
            graph: { id: 7, type: 'GraphProto' },
            opsetImport: { id: 8, rule: 'repeated', type: 'OperatorSetIdProto' },
            metadataProps: { id: 14, rule: 'repeated', type: 'StringStringEntryProto' },
          },
        },
        GraphProto: {
          fields: {
            node: { id: 1, rule: 'repeated', type: 'NodeProto' },
            name: { id: 2, type: 'string' },
            initializer: { id: 5, rule: 'repeated', type: 'TensorProto' },
            docString: { id: 10, type: 'string' },
            input: { id: 11, rule: 'repeated', type: 'ValueInfoProto' },
            output: { id: 12, rule: 'repeated', type: 'ValueInfoProto' },
          },
        },
        TensorProto: {
          fields: {
            dims: { id: 1, rule: 'repeated', type: 'int64' },
            dataType: { id: 2, type: 'int32' },
            floatData: { id: 4, rule: 'repeated', type: 'float' },
            stringData: { id: 6, rule: 'repeated', type: 'bytes' },
            int64Data: { id: 7, rule: 'repeated', type: 'int64' },
            name: { id: 8, type: 'string' },
            rawData: { id: 9, type: 'bytes' },
            doubleData: { id: 10, rule: 'repeated', type: 'double' },
          },
        },
        TensorShapeProto: {
          fields: {
            dim: { id: 1, rule: 'repeated', type: 'Dimension' },
          },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: {
                dimValue: { id: 1, type: 'int64' },
                dimParam: { id: 2, type: 'string' },
              },
            },
          },
        },
        TypeProto: {
          fields: {
            tensorType: { id: 1, type: 'Tensor' },
            // Read and written for the outputs other exporters declare (skl2onnx's ZipMap: seq(map)).
            sequenceType: { id: 4, type: 'Sequence' },
            mapType: { id: 5, type: 'Map' },
          },
          nested: {
            Tensor: {
              fields: {
                elemType: { id: 1, type: 'int32' },
                shape: { id: 2, type: 'TensorShapeProto' },
              },
            },
            Sequence: {
              fields: {
                elemType: { id: 1, type: 'TypeProto' },
              },
            },
            Map: {
              fields: {
                keyType: { id: 1, type: 'int32' },
                valueType: { id: 2, type: 'TypeProto' },
              },
            },
          },
        },
      },
    },
  },
};

const protobufjs = lazyRequire<typeof protobuf>('protobufjs');
let modelProto: protobuf.Type | undefined;
/** The ModelProto type, built on first use (protobufjs loads only when a model is written or read). */
const modelType = () => {
  modelProto ??= protobufjs().Root.fromJSON(definition).lookupType('onnx.ModelProto');
  return modelProto;
};

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT64: 7, STRING: 8, DOUBLE: 11 } as const;
/** AttributeProto.AttributeType values used here. */
export const AttributeType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

/** Plain objects in the shape of the messages above (camelCase field names, as protobufjs uses). */
export interface TensorMessage {
  name?: string;
  dims: number[];
  dataType: number;
  stringData?: Uint8Array[];
  int64Data?: number[];
  rawData?: Uint8Array;
}
export interface AttributeMessage {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorMessage;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}
export interface NodeMessage {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain?: string;
  attribute: AttributeMessage[];
}
export interface ValueInfoMessage {
  name: string;
  type: TypeMessage;
}
/** A TypeProto: a tensor, or (as other exporters declare outputs) a sequence or a map of types. */
export type TypeMessage =
  | { tensorType: { elemType: number; shape: { dim: ({ dimValue: number } | { dimParam: string })[] } } }
  | { sequenceType: { elemType: TypeMessage } }
  | { mapType: { keyType: number; valueType: TypeMessage } };
export interface ModelMessage {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph: {
    node: NodeMessage[];
    name: string;
    initializer: TensorMessage[];
    docString?: string;
    input: ValueInfoMessage[];
    output: ValueInfoMessage[];
  };
  opsetImport: { domain: string; version: number }[];
  metadataProps?: { key: string; value: string }[];
}

/** Serialises a ModelProto. */
export function encodeModel(model: ModelMessage): Uint8Array {
  const message = modelType().fromObject(model);
  return modelType().encode(message).finish();
}

/** Parses a ModelProto (for tests and for reading what an exported file holds). */
export function decodeModel(bytes: Uint8Array): ModelMessage {
  return modelType().toObject(modelType().decode(bytes), {
    longs: Number,
    bytes: Uint8Array,
    defaults: false,
  }) as ModelMessage;
}
