/**
 * Reading a request body under a size limit, as it streams: bytes are counted chunk by chunk and
 * the read stops — the rest of the body left unread, the stream cancelled — as soon as the count
 * passes the limit. A `content-length` over the limit is refused before any byte is read.
 *
 * @module
 */
import { CortexError } from "../errors/cortex_error.ts";

/** Options of {@linkcode readBody}. */
export interface ReadBodyOptions {
  /** Largest body accepted, in bytes. */
  limitBytes: number;
  /**
   * Where the limit is set, named in the 413 message so the operator knows what to change
   * (e.g. `"[gateway] body_limit_mb in cortex.toml"`); absent: the message names only the size.
   */
  limitSource?: string;
}

/**
 * Reads a request body whole, refusing it with a 413 `request_too_large` as soon as it passes
 * `limitBytes` — by its declared `content-length`, or while streaming (chunked bodies). At most
 * one chunk past the limit is ever read.
 *
 * @example
 * ```ts
 * import { readBody } from "@cortex/core/http";
 * const request = new Request("http://x/", { method: "POST", body: '{"model":"m"}' });
 * const bytes = await readBody(request, { limitBytes: 1024 });
 * bytes.byteLength; // 13
 * ```
 */
export async function readBody(request: Request, options: ReadBodyOptions): Promise<Uint8Array<ArrayBuffer>> {
  const { limitBytes } = options;
  const declared = _declaredLength(request.headers.get("content-length"));
  if (declared !== null && declared > limitBytes) {
    await request.body?.cancel().catch(() => {});
    throw bodyTooLarge(declared, options);
  }
  if (request.body === null) return new Uint8Array();
  const reader = request.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limitBytes) {
      await reader.cancel().catch(() => {});
      throw bodyTooLarge(total, options, true);
    }
    parts.push(value);
  }
  if (parts.length === 1 && parts[0].byteOffset === 0 && parts[0].buffer instanceof ArrayBuffer) {
    return parts[0] as Uint8Array<ArrayBuffer>;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/**
 * Parses body bytes as JSON: a 400 `malformed_json` with the parser's message when they are not.
 *
 * @example
 * ```ts
 * import { parseJsonBytes } from "@cortex/core/http";
 * parseJsonBytes(new TextEncoder().encode('{"a":1}')); // { a: 1 }
 * ```
 */
export function parseJsonBytes(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(_utf8.decode(bytes));
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new CortexError(`request body is not valid JSON: ${detail}`, {
      code: "malformed_json",
      status: 400,
      cause,
    });
  }
}

/** The 413 `request_too_large` for a body of `size` bytes (`atLeast`: the read stopped there). */
export function bodyTooLarge(size: number, options: ReadBodyOptions, atLeast = false): CortexError {
  const where = options.limitSource ? ` (${options.limitSource})` : "";
  return new CortexError(
    `request body is ${
      atLeast ? "more than " : ""
    }${size} bytes; the limit is ${options.limitBytes} bytes${where}`,
    { code: "request_too_large", status: 413, extras: { limit_bytes: options.limitBytes } },
  );
}

const _utf8 = new TextDecoder();

function _declaredLength(header: string | null): number | null {
  if (header === null || !/^\s*\d+\s*$/.test(header)) return null;
  return Number(header);
}
