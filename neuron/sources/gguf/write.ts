/**
 * A streaming GGUF writer: typed metadata (the {@linkcode GgufMetadataEntry} values the reader
 * returns, so a header read can be written back byte for byte), tensor infos and aligned tensor
 * data. {@linkcode writeGguf} writes a file through `<path>.partial`, renamed into place, so a
 * half-written file never carries the final name; tensor data may come from callbacks, so a
 * multi-GiB model never sits in memory at once. {@linkcode encodeGguf} writes the same bytes to
 * memory, for tests. Format reference: llama.cpp's `ggml/include/gguf.h`.
 *
 * @example
 * ```ts ignore
 * import { encodeGguf, GgufValueType } from "./mod.ts";
 * const bytes = await encodeGguf(
 *   { "general.architecture": { type: GgufValueType.STRING, itemType: null, value: "qwen3" } },
 *   [{ name: "t", type: "F32", dims: [4], data: new Uint8Array(16) }],
 * );
 * ```
 * @module
 */
import { ggmlTensorBytes, ggmlType, type GgufMetadataEntry, type GgufValue, GgufValueType } from "./types.ts";

/** One tensor to write. */
export interface GgufTensorSource {
  /** GGUF tensor name. */
  name: string;
  /** A ggml type name ("F32", "Q8_0", …) or id. */
  type: string | number;
  /** GGUF dims: dims[0] is the row length (the reverse of a PyTorch/safetensors shape). */
  dims: readonly number[];
  /** The tensor's bytes, or a callback that writes exactly them, in order, through `write`. */
  data: Uint8Array | ((write: (bytes: Uint8Array) => Promise<void>) => Promise<void>);
}

/** Metadata to write, in order. */
export type GgufMetadataInput = ReadonlyMap<string, GgufMetadataEntry> | Record<string, GgufMetadataEntry>;

/** Options of {@linkcode writeGguf} and {@linkcode encodeGguf}. */
export interface GgufWriteOptions {
  /** Format version written (default 3; 2 has the same layout). */
  version?: 2 | 3;
  /**
   * False only in tests that make broken files on purpose: tensors are written as given (any type id,
   * repeated names, data of any length, padded to the alignment) without checks. Default true.
   */
  check?: boolean;
  /** Data offsets written into the tensor infos instead of the real ones (broken-file tests). */
  offsets?: readonly number[];
}

/** A metadata entry holding one value of scalar `type`. */
export function ggufScalar(type: GgufValueType, value: GgufValue): GgufMetadataEntry {
  return { type, itemType: null, value };
}

/** A metadata entry holding an array of `itemType` values. */
export function ggufArray(itemType: GgufValueType, values: GgufValue[]): GgufMetadataEntry {
  return { type: GgufValueType.ARRAY, itemType, value: values };
}

/** Where the bytes go: a file or memory. */
interface _Sink {
  position: number;
  write(bytes: Uint8Array): Promise<void>;
}

const _CHUNK_BYTES = 4 * 2 ** 20;

/** Collects small writes into 4 MiB chunks before they reach the file. */
class _FileSink implements _Sink {
  readonly #file: Deno.FsFile;
  readonly #buffer = new Uint8Array(_CHUNK_BYTES);
  #used = 0;
  position = 0;

  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.position += bytes.length;
    if (this.#used + bytes.length > this.#buffer.length) await this.flush();
    if (bytes.length >= this.#buffer.length) return await _writeAll(this.#file, bytes);
    this.#buffer.set(bytes, this.#used);
    this.#used += bytes.length;
  }

  async flush(): Promise<void> {
    await _writeAll(this.#file, this.#buffer.subarray(0, this.#used));
    this.#used = 0;
  }
}

class _MemorySink implements _Sink {
  readonly parts: Uint8Array[] = [];
  position = 0;

  write(bytes: Uint8Array): Promise<void> {
    this.parts.push(bytes.slice());
    this.position += bytes.length;
    return Promise.resolve();
  }
}

async function _writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

function _concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const _SCALAR_BYTES: Partial<Record<GgufValueType, number>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

/** Little-endian encoder of the header's scalars and strings. */
class _HeaderEncoder {
  readonly parts: Uint8Array[] = [];
  readonly #text = new TextEncoder();

  u32(value: number): void {
    this.#scalar(4, (view) => view.setUint32(0, value, true));
  }

  u64(value: number | bigint): void {
    this.#scalar(8, (view) => view.setBigUint64(0, BigInt(value), true));
  }

  string(value: string): void {
    const bytes = this.#text.encode(value);
    this.u64(bytes.length);
    this.parts.push(bytes);
  }

  /** A value of `type` (its type id is written by the caller). */
  value(type: GgufValueType, itemType: GgufValueType | null, value: GgufValue, key: string): void {
    if (type === GgufValueType.STRING) return this.string(value as string);
    if (type === GgufValueType.ARRAY) {
      if (itemType === null) throw new Error(`metadata ${key}: an array needs an item type`);
      const items = value as GgufValue[];
      this.u32(itemType);
      this.u64(items.length);
      for (const item of items) this.value(itemType, null, item, key);
      return;
    }
    const size = _SCALAR_BYTES[type];
    if (size === undefined) throw new Error(`metadata ${key}: unknown value type ${type}`);
    this.#scalar(size, (view) => {
      const n = value as number;
      if (type === GgufValueType.UINT8) view.setUint8(0, n);
      else if (type === GgufValueType.INT8) view.setInt8(0, n);
      else if (type === GgufValueType.BOOL) view.setUint8(0, value ? 1 : 0);
      else if (type === GgufValueType.UINT16) view.setUint16(0, n, true);
      else if (type === GgufValueType.INT16) view.setInt16(0, n, true);
      else if (type === GgufValueType.UINT32) view.setUint32(0, n, true);
      else if (type === GgufValueType.INT32) view.setInt32(0, n, true);
      else if (type === GgufValueType.FLOAT32) view.setFloat32(0, n, true);
      else if (type === GgufValueType.UINT64) view.setBigUint64(0, BigInt(value as number | bigint), true);
      else if (type === GgufValueType.INT64) view.setBigInt64(0, BigInt(value as number | bigint), true);
      else view.setFloat64(0, n, true);
    });
  }

  #scalar(size: number, set: (view: DataView) => void): void {
    const bytes = new Uint8Array(size);
    set(new DataView(bytes.buffer));
    this.parts.push(bytes);
  }
}

function _alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/**
 * Writes a GGUF file to `path`: `metadata` in order, then the tensor infos and data of `tensors` in
 * order, each tensor at the next multiple of `general.alignment` (32 when absent), the last padded
 * too (as ggml's own writer does). Returns the file size in bytes. On any error no file is left.
 */
export async function writeGguf(
  path: string,
  metadata: GgufMetadataInput,
  tensors: readonly GgufTensorSource[],
  options: GgufWriteOptions = {},
): Promise<number> {
  const temporary = `${path}.partial`;
  const file = await Deno.open(temporary, { write: true, create: true, truncate: true });
  try {
    const sink = new _FileSink(file);
    await _write(sink, metadata, tensors, options);
    await sink.flush();
  } catch (error) {
    file.close();
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
  file.close();
  await Deno.rename(temporary, path);
  return (await Deno.stat(path)).size;
}

/** The bytes {@linkcode writeGguf} would write, in memory. */
export async function encodeGguf(
  metadata: GgufMetadataInput,
  tensors: readonly GgufTensorSource[],
  options: GgufWriteOptions = {},
): Promise<Uint8Array> {
  const sink = new _MemorySink();
  await _write(sink, metadata, tensors, options);
  return _concat(sink.parts);
}

async function _write(
  out: _Sink,
  metadataInput: GgufMetadataInput,
  tensors: readonly GgufTensorSource[],
  options: GgufWriteOptions,
): Promise<void> {
  const check = options.check ?? true;
  const metadata = metadataInput instanceof Map ? metadataInput : new Map(Object.entries(metadataInput));
  const alignmentEntry = metadata.get("general.alignment");
  const alignment = alignmentEntry === undefined ? 32 : Number(alignmentEntry.value);
  if (alignmentEntry !== undefined && alignmentEntry.type !== GgufValueType.UINT32) {
    throw new Error("general.alignment must be a u32");
  }
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) {
    throw new Error(`general.alignment ${alignment} is not a multiple of 8`);
  }
  const header = new _HeaderEncoder();
  header.u32(0x46554747); // "GGUF" read little-endian
  header.u32(options.version ?? 3);
  header.u64(tensors.length);
  header.u64(metadata.size);
  for (const [key, entry] of metadata) {
    header.string(key);
    header.u32(entry.type);
    header.value(entry.type, entry.itemType, entry.value, key);
  }
  const names = new Set<string>();
  const layout: { tensor: GgufTensorSource; offset: number; bytes: number }[] = [];
  let offset = 0;
  for (const [i, tensor] of tensors.entries()) {
    if (check && names.has(tensor.name)) throw new Error(`tensor ${tensor.name} appears twice`);
    names.add(tensor.name);
    const typeId = typeof tensor.type === "number" && !check ? tensor.type : ggmlType(tensor.type).id;
    let bytes: number;
    if (check) bytes = ggmlTensorBytes(typeId, tensor.dims);
    else if (tensor.data instanceof Uint8Array) bytes = tensor.data.length;
    else throw new Error(`tensor ${tensor.name}: unchecked writes take the data as bytes`);
    offset = _alignUp(offset, alignment);
    header.string(tensor.name);
    header.u32(tensor.dims.length);
    for (const dim of tensor.dims) header.u64(dim);
    header.u32(typeId);
    header.u64(options.offsets?.[i] ?? offset);
    layout.push({ tensor, offset, bytes });
    offset += bytes;
  }

  for (const part of header.parts) await out.write(part);
  const dataStart = _alignUp(out.position, alignment);
  await out.write(new Uint8Array(dataStart - out.position));
  for (const { tensor, offset, bytes } of layout) {
    await out.write(new Uint8Array(dataStart + offset - out.position));
    const before = out.position;
    if (tensor.data instanceof Uint8Array) await out.write(tensor.data);
    else await tensor.data((chunk) => out.write(chunk));
    if (out.position - before !== bytes) {
      throw new Error(
        `tensor ${tensor.name}: wrote ${out.position - before} bytes, its type and dims need ${bytes}`,
      );
    }
  }
  await out.write(new Uint8Array(_alignUp(out.position, alignment) - out.position));
}
