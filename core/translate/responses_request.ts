/**
 * OpenAI Responses request → chat-completions request: instructions become a leading
 * system message, input items become messages (function calls merge into the assistant
 * turn, outputs become tool messages, reasoning items become `reasoning_content`; an empty
 * assistant message — Codex echoes one between a call and its output — is dropped), tools
 * as `responses_tools.ts` says, `max_output_tokens` → `max_tokens`.
 *
 * @module
 */
import { CortexError } from "../errors/cortex_error.ts";
import type { ChatAssistantMessage, ChatContentPart, ChatMessage } from "../openai/chat_message.ts";
import type { ChatCompletionRequest, ChatFunctionTool, ChatResponseFormat } from "../openai/chat_request.ts";
import type {
  ResponsesFunctionCallItem,
  ResponsesFunctionCallOutputItem,
  ResponsesInputPart,
  ResponsesMessageItem,
  ResponsesReasoningItem,
  ResponsesRequest,
  ResponsesToolChoice,
} from "../responses/request.ts";
import {
  qualifiedToolName,
  responsesToolChoiceToChat,
  ResponsesToolNames,
  responsesToolsToChat,
} from "./responses_tools.ts";

function _parts(content: string | ResponsesInputPart[] | null): string | ChatContentPart[] {
  if (content === null) return "";
  if (typeof content === "string") return content;
  const parts: ChatContentPart[] = [];
  for (const part of content) {
    const raw = part as Record<string, unknown>;
    if ((part.type === "input_text" || part.type === "output_text") && typeof raw.text === "string") {
      parts.push({ type: "text", text: raw.text });
    } else if (part.type === "refusal" && typeof raw.refusal === "string") {
      parts.push({ type: "text", text: raw.refusal });
    } else if (part.type === "input_image" && typeof raw.image_url === "string") {
      const image: { url: string; detail?: string } = { url: raw.image_url };
      if (typeof raw.detail === "string") image.detail = raw.detail;
      parts.push({ type: "image_url", image_url: image });
    }
    // Unknown part kinds (files, audio) are dropped: the chat side cannot carry them.
  }
  if (parts.length === 1 && parts[0].type === "text") return (parts[0] as { text: string }).text;
  if (parts.length === 0) return "";
  return parts;
}

function _outputText(output: unknown): string {
  if (typeof output === "string") return output;
  if (Array.isArray(output)) {
    const texts = output.filter((p) => p && typeof p === "object" && typeof p.text === "string").map((p) =>
      p.text
    );
    if (texts.length === output.length) return texts.join("");
  }
  return JSON.stringify(output ?? null);
}

/**
 * `{type: "allowed_tools", mode, tools}`: only the listed function tools may be called — the
 * offered tools narrowed to them, with `mode` ("auto" or "required") as the choice; null for any
 * other tool_choice. A listed name that is not offered is a 400 naming it.
 */
function _allowedTools(
  choice: ResponsesToolChoice,
  tools: ChatFunctionTool[],
): { tools: ChatFunctionTool[]; mode: "auto" | "required" } | null {
  if (typeof choice !== "object" || choice.type !== "allowed_tools") return null;
  const bad = (message: string) =>
    new CortexError(message, { code: "invalid_request_body", status: 400, param: "tool_choice" });
  const mode = choice.mode ?? "auto";
  if (mode !== "auto" && mode !== "required") {
    throw bad(`tool_choice.mode must be "auto" or "required", got ${JSON.stringify(mode)}`);
  }
  const listed = Array.isArray(choice.tools)
    ? choice.tools as { type?: unknown; name?: unknown; namespace?: unknown }[]
    : null;
  if (!listed || listed.length === 0) throw bad("tool_choice.tools must list at least one tool");
  const names = listed.map((tool, i) => {
    if (tool.type !== "function" || typeof tool.name !== "string") {
      throw bad(
        `tool_choice.tools[${i}] must be a function tool with a name (got type ${JSON.stringify(tool.type)})`,
      );
    }
    const name = typeof tool.namespace === "string"
      ? qualifiedToolName(tool.namespace, tool.name)
      : tool.name;
    if (!tools.some((t) => t.function.name === name)) {
      throw bad(`tool_choice.tools[${i}] names '${name}', which is not in tools`);
    }
    return name;
  });
  return { tools: tools.filter((t) => names.includes(t.function.name)), mode };
}

// An assistant message that says nothing: no text in any part.
function _isEmpty(content: string | ChatContentPart[]): boolean {
  if (typeof content === "string") return content.length === 0;
  return content.every((part) => part.type === "text" && (part as { text: string }).text.length === 0);
}

function _messages(request: ResponsesRequest): ChatMessage[] {
  const messages: ChatMessage[] = [];
  const names = new ResponsesToolNames(request.tools);
  if (request.instructions) messages.push({ role: "system", content: request.instructions });
  if (typeof request.input === "string") {
    messages.push({ role: "user", content: request.input });
    return messages;
  }
  let pendingReasoning = "";
  const assistantTurn = (): ChatAssistantMessage => {
    const last = messages[messages.length - 1];
    if (last && last.role === "assistant") return last;
    const created: ChatAssistantMessage = { role: "assistant", content: null };
    messages.push(created);
    return created;
  };
  const takeReasoning = (message: ChatAssistantMessage) => {
    if (pendingReasoning.length === 0) return;
    message.reasoning_content = (message.reasoning_content ?? "") + pendingReasoning;
    pendingReasoning = "";
  };
  for (const item of request.input) {
    const type = item.type ?? "message";
    if (type === "message") {
      const message = item as ResponsesMessageItem;
      const content = _parts(message.content);
      if (message.role === "assistant") {
        // An echoed empty message would split a call from its output (or add an empty turn).
        if (_isEmpty(content)) continue;
        const turn: ChatAssistantMessage = { role: "assistant", content };
        takeReasoning(turn);
        messages.push(turn);
      } else if (message.role === "user") messages.push({ role: "user", content });
      else messages.push({ role: "system", content });
    } else if (type === "function_call") {
      const call = item as ResponsesFunctionCallItem;
      const turn = assistantTurn();
      takeReasoning(turn);
      (turn.tool_calls ??= []).push({
        id: call.call_id,
        type: "function",
        function: { name: names.qualify(call.name, call.namespace), arguments: call.arguments },
      });
    } else if (type === "function_call_output") {
      const output = item as ResponsesFunctionCallOutputItem;
      messages.push({ role: "tool", tool_call_id: output.call_id, content: _outputText(output.output) });
    } else if (type === "reasoning") {
      const reasoning = item as ResponsesReasoningItem;
      const texts = [...(reasoning.summary ?? []), ...(reasoning.content ?? [])].map((p) => p.text);
      pendingReasoning += texts.join("\n");
    }
    // Other item kinds (item references, hosted-tool calls) are dropped, never rejected.
  }
  return messages;
}

function _responseFormat(text: unknown): ChatResponseFormat | undefined {
  if (!text || typeof text !== "object") return undefined;
  const format = (text as { format?: Record<string, unknown> }).format;
  if (!format || typeof format.type !== "string") return undefined;
  if (format.type === "json_object") return { type: "json_object" };
  if (format.type === "json_schema" && typeof format.name === "string") {
    const schema: { name: string; schema?: Record<string, unknown>; strict?: boolean; description?: string } =
      {
        name: format.name,
      };
    if (format.schema && typeof format.schema === "object") {
      schema.schema = format.schema as Record<string, unknown>;
    }
    if (typeof format.strict === "boolean") schema.strict = format.strict;
    if (typeof format.description === "string") schema.description = format.description;
    return { type: "json_schema", json_schema: schema };
  }
  return undefined;
}

/**
 * Responses request → chat-completions request (pure).
 *
 * @throws {CortexError} 400 `chained_conversation_not_supported` when `previous_response_id`
 * is set: cortex stores no responses.
 *
 * @example
 * ```ts
 * import { responsesToChatRequest } from "@cortex/core/translate";
 * const chat = responsesToChatRequest({ model: "m", instructions: "Be brief.", input: "hi" });
 * chat.messages; // [{role: "system", content: "Be brief."}, {role: "user", content: "hi"}]
 * ```
 */
export function responsesToChatRequest(request: ResponsesRequest): ChatCompletionRequest {
  if (request.previous_response_id) {
    throw new CortexError(
      "previous_response_id is not supported: cortex stores no responses; send the whole conversation in `input`",
      { code: "chained_conversation_not_supported", status: 400, param: "previous_response_id" },
    );
  }
  const chat: ChatCompletionRequest = { model: request.model, messages: _messages(request) };
  let tools = responsesToolsToChat(request.tools);
  if (request.tool_choice) {
    const allowed = _allowedTools(request.tool_choice, tools);
    if (allowed) [tools, chat.tool_choice] = [allowed.tools, allowed.mode];
    else {
      const choice = responsesToolChoiceToChat(request.tool_choice);
      if (choice === undefined) {
        const type = typeof request.tool_choice === "object" ? request.tool_choice.type : request.tool_choice;
        throw new CortexError(`tool_choice of type '${type}' is not supported (function tools only)`, {
          code: "invalid_request_body",
          status: 400,
          param: "tool_choice",
        });
      }
      chat.tool_choice = choice;
    }
  }
  if (tools.length > 0) chat.tools = tools;
  if (typeof request.parallel_tool_calls === "boolean") {
    chat.parallel_tool_calls = request.parallel_tool_calls;
  }
  if (typeof request.max_output_tokens === "number") chat.max_tokens = request.max_output_tokens;
  for (const key of ["temperature", "top_p", "top_k", "seed"] as const) {
    if (typeof request[key] === "number") chat[key] = request[key];
  }
  if (request.stream) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  const effort = request.reasoning?.effort;
  if (typeof effort === "string") {
    chat.reasoning_effort = effort;
    chat.chat_template_kwargs = { enable_thinking: effort !== "none" && effort !== "minimal" };
  }
  const format = _responseFormat(request.text);
  if (format) chat.response_format = format;
  if (request.user) chat.user = request.user;
  if (request.metadata) chat.metadata = request.metadata;
  return chat;
}

/**
 * An error about the chat request a Responses request was translated to, in the Responses
 * request's terms: `param` `messages…` → `input`, `max_tokens` / `max_completion_tokens` →
 * `max_output_tokens`, `tools[i].function…` → `tools` (indices differ once namespaces are
 * flattened). Other errors are returned as they are.
 *
 * @example
 * ```ts
 * import { CortexError } from "@cortex/core/errors";
 * import { chatErrorToResponses } from "@cortex/core/translate";
 * const tooLong = new CortexError("prompt too long", { code: "context_length_exceeded", status: 400, param: "messages" });
 * chatErrorToResponses(tooLong).param; // "input"
 * ```
 */
export function chatErrorToResponses(error: CortexError): CortexError {
  const param = error.param;
  if (param === null) return error;
  const renamed = /^messages(\[|\.|$)/.test(param)
    ? "input"
    : param === "max_tokens" || param === "max_completion_tokens"
    ? "max_output_tokens"
    : /^tools\[\d+\]\.function/.test(param)
    ? "tools"
    : param;
  if (renamed === param) return error;
  return new CortexError(error.message, {
    code: error.code,
    status: error.status,
    param: renamed,
    retryAfter: error.retryAfter,
    type: error.type,
    extras: error.extras,
    cause: error,
  });
}
