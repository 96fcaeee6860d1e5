/**
 * Chat-completions response → OpenAI Responses response object. Unlike the original
 * (which kept only the message text), reasoning becomes a reasoning item and tool calls
 * become function_call items (a namespace function's with its `namespace`). Output order:
 * reasoning, message (left out when the turn is only function calls), function calls.
 *
 * @module
 */
import type { ChatCompletion } from "../openai/chat_response.ts";
import { chatContentText } from "../openai/chat_message.ts";
import type {
  ResponsesOutputFunctionCall,
  ResponsesOutputItem,
  ResponsesOutputMessage,
  ResponsesResponse,
  ResponsesStatus,
} from "../responses/response.ts";
import type { ResponsesRequest } from "../responses/request.ts";
import { _messageReasoning } from "./_delta.ts";
import { chatFinishToResponsesStatus } from "./stop_reason.ts";
import { ResponsesToolNames } from "./responses_tools.ts";
import { chatUsageToResponses } from "./usage.ts";

/** Options shared by the Responses translations (streamed and not). */
export interface ResponsesTranslationOptions {
  /** Response id (default: derived from the chat id, `resp_…`). */
  responseId?: string;
  /** `created_at` in unix seconds (default: the chat `created`). */
  createdAt?: number;
  /** Model name to report (default: the upstream's). */
  model?: string;
  /** The original request, whose settings are echoed on the response object. */
  request?: ResponsesRequest;
}

/** Item ids derived from one response: all translations of one chat id agree on them. */
export interface ResponsesItemIds {
  /** `resp_…`. */
  response: string;
  /** `msg_…`. */
  message: string;
  /** The n-th reasoning item id (`rs_…`). */
  reasoning(n: number): string;
  /** The n-th function call item id (`fc_…_n`). */
  functionCall(n: number): string;
}

/** The ids used for the response and its items, derived from the chat id. */
export function responsesItemIds(chatId: string, responseId?: string): ResponsesItemIds {
  const suffix = (chatId.replace(/^(chatcmpl|resp|cmpl)[-_]/, "").replace(/[^A-Za-z0-9]/g, "") || "0").slice(
    -32,
  );
  return {
    response: responseId ?? `resp_${suffix}`,
    message: `msg_${suffix}`,
    reasoning: (n) => (n === 0 ? `rs_${suffix}` : `rs_${suffix}_${n}`),
    functionCall: (n) => `fc_${suffix}_${n}`,
  };
}

/**
 * A function_call output item: the model's function name split back into the client's name
 * and namespace (`namespace` present only for a namespace tool's function).
 */
export function responsesFunctionCallItem(
  names: ResponsesToolNames,
  call: {
    id: string;
    callId: string;
    modelName: string;
    args: string;
    status: ResponsesOutputFunctionCall["status"];
  },
): ResponsesOutputFunctionCall {
  const { name, namespace } = names.split(call.modelName);
  return {
    type: "function_call",
    id: call.id,
    call_id: call.callId,
    name,
    ...(namespace !== undefined ? { namespace } : {}),
    arguments: call.args,
    status: call.status,
  };
}

/** The response object around some output (used for every lifecycle event too). */
export function responsesShell(
  base: { id: string; createdAt: number; model: string; request?: ResponsesRequest },
  status: ResponsesStatus,
  output: ResponsesOutputItem[],
): ResponsesResponse {
  const shell: ResponsesResponse = {
    id: base.id,
    object: "response",
    created_at: base.createdAt,
    status,
    model: base.model,
    output,
    usage: null,
    error: null,
    incomplete_details: null,
  };
  const request = base.request;
  if (request) {
    shell.instructions = request.instructions ?? null;
    shell.max_output_tokens = request.max_output_tokens ?? null;
    shell.parallel_tool_calls = request.parallel_tool_calls ?? true;
    shell.tool_choice = request.tool_choice ?? "auto";
    shell.tools = request.tools ?? [];
    shell.temperature = request.temperature ?? null;
    shell.top_p = request.top_p ?? null;
    shell.metadata = request.metadata ?? {};
  }
  return shell;
}

/**
 * Chat completion → Responses response object (pure). Status is `incomplete` on a
 * `length` or `content_filter` finish.
 *
 * @example
 * ```ts
 * import { chatToResponsesResponse } from "@cortex/core/translate";
 * const response = chatToResponsesResponse({
 *   id: "chatcmpl-1", object: "chat.completion", created: 0, model: "m",
 *   choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "Paris" } }],
 * });
 * response.output[0]; // {type: "message", id: "msg_1", role: "assistant", status: "completed", content: [...]}
 * ```
 */
export function chatToResponsesResponse(
  completion: ChatCompletion,
  options: ResponsesTranslationOptions = {},
): ResponsesResponse {
  const ids = responsesItemIds(completion.id, options.responseId);
  const choice = completion.choices[0];
  const { status, incomplete_details } = chatFinishToResponsesStatus(choice?.finish_reason);
  const output: ResponsesOutputItem[] = [];
  const message = choice?.message;
  const reasoning = _messageReasoning(message);
  if (reasoning.length > 0) {
    output.push({
      type: "reasoning",
      id: ids.reasoning(0),
      summary: [{ type: "summary_text", text: reasoning }],
      status: "completed",
    });
  }
  const names = new ResponsesToolNames(options.request?.tools);
  const calls: ResponsesOutputFunctionCall[] = [];
  for (const call of message?.tool_calls ?? []) {
    if (!call.function.name) continue;
    calls.push(responsesFunctionCallItem(names, {
      id: ids.functionCall(calls.length),
      callId: call.id,
      modelName: call.function.name,
      args: call.function.arguments,
      status: "completed",
    }));
  }
  const text = chatContentText(message?.content);
  // A turn of function calls alone has no message item (Codex would echo an empty one back).
  if (text.length > 0 || calls.length === 0) {
    const messageItem: ResponsesOutputMessage = {
      type: "message",
      id: ids.message,
      role: "assistant",
      status: status === "completed" ? "completed" : "incomplete",
      content: [{ type: "output_text", text, annotations: [] }],
    };
    output.push(messageItem);
  }
  output.push(...calls);
  const response = responsesShell(
    {
      id: ids.response,
      createdAt: options.createdAt ?? completion.created,
      model: options.model ?? completion.model,
      request: options.request,
    },
    status,
    output,
  );
  response.usage = completion.usage ? chatUsageToResponses(completion.usage) : null;
  response.incomplete_details = incomplete_details;
  return response;
}
