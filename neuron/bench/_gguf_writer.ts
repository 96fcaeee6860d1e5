/**
 * A streaming GGUF v3 writer: typed metadata, tensor infos and aligned tensor data, written to
 * `<path>.partial` and renamed into place, so a half-written file never carries the final name.
 * Tensor data comes from callbacks, so a multi-GiB model never sits in memory at once.
 * @module
 */

import {
  GGML_TYPES,
  ggmlTensorBytes,
  type GgmlType,
  ggmlType,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VALUE_TYPES,
  GGUF_VERSION,
  type GgufValue,
} from "./_gguf_format.ts";

/** One tensor to write. */
export interface GgufTensorSource {
  name: string;
  /** A ggml type name ("F32", "BF16", …) or the type itself. */
  type: string | GgmlType;
  /** GGUF dims: dims[0] is the row length (the reverse of a PyTorch/safetensors shape). */
  dims: number[];
  /** Writes exactly the tensor's bytes, in order, through `write`. */
  data: (write: (bytes: Uint8Array) => Promise<void>) => Promise<void>;
}

const CHUNK_BYTES = 4 * 2 ** 20;

/** Collects small writes into 4 MiB chunks before they reach the file. */
class BufferedFile {
  #file: Deno.FsFile;
  #buffer = new Uint8Array(CHUNK_BYTES);
  #used = 0;
  /** Bytes accepted so far (written or buffered). */
  position = 0;

  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.position += bytes.length;
    if (this.#used + bytes.length > this.#buffer.length) await this.flush();
    if (bytes.length >= this.#buffer.length) {
      await writeAll(this.#file, bytes);
      return;
    }
    this.#buffer.set(bytes, this.#used);
    this.#used += bytes.length;
  }

  async flush(): Promise<void> {
    await writeAll(this.#file, this.#buffer.subarray(0, this.#used));
    this.#used = 0;
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

/** Little-endian encoder of the header's scalars and strings. */
class HeaderEncoder {
  #parts: Uint8Array[] = [];
  #text = new TextEncoder();

  u32(value: number): void {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, value, true);
    this.#parts.push(bytes);
  }

  u64(value: number | bigint): void {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(value), true);
    this.#parts.push(bytes);
  }

  string(value: string): void {
    const bytes = this.#text.encode(value);
    this.u64(bytes.length);
    this.#parts.push(bytes);
  }

  scalar(
    type: Exclude<keyof typeof GGUF_VALUE_TYPES, "array">,
    value: number | bigint | boolean | string,
  ): void {
    if (type === "string") return this.string(value as string);
    const sizes = { u8: 1, i8: 1, bool: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, u64: 8, i64: 8, f64: 8 };
    const bytes = new Uint8Array(sizes[type]);
    const view = new DataView(bytes.buffer);
    if (type === "u8") view.setUint8(0, value as number);
    else if (type === "i8") view.setInt8(0, value as number);
    else if (type === "bool") view.setUint8(0, value ? 1 : 0);
    else if (type === "u16") view.setUint16(0, value as number, true);
    else if (type === "i16") view.setInt16(0, value as number, true);
    else if (type === "u32") view.setUint32(0, value as number, true);
    else if (type === "i32") view.setInt32(0, value as number, true);
    else if (type === "f32") view.setFloat32(0, value as number, true);
    else if (type === "u64") view.setBigUint64(0, BigInt(value as bigint), true);
    else if (type === "i64") view.setBigInt64(0, BigInt(value as bigint), true);
    else view.setFloat64(0, value as number, true);
    this.#parts.push(bytes);
  }

  value(value: GgufValue): void {
    this.u32(GGUF_VALUE_TYPES[value.type]);
    if (value.type !== "array") return this.scalar(value.type, value.value);
    this.u32(GGUF_VALUE_TYPES[value.itemType]);
    this.u64(value.values.length);
    for (const item of value.values) this.scalar(value.itemType, item);
  }

  bytes(): Uint8Array {
    const length = this.#parts.reduce((sum, part) => sum + part.length, 0);
    const out = new Uint8Array(length);
    let at = 0;
    for (const part of this.#parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/**
 * Writes a GGUF v3 file: `metadata` in insertion order, then the tensor infos and data of `tensors`
 * in order, each tensor at the next multiple of `general.alignment` (32 when absent). Returns the
 * file size in bytes.
 *
 * @example
 * ```ts
 * await writeGguf("/tmp/one.gguf", { "general.architecture": { type: "string", value: "qwen3" } }, [
 *   { name: "t", type: "F32", dims: [4], data: (write) => write(new Uint8Array(16)) },
 * ]);
 * ```
 */
export async function writeGguf(
  path: string,
  metadata: Record<string, GgufValue>,
  tensors: GgufTensorSource[],
): Promise<number> {
  const alignmentValue = metadata["general.alignment"];
  const alignment = alignmentValue === undefined ? GGUF_DEFAULT_ALIGNMENT : Number(
    alignmentValue.type === "u32" ? alignmentValue.value : NaN,
  );
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) {
    throw new Error("general.alignment must be a u32 multiple of 8");
  }
  const header = new HeaderEncoder();
  header.u32(GGUF_MAGIC);
  header.u32(GGUF_VERSION);
  header.u64(tensors.length);
  header.u64(Object.keys(metadata).length);
  for (const [key, value] of Object.entries(metadata)) {
    header.string(key);
    header.value(value);
  }
  const names = new Set<string>();
  const layout = [];
  let offset = 0;
  for (const tensor of tensors) {
    if (names.has(tensor.name)) throw new Error(`tensor ${tensor.name} appears twice`);
    names.add(tensor.name);
    const type = typeof tensor.type === "string" ? ggmlType(tensor.type) : tensor.type;
    if (!GGML_TYPES.includes(type)) throw new Error(`tensor ${tensor.name}: unknown type ${type.name}`);
    const bytes = ggmlTensorBytes(type, tensor.dims);
    offset = alignUp(offset, alignment);
    header.string(tensor.name);
    header.u32(tensor.dims.length);
    for (const dim of tensor.dims) header.u64(dim);
    header.u32(type.id);
    header.u64(offset);
    layout.push({ tensor, offset, bytes });
    offset += bytes;
  }

  const temporary = `${path}.partial`;
  const file = await Deno.open(temporary, { write: true, create: true, truncate: true });
  try {
    const out = new BufferedFile(file);
    await out.write(header.bytes());
    const dataStart = alignUp(out.position, alignment);
    await out.write(new Uint8Array(dataStart - out.position));
    for (const { tensor, offset, bytes } of layout) {
      await out.write(new Uint8Array(dataStart + offset - out.position));
      const before = out.position;
      await tensor.data((chunk) => out.write(chunk));
      if (out.position - before !== bytes) {
        throw new Error(
          `tensor ${tensor.name}: wrote ${out.position - before} bytes, its type and dims need ${bytes}`,
        );
      }
    }
    // ggml's own writer pads after every tensor, the last included; readers may size the blob that way.
    await out.write(new Uint8Array(alignUp(out.position, alignment) - out.position));
    await out.flush();
  } catch (error) {
    file.close();
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
  file.close();
  await Deno.rename(temporary, path);
  return (await Deno.stat(path)).size;
}
