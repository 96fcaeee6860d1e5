/**
 * Reads the tensor table of a safetensors file (the 8-byte length and the JSON header,
 * never the data), for memory estimates that depend on shapes, such as quantizing at load.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";

/** One tensor of a safetensors file. */
export interface SafetensorsTensor {
  /** Tensor name. */
  name: string;
  /** Stored dtype, e.g. `BF16`. */
  dtype: string;
  /** Shape, outermost first. */
  shape: number[];
}

const _MAX_HEADER = 100 * 2 ** 20;

function _bad(message: string): CortexError {
  return new CortexError(message, { code: "bad_model_folder", status: 422 });
}

/** The tensors of the safetensors file at `path` (metadata entry excluded). */
export async function readSafetensorsTensors(path: string): Promise<SafetensorsTensor[]> {
  const file = await Deno.open(path, { read: true }).catch((error) => {
    throw _bad(`${path}: cannot be read: ${(error as Error).message}`);
  });
  try {
    const size = (await file.stat()).size;
    const prefix = await _readExactly(file, 8, path);
    const length = new DataView(prefix.buffer).getBigUint64(0, true);
    if (length > BigInt(Math.min(_MAX_HEADER, size - 8))) {
      throw _bad(`${path}: safetensors header length ${length} exceeds the file (${size} bytes)`);
    }
    const text = new TextDecoder().decode(await _readExactly(file, Number(length), path));
    let header: Record<string, { dtype?: unknown; shape?: unknown }>;
    try {
      header = JSON.parse(text);
    } catch (error) {
      throw _bad(`${path}: safetensors header is not JSON: ${(error as Error).message}`);
    }
    const tensors: SafetensorsTensor[] = [];
    for (const [name, entry] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      if (
        typeof entry?.dtype !== "string" || !Array.isArray(entry.shape) ||
        !entry.shape.every((d) => Number.isSafeInteger(d) && d >= 0)
      ) {
        throw _bad(`${path}: tensor '${name}' lacks a dtype or a shape`);
      }
      tensors.push({ name, dtype: entry.dtype, shape: entry.shape as number[] });
    }
    return tensors;
  } finally {
    file.close();
  }
}

async function _readExactly(file: Deno.FsFile, n: number, path: string): Promise<Uint8Array<ArrayBuffer>> {
  const out = new Uint8Array(n);
  let filled = 0;
  while (filled < n) {
    const got = await file.read(out.subarray(filled));
    if (got === null) throw _bad(`${path}: truncated safetensors header`);
    filled += got;
  }
  return out;
}
