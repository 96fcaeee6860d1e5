/**
 * The client's dialect, and how an error is said in it: the OpenAI envelope (chat
 * completions, Responses, completions, admin), the Anthropic envelope (Messages). Mid-stream
 * errors are the stream guards' (`@cortex/core/translate`).
 *
 * @module
 */
import { type CortexError, errorHeaders, toAnthropicErrorBody, toOpenAIErrorBody } from "@cortex/core/errors";

/** The API a client speaks. */
export type Dialect = "chat" | "completions" | "responses" | "messages" | "count_tokens" | "admin";

/** The dialect implied by a request path. */
export function dialectOfPath(path: string): Dialect {
  if (path.startsWith("/v1/messages/count_tokens")) return "count_tokens";
  if (path.startsWith("/v1/messages")) return "messages";
  if (path.startsWith("/v1/responses")) return "responses";
  if (path.startsWith("/v1/completions")) return "completions";
  if (path.startsWith("/admin")) return "admin";
  return "chat";
}

/** The error as a JSON response in the dialect's envelope, with `Retry-After` when retryable. */
export function errorResponse(dialect: Dialect, error: CortexError, headers: HeadersInit = {}): Response {
  const anthropic = dialect === "messages" || dialect === "count_tokens";
  const body = anthropic ? toAnthropicErrorBody(error) : toOpenAIErrorBody(error);
  const out = new Headers(headers);
  out.set("content-type", "application/json");
  for (const [k, v] of Object.entries(errorHeaders(error))) out.set(k, v);
  return new Response(JSON.stringify(body), { status: error.status, headers: out });
}
