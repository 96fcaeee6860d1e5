/**
 * Reads the header of a GGUF v2/v3 file: metadata, tensor infos and where the tensor data starts.
 * The bench uses it to count the bytes a decode step reads per tensor and to check the files its
 * writer makes; the engine's own loader is the C++ one.
 * @module
 */

import {
  ggmlTensorBytes,
  type GgmlType,
  ggmlType,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VALUE_TYPES,
  type GgufScalarType,
} from "./_gguf_format.ts";

/** A metadata value as read: numbers (u64/i64 as bigint), strings, booleans or arrays of them. */
export type GgufReadValue = number | bigint | string | boolean | GgufReadValue[];

/** One tensor info. */
export interface GgufTensorInfo {
  name: string;
  /** GGUF dims, dims[0] = row length. */
  dims: number[];
  type: GgmlType;
  /** Offset from the start of the data section. */
  offset: number;
  bytes: number;
}

/** The parsed header of a GGUF file. */
export interface GgufHeader {
  version: number;
  metadata: Map<string, GgufReadValue>;
  /** The value type of each metadata key ("array" for arrays), as stored. */
  metadataTypes: Map<string, string>;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute file offset of the data section. */
  dataOffset: number;
  fileBytes: number;
}

const TYPE_NAMES = new Map<number, string>(Object.entries(GGUF_VALUE_TYPES).map(([name, id]) => [id, name]));

/** Reads a file front to back in windows, growing the window when a value crosses its end. */
class Cursor {
  #file: Deno.FsFile;
  #buffer = new Uint8Array(0);
  #bufferStart = 0;
  #decoder = new TextDecoder("utf-8", { fatal: true });
  position = 0;

  constructor(file: Deno.FsFile, readonly fileBytes: number) {
    this.#file = file;
  }

  async take(length: number): Promise<DataView> {
    if (this.position + length > this.fileBytes) {
      throw new Error(
        `truncated: needs ${length} bytes at offset ${this.position}, the file has ${this.fileBytes}`,
      );
    }
    const end = this.#bufferStart + this.#buffer.length;
    if (this.position < this.#bufferStart || this.position + length > end) {
      const size = Math.min(Math.max(length, 1 << 20), this.fileBytes - this.position);
      const buffer = new Uint8Array(size);
      await this.#file.seek(this.position, Deno.SeekMode.Start);
      let filled = 0;
      while (filled < size) {
        const read = await this.#file.read(buffer.subarray(filled));
        if (read === null) throw new Error(`truncated at offset ${this.position + filled}`);
        filled += read;
      }
      this.#buffer = buffer;
      this.#bufferStart = this.position;
    }
    const at = this.position - this.#bufferStart;
    this.position += length;
    return new DataView(this.#buffer.buffer, this.#buffer.byteOffset + at, length);
  }

  async u32(): Promise<number> {
    return (await this.take(4)).getUint32(0, true);
  }

  async u64(): Promise<number> {
    const value = (await this.take(8)).getBigUint64(0, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new Error(`u64 ${value} at offset ${this.position - 8} is too large`);
    }
    return Number(value);
  }

  async string(): Promise<string> {
    const length = await this.u64();
    const view = await this.take(length);
    return this.#decoder.decode(new Uint8Array(view.buffer, view.byteOffset, length));
  }

  async scalar(type: GgufScalarType): Promise<GgufReadValue> {
    switch (type) {
      case "u8":
        return (await this.take(1)).getUint8(0);
      case "i8":
        return (await this.take(1)).getInt8(0);
      case "bool":
        return (await this.take(1)).getUint8(0) !== 0;
      case "u16":
        return (await this.take(2)).getUint16(0, true);
      case "i16":
        return (await this.take(2)).getInt16(0, true);
      case "u32":
        return (await this.take(4)).getUint32(0, true);
      case "i32":
        return (await this.take(4)).getInt32(0, true);
      case "f32":
        return (await this.take(4)).getFloat32(0, true);
      case "u64":
        return (await this.take(8)).getBigUint64(0, true);
      case "i64":
        return (await this.take(8)).getBigInt64(0, true);
      case "f64":
        return (await this.take(8)).getFloat64(0, true);
      case "string":
        return await this.string();
    }
  }

  async typeName(): Promise<string> {
    const id = await this.u32();
    const name = TYPE_NAMES.get(id);
    if (name === undefined) {
      throw new Error(`unknown metadata value type ${id} at offset ${this.position - 4}`);
    }
    return name;
  }
}

/**
 * Parses the header of the GGUF file at `path` and checks that every tensor lies inside the file.
 *
 * @example
 * ```ts
 * const header = await readGgufHeader("model.gguf");
 * console.log(header.metadata.get("general.architecture"), header.tensors.length);
 * ```
 */
export async function readGgufHeader(path: string): Promise<GgufHeader> {
  const file = await Deno.open(path, { read: true });
  try {
    const fileBytes = (await file.stat()).size;
    const cursor = new Cursor(file, fileBytes);
    const magic = await cursor.u32();
    if (magic !== GGUF_MAGIC) throw new Error(`${path}: not a GGUF file (magic 0x${magic.toString(16)})`);
    const version = await cursor.u32();
    if (version !== 2 && version !== 3) throw new Error(`${path}: GGUF version ${version} is not 2 or 3`);
    const tensorCount = await cursor.u64();
    const keyCount = await cursor.u64();
    const metadata = new Map<string, GgufReadValue>();
    const metadataTypes = new Map<string, string>();
    for (let k = 0; k < keyCount; k++) {
      const key = await cursor.string();
      const type = await cursor.typeName();
      metadataTypes.set(key, type);
      if (type !== "array") {
        metadata.set(key, await cursor.scalar(type as GgufScalarType));
        continue;
      }
      const itemType = await cursor.typeName();
      if (itemType === "array") throw new Error(`${path}: ${key} is an array of arrays`);
      const count = await cursor.u64();
      const values: GgufReadValue[] = [];
      for (let i = 0; i < count; i++) values.push(await cursor.scalar(itemType as GgufScalarType));
      metadata.set(key, values);
    }
    const alignment = Number(metadata.get("general.alignment") ?? GGUF_DEFAULT_ALIGNMENT);
    const tensors: GgufTensorInfo[] = [];
    for (let t = 0; t < tensorCount; t++) {
      const name = await cursor.string();
      const dimCount = await cursor.u32();
      const dims: number[] = [];
      for (let d = 0; d < dimCount; d++) dims.push(await cursor.u64());
      const type = ggmlType(await cursor.u32());
      const offset = await cursor.u64();
      tensors.push({ name, dims, type, offset, bytes: ggmlTensorBytes(type, dims) });
    }
    const dataOffset = Math.ceil(cursor.position / alignment) * alignment;
    for (const tensor of tensors) {
      if (tensor.offset % alignment !== 0) throw new Error(`${path}: tensor ${tensor.name} is not aligned`);
      if (dataOffset + tensor.offset + tensor.bytes > fileBytes) {
        throw new Error(`${path}: tensor ${tensor.name} ends past the end of the file`);
      }
    }
    return { version, metadata, metadataTypes, tensors, alignment, dataOffset, fileBytes };
  } finally {
    file.close();
  }
}
