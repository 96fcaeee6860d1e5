/**
 * Reading a client's JSON request body under the size limit: `413 request_too_large` past
 * the limit (checked on `content-length` first, then while reading), `400 malformed_json`
 * for text that is not JSON, `400 invalid_request_body` for JSON that is not an object.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";

/** A parsed request body. */
export interface JsonBody {
  /** The body as sent. */
  bytes: Uint8Array<ArrayBuffer>;
  /** The parsed object. */
  json: Record<string, unknown>;
}

/** Reads at most `limitBytes` of the request and parses it as a JSON object. */
export async function readJsonBody(request: Request, limitBytes: number): Promise<JsonBody> {
  const declared = Number(request.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > limitBytes) throw _tooLarge(limitBytes);
  const bytes = await _readLimited(request.body, limitBytes);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new CortexError(`request body is not valid JSON: ${detail}`, {
      code: "malformed_json",
      status: 400,
      cause,
    });
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new CortexError("request body must be a JSON object", {
      code: "invalid_request_body",
      status: 400,
    });
  }
  return { bytes, json: json as Record<string, unknown> };
}

/** The `model` field of a body, or a 400 `missing_model_field` naming it. */
export function requireModel(json: Record<string, unknown>): string {
  const model = json.model;
  if (typeof model !== "string" || model.length === 0) {
    throw new CortexError(
      model === undefined
        ? "the request body has no `model` field"
        : `\`model\` must be a non-empty string, got ${JSON.stringify(model)}`,
      { code: "missing_model_field", status: 400, param: "model" },
    );
  }
  return model;
}

async function _readLimited(
  body: ReadableStream<Uint8Array> | null,
  limitBytes: number,
): Promise<Uint8Array<ArrayBuffer>> {
  if (!body) return new Uint8Array();
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limitBytes) {
      await reader.cancel().catch(() => {});
      throw _tooLarge(limitBytes);
    }
    parts.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

function _tooLarge(limitBytes: number): CortexError {
  return new CortexError(
    `request body is larger than the gateway's limit of ${Math.round(limitBytes / (1024 * 1024))} MB ` +
      "([gateway] body_limit_mb in cortex.toml)",
    { code: "request_too_large", status: 413 },
  );
}
