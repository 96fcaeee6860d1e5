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
import { parseJsonBytes, readBody } from "@cortex/core/http";

/** Largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 32 * 2 ** 20;

/**
 * Reads and validates a JSON body: 415 without a JSON content type, 413 as soon as it passes
 * {@linkcode MAX_BODY_BYTES} (the read stops there), 400 `malformed_json` when not JSON, 400
 * `invalid_request_body` naming the field when the shape is wrong.
 */
export async function readJsonBody<T>(request: Request, schema: Schema<T>): Promise<T> {
  const parsed = parseWithSchema(schema, parseJsonBytes(await readJsonBytes(request)));
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

/**
 * The bytes of a JSON body, unparsed (the prompt routes parse them, off the main thread when
 * large): 415 without a JSON content type, 413 as soon as it passes {@linkcode MAX_BODY_BYTES}.
 */
export async function readJsonBytes(request: Request): Promise<Uint8Array<ArrayBuffer>> {
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
  return await readBody(request, { limitBytes: MAX_BODY_BYTES });
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
