/**
 * Reads a GGUF file's header — magic, version, metadata, tensor infos, alignment — without
 * reading its tensor data: the file is read in chunks only as far as the header goes, so a
 * 20 GB file costs a few megabytes. Every length and count is checked against the bytes left,
 * and any defect (truncation, bad magic, unknown version or type, a tensor past the end) is a
 * 422 `bad_model_folder` naming the file and the problem.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import {
  GGML_TYPES,
  type GgufHeader,
  type GgufMetadataEntry,
  type GgufTensorInfo,
  type GgufValue,
  GgufValueType,
} from "./types.ts";

/** Random access to the bytes of a file (or of a buffer, in tests). */
export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** Up to `length` bytes at `offset` (fewer only at the end). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

const _MAGIC = 0x46554747; // "GGUF" read little-endian
const _CHUNK = 1 << 20;
const _MAX_DIMS = 4;
const _MAX_NESTING = 4;

/** A 422 naming a GGUF file's defect. */
export function ggufError(name: string, problem: string): CortexError {
  return new CortexError(`GGUF file ${name}: ${problem}`, { code: "bad_model_folder", status: 422 });
}

/** A {@linkcode ByteSource} over an in-memory buffer. */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: (offset, length) =>
      Promise.resolve(bytes.subarray(offset, Math.min(bytes.length, offset + length))),
  };
}

/**
 * Reads the header of the GGUF file at `path`.
 *
 * @example
 * ```ts ignore
 * import { readGgufHeader } from "./read_header.ts";
 * const header = await readGgufHeader("/models/qwen3-0.6b-q8_0.gguf");
 * header.metadata.get("general.architecture")?.value; // "qwen3"
 * ```
 */
export async function readGgufHeader(path: string): Promise<GgufHeader> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw ggufError(path, "does not exist");
    throw ggufError(path, `cannot be read: ${(error as Error).message}`);
  }
  try {
    const size = (await file.stat()).size;
    const source: ByteSource = {
      size,
      async read(offset, length) {
        const out = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
        await file.seek(offset, Deno.SeekMode.Start);
        let filled = 0;
        while (filled < out.length) {
          const n = await file.read(out.subarray(filled));
          if (n === null) break;
          filled += n;
        }
        return out.subarray(0, filled);
      },
    };
    return await parseGgufHeader(source, path);
  } finally {
    file.close();
  }
}

/** Parses a GGUF header from `source`; `name` labels errors. */
export async function parseGgufHeader(source: ByteSource, name: string): Promise<GgufHeader> {
  const r = new _Cursor(source, name);
  const magic = await r.u32("magic");
  if (magic !== _MAGIC) {
    const text = [0, 8, 16, 24].map((s) => (magic >>> s) & 0xff).map((c) =>
      c >= 32 && c < 127 ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, "0")}`
    ).join("");
    throw ggufError(name, `bad magic "${text}" (expected "GGUF"): not a GGUF file`);
  }
  const version = await r.u32("version");
  if (version !== 2 && version !== 3) {
    const hint = version > 0xffff ? " (a big-endian file?)" : version === 1 ? " (GGUF v1 is obsolete)" : "";
    throw ggufError(name, `unknown GGUF version ${version}${hint}; versions 2 and 3 are supported`);
  }
  const tensorCount = await r.count("tensor count", 8);
  const kvCount = await r.count("metadata count", 9);
  const metadata = new Map<string, GgufMetadataEntry>();
  for (let i = 0; i < kvCount; i++) {
    const key = await r.string(`metadata key #${i}`);
    const type = await r.u32(`type of '${key}'`);
    if (metadata.has(key)) throw ggufError(name, `metadata key '${key}' appears twice`);
    metadata.set(key, await r.entry(type, key, 0));
  }
  const alignmentEntry = metadata.get("general.alignment");
  let alignment = 32;
  if (alignmentEntry !== undefined) {
    const a = alignmentEntry.value;
    if (typeof a !== "number" || !Number.isInteger(a) || a <= 0 || (a & (a - 1)) !== 0) {
      throw ggufError(name, `general.alignment ${String(a)} is not a power of two`);
    }
    alignment = a;
  }
  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    tensors.push(await r.tensorInfo(i));
    const tensorName = tensors[i].name;
    if (names.has(tensorName)) throw ggufError(name, `tensor '${tensorName}' appears twice`);
    names.add(tensorName);
  }
  const dataOffset = Math.ceil(r.position / alignment) * alignment;
  let tensorBytes = 0;
  for (const t of tensors) {
    if (t.offset % alignment !== 0) {
      throw ggufError(
        name,
        `tensor '${t.name}' offset ${t.offset} is not a multiple of the alignment ${alignment}`,
      );
    }
    if (dataOffset + t.offset + t.bytes > source.size) {
      throw ggufError(
        name,
        `tensor '${t.name}' (${t.type}, ${t.bytes} bytes at data offset ${t.offset}) runs past the end of the ` +
          `file (${source.size} bytes): truncated?`,
      );
    }
    tensorBytes += t.bytes;
  }
  return { version, metadata, tensors, alignment, dataOffset, fileSize: source.size, tensorBytes };
}

/** Sequential reader over a {@linkcode ByteSource}, refilling a buffer chunk by chunk. */
class _Cursor {
  readonly #source: ByteSource;
  readonly #name: string;
  #buf: Uint8Array = new Uint8Array(0);
  #bufStart = 0;
  #pos = 0;
  readonly #decoder = new TextDecoder("utf-8", { fatal: true });

  constructor(source: ByteSource, name: string) {
    this.#source = source;
    this.#name = name;
  }

  get position(): number {
    return this.#pos;
  }

  get #left(): number {
    return this.#source.size - this.#pos;
  }

  async #take(n: number, what: string): Promise<DataView> {
    if (n > this.#left) {
      throw ggufError(
        this.#name,
        `truncated: reading ${what} needs ${n} bytes at offset ${this.#pos}, but the file ends at ${this.#source.size}`,
      );
    }
    let at = this.#pos - this.#bufStart;
    if (at + n > this.#buf.length) {
      const chunk = await this.#source.read(this.#pos, Math.max(n, _CHUNK));
      if (chunk.length < n) throw ggufError(this.#name, `short read of ${what} at offset ${this.#pos}`);
      this.#buf = chunk;
      this.#bufStart = this.#pos;
      at = 0;
    }
    this.#pos += n;
    return new DataView(this.#buf.buffer, this.#buf.byteOffset + at, n);
  }

  async u32(what: string): Promise<number> {
    return (await this.#take(4, what)).getUint32(0, true);
  }

  async u64(what: string): Promise<number> {
    const v = (await this.#take(8, what)).getBigUint64(0, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw ggufError(this.#name, `${what} ${v} is out of range`);
    return Number(v);
  }

  /** A u64 count of items each at least `minBytes` long, bounded by the bytes left. */
  async count(what: string, minBytes: number): Promise<number> {
    const n = await this.u64(what);
    if (n * minBytes > this.#left) {
      throw ggufError(
        this.#name,
        `truncated or corrupt: ${what} ${n} cannot fit in the ${this.#left} bytes left`,
      );
    }
    return n;
  }

  async string(what: string): Promise<string> {
    const length = await this.u64(`length of ${what}`);
    if (length > this.#left) {
      throw ggufError(
        this.#name,
        `truncated: ${what} claims ${length} bytes at offset ${this.#pos}, but only ${this.#left} are left`,
      );
    }
    const view = await this.#take(length, what);
    try {
      return this.#decoder.decode(new Uint8Array(view.buffer, view.byteOffset, length));
    } catch {
      throw ggufError(this.#name, `${what} is not valid UTF-8`);
    }
  }

  async entry(type: number, key: string, depth: number): Promise<GgufMetadataEntry> {
    if (type !== GgufValueType.ARRAY) return { type, itemType: null, value: await this.scalar(type, key) };
    if (depth >= _MAX_NESTING) {
      throw ggufError(this.#name, `'${key}' nests arrays deeper than ${_MAX_NESTING}`);
    }
    const itemType = await this.u32(`item type of '${key}'`);
    const n = await this.count(`length of array '${key}'`, _minBytes(itemType, this.#name, key));
    const items: GgufValue[] = new Array(n);
    for (let i = 0; i < n; i++) {
      // Vocabularies hold 10^5 items: read from the buffer without awaiting when it can.
      const fast = itemType === GgufValueType.ARRAY ? undefined : this.#bufferedScalar(itemType);
      items[i] = fast !== undefined ? fast : (await this.entry(itemType, `${key}[${i}]`, depth + 1)).value;
    }
    return { type, itemType, value: items };
  }

  /** A string, number or bool read from the buffer when wholly there; undefined otherwise. */
  #bufferedScalar(type: number): GgufValue | undefined {
    const at = this.#pos - this.#bufStart;
    const left = this.#buf.length - at;
    const view = new DataView(this.#buf.buffer, this.#buf.byteOffset + at, left);
    let size: number;
    let value: GgufValue;
    switch (type) {
      case GgufValueType.STRING: {
        if (left < 8) return undefined;
        const length = view.getBigUint64(0, true);
        if (length > BigInt(left - 8)) return undefined;
        size = 8 + Number(length);
        try {
          value = this.#decoder.decode(this.#buf.subarray(at + 8, at + size));
        } catch {
          return undefined; // the slow path names the error
        }
        break;
      }
      case GgufValueType.INT32:
        if (left < 4) return undefined;
        [size, value] = [4, view.getInt32(0, true)];
        break;
      case GgufValueType.UINT32:
        if (left < 4) return undefined;
        [size, value] = [4, view.getUint32(0, true)];
        break;
      case GgufValueType.FLOAT32:
        if (left < 4) return undefined;
        [size, value] = [4, view.getFloat32(0, true)];
        break;
      default:
        return undefined;
    }
    this.#pos += size;
    return value;
  }

  async scalar(type: number, key: string): Promise<GgufValue> {
    switch (type) {
      case GgufValueType.UINT8:
        return (await this.#take(1, `'${key}'`)).getUint8(0);
      case GgufValueType.INT8:
        return (await this.#take(1, `'${key}'`)).getInt8(0);
      case GgufValueType.UINT16:
        return (await this.#take(2, `'${key}'`)).getUint16(0, true);
      case GgufValueType.INT16:
        return (await this.#take(2, `'${key}'`)).getInt16(0, true);
      case GgufValueType.UINT32:
        return (await this.#take(4, `'${key}'`)).getUint32(0, true);
      case GgufValueType.INT32:
        return (await this.#take(4, `'${key}'`)).getInt32(0, true);
      case GgufValueType.FLOAT32:
        return (await this.#take(4, `'${key}'`)).getFloat32(0, true);
      case GgufValueType.FLOAT64:
        return (await this.#take(8, `'${key}'`)).getFloat64(0, true);
      case GgufValueType.BOOL: {
        const b = (await this.#take(1, `'${key}'`)).getUint8(0);
        if (b > 1) throw ggufError(this.#name, `'${key}' is a bool with byte value ${b}`);
        return b === 1;
      }
      case GgufValueType.STRING:
        return await this.string(`'${key}'`);
      case GgufValueType.UINT64:
        return _narrow((await this.#take(8, `'${key}'`)).getBigUint64(0, true));
      case GgufValueType.INT64:
        return _narrow((await this.#take(8, `'${key}'`)).getBigInt64(0, true));
      default:
        throw ggufError(this.#name, `'${key}' has unknown metadata value type ${type}`);
    }
  }

  async tensorInfo(index: number): Promise<GgufTensorInfo> {
    const name = await this.string(`name of tensor #${index}`);
    const nDims = await this.u32(`dimension count of tensor '${name}'`);
    if (nDims < 1 || nDims > _MAX_DIMS) {
      throw ggufError(this.#name, `tensor '${name}' has ${nDims} dimensions (1 to ${_MAX_DIMS} allowed)`);
    }
    const dims: number[] = [];
    let elements = 1;
    for (let d = 0; d < nDims; d++) {
      const dim = await this.u64(`dimension ${d} of tensor '${name}'`);
      dims.push(dim);
      elements *= dim;
    }
    if (!Number.isSafeInteger(elements)) {
      throw ggufError(this.#name, `tensor '${name}' has too many elements`);
    }
    const typeId = await this.u32(`type of tensor '${name}'`);
    const type = GGML_TYPES.get(typeId);
    if (type === undefined) {
      throw ggufError(this.#name, `tensor '${name}' has ggml type ${typeId}, which cortex does not support`);
    }
    if (dims[0] % type.blockElements !== 0) {
      throw ggufError(
        this.#name,
        `tensor '${name}' (${type.name}) has rows of ${
          dims[0]
        } elements, not a multiple of its block of ${type.blockElements}`,
      );
    }
    const offset = await this.u64(`data offset of tensor '${name}'`);
    const bytes = (elements / type.blockElements) * type.blockBytes;
    return { name, dims, typeId, type: type.name, offset, bytes };
  }
}

function _narrow(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function _minBytes(type: number, name: string, key: string): number {
  switch (type) {
    case GgufValueType.UINT8:
    case GgufValueType.INT8:
    case GgufValueType.BOOL:
      return 1;
    case GgufValueType.UINT16:
    case GgufValueType.INT16:
      return 2;
    case GgufValueType.UINT32:
    case GgufValueType.INT32:
    case GgufValueType.FLOAT32:
      return 4;
    case GgufValueType.UINT64:
    case GgufValueType.INT64:
    case GgufValueType.FLOAT64:
    case GgufValueType.STRING:
      return 8;
    case GgufValueType.ARRAY:
      return 12;
    default:
      throw ggufError(name, `array '${key}' has unknown item type ${type}`);
  }
}
