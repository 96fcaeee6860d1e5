/**
 * The client's dialect, implied by the request path, and how an error is said in it: the
 * OpenAI envelope (chat completions, Responses, completions, models, admin) or the Anthropic
 * envelope (Messages, count_tokens). Mid-stream errors are the stream guards'
 * (`@cortex/core/translate`); whole answers go through the app's one error handler
 * (`gateway/error_handler.ts`).
 *
 * @module
 */
import {
  type AnthropicErrorBody,
  type CortexError,
  type OpenAIErrorBody,
  toAnthropicErrorBody,
  toOpenAIErrorBody,
} from "@cortex/core/errors";

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

/** The error's JSON body in the dialect's envelope. */
export function errorBody(dialect: Dialect, error: CortexError): OpenAIErrorBody | AnthropicErrorBody {
  const anthropic = dialect === "messages" || dialect === "count_tokens";
  return anthropic ? toAnthropicErrorBody(error) : toOpenAIErrorBody(error);
}
