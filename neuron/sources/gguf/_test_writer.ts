/**
 * A small GGUF writer for tests only: it writes what {@linkcode parseGgufHeader} reads, so
 * random metadata can round-trip and files can be made broken on purpose.
 *
 * @module
 */
import { type GgufMetadataEntry, type GgufValue, GgufValueType } from "./types.ts";

/** A tensor to describe in a test file (its data is zero-filled). */
export interface TestTensor {
  name: string;
  dims: number[];
  typeId: number;
  /** Bytes of data (the caller computes them). */
  bytes: number;
}

/** Serialises a header (and zeroed tensor data) as GGUF v`version`. */
export function writeTestGguf(
  metadata: Map<string, GgufMetadataEntry>,
  tensors: TestTensor[] = [],
  version = 3,
): Uint8Array {
  const out: number[] = [];
  const u32 = (v: number): void => _push(out, 4, (d) => d.setUint32(0, v, true));
  const u64 = (v: number | bigint): void => _push(out, 8, (d) => d.setBigUint64(0, BigInt(v), true));
  const str = (s: string): void => {
    const bytes = new TextEncoder().encode(s);
    u64(bytes.length);
    out.push(...bytes);
  };
  const value = (type: GgufValueType, itemType: GgufValueType | null, v: GgufValue): void => {
    switch (type) {
      case GgufValueType.UINT8:
        return _push(out, 1, (d) => d.setUint8(0, v as number));
      case GgufValueType.INT8:
        return _push(out, 1, (d) => d.setInt8(0, v as number));
      case GgufValueType.UINT16:
        return _push(out, 2, (d) => d.setUint16(0, v as number, true));
      case GgufValueType.INT16:
        return _push(out, 2, (d) => d.setInt16(0, v as number, true));
      case GgufValueType.UINT32:
        return u32(v as number);
      case GgufValueType.INT32:
        return _push(out, 4, (d) => d.setInt32(0, v as number, true));
      case GgufValueType.FLOAT32:
        return _push(out, 4, (d) => d.setFloat32(0, v as number, true));
      case GgufValueType.FLOAT64:
        return _push(out, 8, (d) => d.setFloat64(0, v as number, true));
      case GgufValueType.BOOL:
        return _push(out, 1, (d) => d.setUint8(0, v ? 1 : 0));
      case GgufValueType.STRING:
        return str(v as string);
      case GgufValueType.UINT64:
        return u64(v as number | bigint);
      case GgufValueType.INT64:
        return _push(out, 8, (d) => d.setBigInt64(0, BigInt(v as number | bigint), true));
      case GgufValueType.ARRAY: {
        const items = v as GgufValue[];
        u32(itemType!);
        u64(items.length);
        // nested arrays are written as arrays of strings' item type for simplicity: not used
        for (const item of items) value(itemType!, null, item);
        return;
      }
    }
  };
  out.push(0x47, 0x47, 0x55, 0x46);
  u32(version);
  u64(tensors.length);
  u64(metadata.size);
  for (const [key, entry] of metadata) {
    str(key);
    u32(entry.type);
    value(entry.type, entry.itemType, entry.value);
  }
  const alignment = Number(metadata.get("general.alignment")?.value ?? 32);
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    str(t.name);
    u32(t.dims.length);
    for (const d of t.dims) u64(d);
    u32(t.typeId);
    u64(offset);
    offsets.push(offset);
    offset = Math.ceil((offset + t.bytes) / alignment) * alignment;
  }
  while (out.length % alignment !== 0) out.push(0);
  const header = new Uint8Array(out);
  const file = new Uint8Array(header.length + offset);
  file.set(header);
  return file;
}

function _push(out: number[], n: number, set: (d: DataView) => void): void {
  const d = new DataView(new ArrayBuffer(n));
  set(d);
  out.push(...new Uint8Array(d.buffer));
}
