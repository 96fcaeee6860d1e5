/**
 * A minimal GGUF reader and writer for tests: parses a file into its metadata (values kept as raw
 * bytes) and tensors (info + data), and writes such a description back — so tests can derive split,
 * re-aligned, v2 or deliberately broken files from a fixture without a converter.
 * @module
 */

/** One metadata entry: its key, value type id and the value's bytes as stored. */
export interface GgufKv {
  key: string;
  type: number;
  raw: Uint8Array;
}

/** One tensor: name, dimensions (ne0 first), ggml type id and its data bytes. */
export interface GgufTensor {
  name: string;
  dims: bigint[];
  type: number;
  data: Uint8Array;
}

/** A whole GGUF file. `offsets` overrides the computed data offsets (for broken-file tests). */
export interface GgufFile {
  version: number;
  kvs: GgufKv[];
  tensors: GgufTensor[];
  alignment: number;
  offsets?: bigint[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SCALAR_BYTES: Record<number, number> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  10: 8,
  11: 8,
  12: 8,
};

/** Parses `bytes` (a well-formed GGUF v2/v3). Tensor data sizes come from the next tensor's offset. */
export function parseGguf(bytes: Uint8Array): GgufFile {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 4;
  const u32 = (): number => (at += 4, view.getUint32(at - 4, true));
  const u64 = (): bigint => (at += 8, view.getBigUint64(at - 8, true));
  const string = (): string => {
    const length = Number(u64());
    at += length;
    return decoder.decode(bytes.subarray(at - length, at));
  };
  const skipValue = (type: number): void => {
    if (type === 8) string();
    else if (type === 9) {
      const element = u32();
      const count = Number(u64());
      for (let i = 0; i < count; i++) skipValue(element);
    } else at += SCALAR_BYTES[type];
  };
  const version = u32();
  const tensorCount = Number(u64());
  const kvCount = Number(u64());
  const kvs: GgufKv[] = [];
  let alignment = 32;
  for (let i = 0; i < kvCount; i++) {
    const key = string();
    const type = u32();
    const start = at;
    skipValue(type);
    kvs.push({ key, type, raw: bytes.slice(start, at) });
    if (key === "general.alignment") alignment = view.getUint32(start, true);
  }
  const infos: { name: string; dims: bigint[]; type: number; offset: number }[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = string();
    const dims = Array.from({ length: u32() }, () => u64());
    infos.push({ name, dims, type: u32(), offset: Number(u64()) });
  }
  const dataStart = Math.ceil(at / alignment) * alignment;
  const ends = infos.map((info) => info.offset).sort((a, b) => a - b);
  const tensors = infos.map((info) => {
    const end = ends.find((offset) => offset > info.offset) ?? bytes.length - dataStart;
    return {
      name: info.name,
      dims: info.dims,
      type: info.type,
      data: bytes.slice(dataStart + info.offset, dataStart + end),
    };
  });
  return { version, kvs, tensors, alignment };
}

/** A metadata entry holding a string. */
export function stringKv(key: string, value: string): GgufKv {
  const text = encoder.encode(value);
  const raw = new Uint8Array(8 + text.length);
  new DataView(raw.buffer).setBigUint64(0, BigInt(text.length), true);
  raw.set(text, 8);
  return { key, type: 8, raw };
}

/** A metadata entry holding a u16 (type 2), u32 (4) or i32 (5). */
export function intKv(key: string, type: 2 | 4 | 5, value: number): GgufKv {
  const raw = new Uint8Array(SCALAR_BYTES[type]);
  const view = new DataView(raw.buffer);
  if (type === 2) view.setUint16(0, value, true);
  else if (type === 4) view.setUint32(0, value, true);
  else view.setInt32(0, value, true);
  return { key, type, raw };
}

/** Serializes `file`: data padded to its alignment, offsets computed unless `file.offsets` is given. */
export function writeGguf(file: GgufFile): Uint8Array {
  const parts: Uint8Array[] = [];
  const push = (part: Uint8Array): void => void parts.push(part);
  const u32 = (value: number): void => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value, true);
    push(b);
  };
  const u64 = (value: bigint): void => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, value, true);
    push(b);
  };
  const string = (value: string): void => {
    const text = encoder.encode(value);
    u64(BigInt(text.length));
    push(text);
  };
  const align = (n: number): number => Math.ceil(n / file.alignment) * file.alignment;
  push(encoder.encode("GGUF"));
  u32(file.version);
  u64(BigInt(file.tensors.length));
  u64(BigInt(file.kvs.length));
  for (const kv of file.kvs) {
    string(kv.key);
    u32(kv.type);
    push(kv.raw);
  }
  let offset = 0;
  file.tensors.forEach((tensor, i) => {
    string(tensor.name);
    u32(tensor.dims.length);
    for (const dim of tensor.dims) u64(dim);
    u32(tensor.type);
    u64(file.offsets?.[i] ?? BigInt(offset));
    offset = align(offset + tensor.data.length);
  });
  const headerLength = parts.reduce((n, part) => n + part.length, 0);
  const dataStart = align(headerLength);
  const out = new Uint8Array(dataStart + offset);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  offset = 0;
  for (const tensor of file.tensors) {
    out.set(tensor.data, dataStart + offset);
    offset = align(offset + tensor.data.length);
  }
  return out;
}

/** Splits `file` into `count` shards the way llama.cpp's gguf-split does: metadata in the first,
 * `split.no` / `split.count` / `split.tensors.count` in each, tensors dealt out in order. */
export function splitGguf(file: GgufFile, count: number): GgufFile[] {
  const per = Math.ceil(file.tensors.length / count);
  return Array.from({ length: count }, (_, k) => ({
    ...file,
    kvs: [
      ...(k === 0 ? file.kvs : []),
      intKv("split.no", 2, k),
      intKv("split.count", 2, count),
      intKv("split.tensors.count", 5, file.tensors.length),
    ],
    tensors: file.tensors.slice(k * per, (k + 1) * per),
  }));
}
