// Private to the scheduler: its requests' failures as CortexErrors a route can answer with.
import { CortexError } from "@cortex/core/errors";

/** A prompt that leaves no room to generate. */
export function _contextError(promptTokens: number, context: number): CortexError {
  return new CortexError(
    `this model's maximum context length is ${context} tokens and at least one must be left to generate; ` +
      `the prompt has ${promptTokens} tokens`,
    {
      code: "context_length_exceeded",
      status: 400,
      param: "messages",
      extras: { prompt_tokens: promptTokens, max: context - 1 },
    },
  );
}

/** An engine failure: a device fault (503), no free KV slot (429), anything else (500). */
export function _engineError(error: unknown): CortexError {
  if (error instanceof CortexError) return error;
  const code = (error as { code?: string })?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "device_poisoned") {
    return new CortexError(`device fault: ${message}`, { code: "backend_unavailable", status: 503 });
  }
  if (code === "out_of_memory") {
    return new CortexError(`no free KV slot: ${message}`, {
      code: "rate_limit_exceeded",
      status: 429,
      retryAfter: 1,
    });
  }
  return new CortexError(`engine error: ${message}`, { code: "internal_error", status: 500 });
}
