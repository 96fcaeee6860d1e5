/**
 * The shapes of a GGUF file's header: metadata value types, ggml tensor types with their
 * block sizes, tensor infos and the parsed header. Only the header is described here; the
 * tensor data that follows it is the engine's business.
 *
 * @module
 */

/** GGUF metadata value type ids (gguf.h `gguf_type`). */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** A metadata value: numbers (64-bit integers past 2^53 as bigint), booleans, strings, arrays. */
export type GgufValue = number | bigint | boolean | string | GgufValue[];

/** One metadata entry with its declared type (arrays also carry their item type). */
export interface GgufMetadataEntry {
  /** The declared value type. */
  type: GgufValueType;
  /** For arrays, the item type; null otherwise. */
  itemType: GgufValueType | null;
  /** The value. */
  value: GgufValue;
}

/** A ggml tensor type: its name and storage (elements per block, bytes per block). */
export interface GgmlTypeInfo {
  /** ggml's name, e.g. `Q4_K`. */
  name: string;
  /** Elements per block (1 for plain types). */
  blockElements: number;
  /** Bytes per block. */
  blockBytes: number;
}

/**
 * ggml tensor types by id (ggml.h `ggml_type`) whose storage size is known here. Ids not in
 * this table (IQ*, TQ*, MXFP4 and removed types) make the reader refuse the file, naming the
 * tensor and the id, because the size of their data cannot be checked.
 */
export const GGML_TYPES: ReadonlyMap<number, GgmlTypeInfo> = new Map<number, GgmlTypeInfo>([
  [0, { name: "F32", blockElements: 1, blockBytes: 4 }],
  [1, { name: "F16", blockElements: 1, blockBytes: 2 }],
  [2, { name: "Q4_0", blockElements: 32, blockBytes: 18 }],
  [3, { name: "Q4_1", blockElements: 32, blockBytes: 20 }],
  [6, { name: "Q5_0", blockElements: 32, blockBytes: 22 }],
  [7, { name: "Q5_1", blockElements: 32, blockBytes: 24 }],
  [8, { name: "Q8_0", blockElements: 32, blockBytes: 34 }],
  [9, { name: "Q8_1", blockElements: 32, blockBytes: 36 }],
  [10, { name: "Q2_K", blockElements: 256, blockBytes: 84 }],
  [11, { name: "Q3_K", blockElements: 256, blockBytes: 110 }],
  [12, { name: "Q4_K", blockElements: 256, blockBytes: 144 }],
  [13, { name: "Q5_K", blockElements: 256, blockBytes: 176 }],
  [14, { name: "Q6_K", blockElements: 256, blockBytes: 210 }],
  [15, { name: "Q8_K", blockElements: 256, blockBytes: 292 }],
  [24, { name: "I8", blockElements: 1, blockBytes: 1 }],
  [25, { name: "I16", blockElements: 1, blockBytes: 2 }],
  [26, { name: "I32", blockElements: 1, blockBytes: 4 }],
  [27, { name: "I64", blockElements: 1, blockBytes: 8 }],
  [28, { name: "F64", blockElements: 1, blockBytes: 8 }],
  [30, { name: "BF16", blockElements: 1, blockBytes: 2 }],
]);

/** The ggml type with this id or name, and its id; throws naming it when the table does not hold it. */
export function ggmlType(idOrName: number | string): GgmlTypeInfo & { id: number } {
  for (const [id, info] of GGML_TYPES) {
    if (id === idOrName || info.name === idOrName) return { id, ...info };
  }
  throw new Error(
    `ggml tensor type ${JSON.stringify(idOrName)} is not known here ` +
      `(${[...GGML_TYPES.values()].map((t) => t.name).join(", ")})`,
  );
}

/** Bytes of a tensor of ggml type `type` with GGUF dims `dims` (dims[0] = row length, whole blocks). */
export function ggmlTensorBytes(type: number | string, dims: readonly number[]): number {
  const info = ggmlType(type);
  const row = dims[0] ?? 1;
  if (row % info.blockElements !== 0) {
    throw new Error(
      `a ${info.name} row of ${row} values is not a whole number of ${info.blockElements}-blocks`,
    );
  }
  const rows = dims.slice(1).reduce((a, b) => a * b, 1);
  return (row / info.blockElements) * info.blockBytes * rows;
}

/** The tensor types the engine computes with (others are refused before a load). */
export const ENGINE_TENSOR_TYPES: ReadonlySet<string> = new Set([
  "F32",
  "F16",
  "BF16",
  "Q8_0",
  "Q4_0",
  "Q4_K",
  "Q5_K",
  "Q6_K",
]);

/** One tensor's entry in the header. */
export interface GgufTensorInfo {
  /** GGUF tensor name, e.g. `blk.0.attn_q.weight`. */
  name: string;
  /** Dimensions, innermost (row length) first, as GGUF stores them. */
  dims: number[];
  /** ggml type id. */
  typeId: number;
  /** ggml type name, e.g. `Q6_K`. */
  type: string;
  /** Offset of its data from the start of the data section. */
  offset: number;
  /** Bytes of its data. */
  bytes: number;
}

/** A parsed GGUF header. */
export interface GgufHeader {
  /** Format version (2 or 3). */
  version: number;
  /** Metadata entries in file order. */
  metadata: Map<string, GgufMetadataEntry>;
  /** Tensor infos in file order. */
  tensors: GgufTensorInfo[];
  /** Data alignment (`general.alignment`, default 32). */
  alignment: number;
  /** Absolute file offset where tensor data starts. */
  dataOffset: number;
  /** The file's size in bytes. */
  fileSize: number;
  /** Sum of the tensors' data bytes. */
  tensorBytes: number;
}
