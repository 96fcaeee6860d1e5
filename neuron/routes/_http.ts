// Private HTTP helpers of the neuron routes: JSON bodies with precise errors, and errors
// rendered as the OpenAI envelope with their status and Retry-After.
import {
  CortexError,
  errorHeaders,
  parseWithSchema,
  type Schema,
  toCortexError,
  toOpenAIErrorBody,
} from "@cortex/core/errors";

/** Largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 32 * 2 ** 20;

/**
 * Reads and validates a JSON body: 415 without a JSON content type, 413 when too large,
 * 400 `malformed_json` when not JSON, 400 `invalid_request_body` naming the field when the
 * shape is wrong.
 */
export async function readJsonBody<T>(request: Request, schema: Schema<T>): Promise<T> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/(.+\+)?json\b/i.test(type.trim())) {
    throw new CortexError(
      `expected a JSON body (content-type: application/json), got ${JSON.stringify(type || "none")}`,
      {
        code: "unsupported_media_type",
        status: 415,
      },
    );
  }
  const declared = Number(request.headers.get("content-length") ?? 0);
  const tooLarge = (size: number): CortexError =>
    new CortexError(`request body is ${size} bytes; the limit is ${MAX_BODY_BYTES}`, {
      code: "request_too_large",
      status: 413,
    });
  if (declared > MAX_BODY_BYTES) throw tooLarge(declared);
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) throw tooLarge(text.length);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new CortexError(`request body is not valid JSON: ${(error as Error).message}`, {
      code: "malformed_json",
      status: 400,
    });
  }
  const parsed = parseWithSchema(schema, raw);
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

/** An error as an OpenAI-envelope JSON response. */
export function errorResponse(thrown: unknown): Response {
  const error = toCortexError(thrown);
  if (error.status >= 500) console.error(`neuron: ${error.status} ${error.code}: ${error.message}`);
  return Response.json(toOpenAIErrorBody(error), { status: error.status, headers: errorHeaders(error) });
}

/** A short random hex id. */
export function randomHex(bytes = 12): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

/** 400 for an unsupported parameter value. */
export function unsupported(param: string, message: string): CortexError {
  return new CortexError(message, { code: "unsupported_parameter", status: 400, param });
}
