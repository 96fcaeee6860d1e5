/**
 * Stop / finish reason mapping between the three dialects: chat-completions
 * `finish_reason`, Anthropic `stop_reason` and Responses `status` + `incomplete_details`.
 *
 * @module
 */
import type { AnthropicStopReason } from "../anthropic/response.ts";
import type { ChatFinishReason } from "../openai/chat_response.ts";
import type { ResponsesResponse } from "../responses/response.ts";

/** Extra facts about the end of a turn that refine the mapping. */
export interface StopContext {
  /** At least one complete tool call was made. */
  hasToolCalls?: boolean;
  /** The stop string that ended generation (vLLM-style `stop_reason` on the choice), if any. */
  matchedStopSequence?: string | null;
}

/**
 * Chat finish reason → Anthropic stop reason. A turn with complete tool calls is always
 * `tool_use` (whatever the upstream said); `stop` on a matched stop string is
 * `stop_sequence`; `length` → `max_tokens`; `content_filter` → `refusal`; a missing
 * reason → `end_turn`.
 */
export function chatFinishToAnthropicStop(
  finish: ChatFinishReason | null | undefined,
  context: StopContext = {},
): AnthropicStopReason {
  if (context.hasToolCalls) return "tool_use";
  switch (finish) {
    case "length":
      return "max_tokens";
    case "content_filter":
      return "refusal";
    case "stop":
      return context.matchedStopSequence ? "stop_sequence" : "end_turn";
    default:
      return "end_turn";
  }
}

/** Anthropic stop reason → chat finish reason. */
export function anthropicStopToChatFinish(stop: AnthropicStopReason | null | undefined): ChatFinishReason {
  switch (stop) {
    case "max_tokens":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    default:
      return "stop";
  }
}

/** The Responses status and incomplete details a chat finish reason implies. */
export function chatFinishToResponsesStatus(
  finish: ChatFinishReason | null | undefined,
): Pick<ResponsesResponse, "status" | "incomplete_details"> {
  if (finish === "length") {
    return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
  }
  if (finish === "content_filter") {
    return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
  }
  return { status: "completed", incomplete_details: null };
}

/** Responses status (and incomplete reason) → chat finish reason. */
export function responsesStatusToChatFinish(
  response: Pick<ResponsesResponse, "status" | "incomplete_details" | "output">,
): ChatFinishReason {
  if (response.status === "incomplete") {
    return response.incomplete_details?.reason === "content_filter" ? "content_filter" : "length";
  }
  return response.output.some((item) => item.type === "function_call") ? "tool_calls" : "stop";
}
