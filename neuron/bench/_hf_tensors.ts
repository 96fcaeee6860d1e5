/**
 * Reading a bench checkpoint's safetensors for the GGUF converters (qwen3_gguf.ts,
 * qwen3next_gguf.ts): the header's entries, and F32 / BF16 / F16 bytes converted to F32 or BF16 as
 * llama.cpp's converter rounds them.
 * @module
 */

/** A tensor of a safetensors file: dtype, shape and its byte range after the header. */
export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** Reads `path`'s header: its tensors and where their data starts. */
export async function readSafetensorsHeader(
  path: string,
): Promise<{ entries: Map<string, SafetensorsEntry>; data: number }> {
  const file = await Deno.open(path, { read: true });
  try {
    const prefix = new Uint8Array(8);
    if ((await file.read(prefix)) !== 8) throw new Error(`${path}: truncated safetensors header`);
    const length = Number(new DataView(prefix.buffer).getBigUint64(0, true));
    const json = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const read = await file.read(json.subarray(filled));
      if (read === null) throw new Error(`${path}: truncated safetensors header`);
      filled += read;
    }
    const header = JSON.parse(new TextDecoder().decode(json)) as Record<string, unknown>;
    const entries = new Map<string, SafetensorsEntry>();
    for (const [name, value] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      const v = value as { dtype: string; shape: number[]; data_offsets: [number, number] };
      entries.set(name, { dtype: v.dtype, shape: v.shape, begin: v.data_offsets[0], end: v.data_offsets[1] });
    }
    return { entries, data: 8 + length };
  } finally {
    file.close();
  }
}

export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** f32 bits → bf16 bits, rounding to nearest even and keeping NaNs NaN (as llama.cpp's converter does). */
export function f32BitsToBf16(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 64) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Converts one chunk of `source`-typed values to `target` ("F32" | "BF16") bytes. */
export function convert(chunk: Uint8Array, source: string, target: "F32" | "BF16"): Uint8Array {
  if (source === target) return chunk;
  const count = chunk.length / (source === "F32" ? 4 : 2);
  const input = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const bits = new Uint32Array(count);
  const scratch = new Float32Array(1);
  const scratchBits = new Uint32Array(scratch.buffer);
  for (let i = 0; i < count; i++) {
    if (source === "F32") bits[i] = input.getUint32(i * 4, true);
    else if (source === "BF16") bits[i] = input.getUint16(i * 2, true) << 16 >>> 0;
    else {
      scratch[0] = f16ToF32(input.getUint16(i * 2, true));
      bits[i] = scratchBits[0];
    }
  }
  if (target === "F32") return new Uint8Array(bits.buffer);
  const out = new Uint16Array(count);
  for (let i = 0; i < count; i++) out[i] = f32BitsToBf16(bits[i]);
  return new Uint8Array(out.buffer);
}

/** Reads exactly `bytes` bytes of `file` at `position`; `what` names the tensor in the error for a short file. */
export async function readExactly(
  file: Deno.FsFile,
  position: number,
  bytes: number,
  what: string,
): Promise<Uint8Array> {
  await file.seek(position, Deno.SeekMode.Start);
  const out = new Uint8Array(bytes);
  for (let filled = 0; filled < bytes;) {
    const got = await file.read(out.subarray(filled));
    if (got === null) throw new Error(`tensor ${what} ends past the end of the file`);
    filled += got;
  }
  return out;
}

/**
 * Streams one tensor of a safetensors file (data starting at `dataStart`) to `write` as `target`
 * bytes, 2^21 elements at a time; with `map` (F32 targets), each value is transformed on the way.
 */
export async function streamEntry(
  file: Deno.FsFile,
  dataStart: number,
  entry: SafetensorsEntry,
  target: "F32" | "BF16",
  write: (bytes: Uint8Array) => Promise<void>,
  what: string,
  map?: (x: number) => number,
): Promise<void> {
  const chunk = (entry.dtype === "F32" ? 4 : 2) * 2 ** 21;
  for (let at = entry.begin; at < entry.end; at += chunk) {
    const bytes = convert(
      await readExactly(file, dataStart + at, Math.min(chunk, entry.end - at), what),
      entry.dtype,
      target,
    );
    if (map) {
      const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).map(map);
      await write(new Uint8Array(values.buffer));
    } else await write(bytes);
  }
}
