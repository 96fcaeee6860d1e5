/**
 * The parts of the GGUF v3 file format the bench's writer and reader share: metadata value
 * types, the ggml tensor types with their block sizes, and the byte size of a tensor.
 * Format reference: llama.cpp's `ggml/include/gguf.h` and `gguf-py/gguf/constants.py`.
 * @module
 */

/** "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;

/** The version this writer produces (the reader also takes 2). */
export const GGUF_VERSION = 3;

/** Tensor data alignment when the file has no `general.alignment` key. */
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value type ids (GGUFValueType). */
export const GGUF_VALUE_TYPES = Object.freeze({
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
});

/** A scalar metadata type name. */
export type GgufScalarType = Exclude<keyof typeof GGUF_VALUE_TYPES, "array">;

/** One typed metadata value: GGUF keeps the width of every number, so the type is explicit. */
export type GgufValue =
  | { type: "string"; value: string }
  | { type: "bool"; value: boolean }
  | { type: "u64" | "i64"; value: bigint }
  | { type: Exclude<GgufScalarType, "string" | "bool" | "u64" | "i64">; value: number }
  | { type: "array"; itemType: "string"; values: string[] }
  | { type: "array"; itemType: Exclude<GgufScalarType, "string" | "bool" | "u64" | "i64">; values: number[] };

/** A ggml tensor type: its id in the file, elements per block and bytes per block. */
export interface GgmlType {
  id: number;
  name: string;
  blockElements: number;
  blockBytes: number;
}

/** The tensor types the bench reads and writes (the formats cortex and llama.cpp both run). */
export const GGML_TYPES: readonly GgmlType[] = Object.freeze([
  { id: 0, name: "F32", blockElements: 1, blockBytes: 4 },
  { id: 1, name: "F16", blockElements: 1, blockBytes: 2 },
  { id: 2, name: "Q4_0", blockElements: 32, blockBytes: 18 },
  { id: 3, name: "Q4_1", blockElements: 32, blockBytes: 20 },
  { id: 6, name: "Q5_0", blockElements: 32, blockBytes: 22 },
  { id: 7, name: "Q5_1", blockElements: 32, blockBytes: 24 },
  { id: 8, name: "Q8_0", blockElements: 32, blockBytes: 34 },
  { id: 10, name: "Q2_K", blockElements: 256, blockBytes: 84 },
  { id: 11, name: "Q3_K", blockElements: 256, blockBytes: 110 },
  { id: 12, name: "Q4_K", blockElements: 256, blockBytes: 144 },
  { id: 13, name: "Q5_K", blockElements: 256, blockBytes: 176 },
  { id: 14, name: "Q6_K", blockElements: 256, blockBytes: 210 },
  { id: 30, name: "BF16", blockElements: 1, blockBytes: 2 },
]);

/** The ggml type with this id or name; throws naming it when the bench does not know it. */
export function ggmlType(idOrName: number | string): GgmlType {
  const found = GGML_TYPES.find((t) => t.id === idOrName || t.name === idOrName);
  if (!found) {
    throw new Error(
      `ggml tensor type ${JSON.stringify(idOrName)} is not one the bench knows ` +
        `(${GGML_TYPES.map((t) => t.name).join(", ")})`,
    );
  }
  return found;
}

/** Bytes of one row of `elements` values (a whole number of blocks; throws otherwise). */
export function ggmlRowBytes(type: GgmlType, elements: number): number {
  if (elements % type.blockElements !== 0) {
    throw new Error(
      `a ${type.name} row of ${elements} values is not a whole number of ${type.blockElements}-blocks`,
    );
  }
  return (elements / type.blockElements) * type.blockBytes;
}

/** Bytes of a tensor with GGUF dims `dims` (dims[0] = row length). */
export function ggmlTensorBytes(type: GgmlType, dims: readonly number[]): number {
  const rows = dims.slice(1).reduce((a, b) => a * b, 1);
  return ggmlRowBytes(type, dims[0] ?? 1) * rows;
}
