// Private: the messages between the prompt pool and its workers, and how errors and token ids
// cross the thread boundary (errors as plain fields, token ids as a transferred Int32Array).
import { CortexError, type CortexErrorOptions } from "@cortex/core/errors";
import type { PromptJobName } from "./jobs.ts";

/** Where a worker finds a model's assets, and the limits its prompt work needs. */
export interface WorkerModelSource {
  /** Distinguishes loads of the same folder. */
  key: string;
  /** Folder or `.gguf` file. */
  path: string;
  /** Largest prompt accepted in tokens. */
  maxPromptTokens: number;
  /** Vocabulary size. */
  vocabSize: number;
}

/** Pool → worker. */
export type WorkerRequest =
  | { type: "parse"; id: number; name: PromptJobName; bytes: Uint8Array }
  | { type: "build"; id: number; model: WorkerModelSource; options: unknown }
  | { type: "release"; id: number };

/** An error's fields. */
export interface EncodedError extends CortexErrorOptions {
  /** Its message. */
  message: string;
}

/** Worker → pool. */
export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: EncodedError };

/** An error as plain fields (anything not a CortexError becomes a 500 `internal_error`). */
export function encodeError(thrown: unknown): EncodedError {
  const error = thrown instanceof CortexError ? thrown : new CortexError(
    thrown instanceof Error ? thrown.message : String(thrown),
    { code: "internal_error", status: 500 },
  );
  return {
    message: error.message,
    code: error.code,
    status: error.status,
    param: error.param,
    retryAfter: error.retryAfter,
    type: error.type,
    extras: error.extras,
  };
}

/** The CortexError an encoded error stands for. */
export function decodeError(encoded: EncodedError): CortexError {
  const { message, ...options } = encoded;
  return new CortexError(message, options);
}

/** A build result ready to post: its `tokens` as an Int32Array, and the buffers to transfer. */
export function encodeResult(result: unknown): { value: unknown; transfer: Transferable[] } {
  if (result && typeof result === "object" && Array.isArray((result as { tokens?: unknown }).tokens)) {
    const tokens = Int32Array.from((result as { tokens: number[] }).tokens);
    return { value: { ...result, tokens }, transfer: [tokens.buffer] };
  }
  return { value: result, transfer: [] };
}

/** A posted build result back in its usual shape. */
export function decodeResult(value: unknown): unknown {
  if (value && typeof value === "object" && (value as { tokens?: unknown }).tokens instanceof Int32Array) {
    return { ...value, tokens: Array.from((value as { tokens: Int32Array }).tokens) };
  }
  return value;
}
