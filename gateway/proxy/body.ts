/**
 * Reading a client's JSON request body under the size limit with core's streaming reader:
 * `413 request_too_large` past the limit (checked on `content-length` first, then while
 * reading), `400 malformed_json` for text that is not JSON, `400 invalid_request_body` for
 * JSON that is not an object.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import { parseJsonBytes, readBody } from "@cortex/core/http";

/** A parsed request body. */
export interface JsonBody {
  /** The body as sent. */
  bytes: Uint8Array<ArrayBuffer>;
  /** The parsed object. */
  json: Record<string, unknown>;
}

/** Where the gateway's body limit is set, named in its 413. */
const _LIMIT_SOURCE = "[gateway] body_limit_mb in cortex.toml";

/** Reads at most `limitBytes` of the request (stopping there) and parses it as a JSON object. */
export async function readJsonBody(request: Request, limitBytes: number): Promise<JsonBody> {
  const bytes = await readBody(request, { limitBytes, limitSource: _LIMIT_SOURCE });
  const json = parseJsonBytes(bytes);
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
