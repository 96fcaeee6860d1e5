/**
 * Anthropic Messages request → chat-completions request. System prompts merge into one
 * leading system message; tool_use blocks become `tool_calls`, tool_result blocks become
 * `tool` messages (emitted before the rest of their message), images become `image_url`
 * parts, thinking becomes `reasoning_content`, `stop_sequences` becomes `stop` and the
 * thinking config (`enabled` or `adaptive` → on, `disabled` → off) becomes
 * `chat_template_kwargs.enable_thinking`; `defer_loading` tools are offered like any other.
 *
 * @module
 */
import type {
  AnthropicContentBlock,
  AnthropicImageBlock,
  AnthropicTextBlock,
  AnthropicThinkingBlock,
  AnthropicToolResultBlock,
  AnthropicToolUseBlock,
} from "../anthropic/content.ts";
import {
  type AnthropicTool,
  type AnthropicToolChoice,
  type CountTokensRequest,
  isCustomTool,
  type MessagesRequest,
} from "../anthropic/request.ts";
import type { ChatContentPart, ChatMessage, ChatToolCall } from "../openai/chat_message.ts";
import type { ChatCompletionRequest, ChatFunctionTool, ChatToolChoice } from "../openai/chat_request.ts";

/** Flattens an Anthropic system prompt (string or text blocks) to text; blocks are joined by `\n`. */
export function anthropicSystemText(system: MessagesRequest["system"] | AnthropicContentBlock[]): string {
  if (system === undefined) return "";
  if (typeof system === "string") return system;
  const blocks = system as AnthropicContentBlock[];
  const texts = blocks.filter((b): b is AnthropicTextBlock => b.type === "text").map((b) => b.text);
  return texts.length > 0 || system.length === 0 ? texts.join("\n") : JSON.stringify(system);
}

/** An Anthropic image block as a chat `image_url` part, or null for unsupported sources. */
export function anthropicImageToPart(block: AnthropicImageBlock): ChatContentPart | null {
  const source = block.source as Record<string, unknown>;
  if (source.type === "base64" && typeof source.data === "string") {
    const mediaType = typeof source.media_type === "string" ? source.media_type : "image/png";
    return { type: "image_url", image_url: { url: `data:${mediaType};base64,${source.data}` } };
  }
  if (source.type === "url" && typeof source.url === "string") {
    return { type: "image_url", image_url: { url: source.url } };
  }
  return null;
}

function _toolResultContent(block: AnthropicToolResultBlock): string | ChatContentPart[] {
  const content = block.content;
  if (content === undefined) return "";
  if (typeof content === "string") return content;
  const parts: ChatContentPart[] = [];
  for (const inner of content) {
    if (inner.type === "text") parts.push({ type: "text", text: (inner as AnthropicTextBlock).text });
    else if (inner.type === "image") {
      const part = anthropicImageToPart(inner as AnthropicImageBlock);
      if (part) parts.push(part);
    } else parts.push({ type: "text", text: JSON.stringify(inner) });
  }
  if (parts.every((p) => p.type === "text")) return parts.map((p) => (p as { text: string }).text).join("");
  return parts;
}

function _translateMessage(
  role: "user" | "assistant",
  content: string | AnthropicContentBlock[],
): ChatMessage[] {
  if (typeof content === "string") {
    return [role === "user" ? { role, content } : { role, content }];
  }
  const out: ChatMessage[] = [];
  const parts: ChatContentPart[] = [];
  const toolCalls: ChatToolCall[] = [];
  let reasoning = "";
  for (const block of content) {
    switch (block.type) {
      case "text":
        parts.push({ type: "text", text: (block as AnthropicTextBlock).text });
        break;
      case "image": {
        const part = anthropicImageToPart(block as AnthropicImageBlock);
        if (part) parts.push(part);
        break;
      }
      case "tool_use": {
        const use = block as AnthropicToolUseBlock;
        toolCalls.push({
          id: use.id,
          type: "function",
          function: { name: use.name, arguments: JSON.stringify(use.input ?? {}) },
        });
        break;
      }
      case "tool_result": {
        const result = block as AnthropicToolResultBlock;
        const message: ChatMessage & Record<string, unknown> = {
          role: "tool",
          tool_call_id: result.tool_use_id,
          content: _toolResultContent(result),
        };
        // Chat has no error flag; keep it as an extension the neuron's template may render.
        if (result.is_error) message.is_error = true;
        out.push(message);
        break;
      }
      case "thinking":
        reasoning += (block as AnthropicThinkingBlock).thinking;
        break;
      case "redacted_thinking":
        break;
      default:
        // Unknown block kinds (e.g. `document`) travel as raw parts rather than vanish.
        parts.push(block as ChatContentPart);
    }
  }
  const onlyText = parts.every((p) => p.type === "text");
  const contentValue: string | ChatContentPart[] = parts.length === 1 && onlyText
    ? (parts[0] as { text: string }).text
    : parts;
  if (role === "assistant") {
    if (parts.length > 0 || toolCalls.length > 0 || reasoning.length > 0) {
      const message: ChatMessage = {
        role: "assistant",
        content: parts.length === 0 ? (toolCalls.length > 0 ? null : "") : contentValue,
      };
      if (toolCalls.length > 0) message.tool_calls = toolCalls;
      if (reasoning.length > 0) message.reasoning_content = reasoning;
      out.push(message);
    }
  } else if (parts.length > 0) {
    out.push({ role: "user", content: contentValue });
  }
  return out;
}

/**
 * Anthropic tools → chat function tools (server tools, which cortex cannot run, are dropped —
 * the tool search tool among them). A client tool with `defer_loading: true` is offered like
 * any other: without a tool search to find it later, the model must see it from the start.
 */
export function anthropicToolsToChat(tools: AnthropicTool[] | undefined): ChatFunctionTool[] | undefined {
  if (!tools) return undefined;
  const out: ChatFunctionTool[] = [];
  for (const tool of tools) {
    const raw = tool as Record<string, unknown>;
    if (raw.type === "function" && raw.function && typeof raw.function === "object") {
      out.push(raw as unknown as ChatFunctionTool);
    } else if (isCustomTool(tool)) {
      const fn: ChatFunctionTool["function"] = {
        name: tool.name,
        parameters: tool.input_schema ?? { type: "object" },
      };
      if (tool.description !== undefined) fn.description = tool.description;
      out.push({ type: "function", function: fn });
    }
  }
  return out;
}

/** Anthropic tool choice → chat tool choice. */
export function anthropicToolChoiceToChat(choice: AnthropicToolChoice): ChatToolChoice {
  switch (choice.type) {
    case "any":
      return "required";
    case "none":
      return "none";
    case "tool":
      return { type: "function", function: { name: choice.name } };
    default:
      return "auto";
  }
}

function _messages(request: MessagesRequest | CountTokensRequest): ChatMessage[] {
  const systemParts: string[] = [];
  const systemText = anthropicSystemText(request.system);
  if (systemText.length > 0) systemParts.push(systemText);
  const messages: ChatMessage[] = [];
  for (const message of request.messages) {
    if (message.role === "system") {
      const text = typeof message.content === "string"
        ? message.content
        : anthropicSystemText(message.content);
      if (text.length > 0) systemParts.push(text);
      continue;
    }
    messages.push(..._translateMessage(message.role, message.content));
  }
  if (systemParts.length > 0) messages.unshift({ role: "system", content: systemParts.join("\n\n") });
  return messages;
}

const _passThrough = [
  "seed",
  "min_p",
  "repetition_penalty",
  "presence_penalty",
  "frequency_penalty",
] as const;

/**
 * Anthropic Messages request → chat-completions request (pure). Streaming requests ask
 * for the usage chunk and the prompt count on the first chunk
 * (`stream_options.include_usage`, `include_prompt_usage`).
 *
 * @example
 * ```ts
 * import { anthropicToChatRequest } from "@cortex/core/translate";
 * const chat = anthropicToChatRequest({
 *   model: "m",
 *   max_tokens: 100,
 *   system: "Be brief.",
 *   messages: [{ role: "user", content: "hi" }],
 * });
 * chat.messages; // [{role: "system", content: "Be brief."}, {role: "user", content: "hi"}]
 * ```
 */
export function anthropicToChatRequest(request: MessagesRequest): ChatCompletionRequest {
  const chat: ChatCompletionRequest = {
    model: request.model,
    messages: _messages(request),
    max_tokens: request.max_tokens,
  };
  const tools = anthropicToolsToChat(request.tools);
  if (tools && tools.length > 0) chat.tools = tools;
  if (request.tool_choice) {
    chat.tool_choice = anthropicToolChoiceToChat(request.tool_choice);
    if ("disable_parallel_tool_use" in request.tool_choice && request.tool_choice.disable_parallel_tool_use) {
      chat.parallel_tool_calls = false;
    }
  }
  if (request.stop_sequences && request.stop_sequences.length > 0) chat.stop = [...request.stop_sequences];
  if (request.temperature !== undefined) chat.temperature = request.temperature;
  if (request.top_p !== undefined) chat.top_p = request.top_p;
  if (request.top_k !== undefined) chat.top_k = request.top_k;
  if (request.stream) {
    chat.stream = true;
    // The prompt count on the first chunk lets message_start report input_tokens.
    chat.stream_options = { include_usage: true, include_prompt_usage: true };
  }
  const kwargs: Record<string, unknown> = {
    ...(request.chat_template_kwargs as Record<string, unknown> ?? {}),
  };
  // `adaptive` leaves the amount of thinking to the model: the template opens thinking, the model decides.
  if (request.thinking?.type === "enabled" || request.thinking?.type === "adaptive") {
    kwargs.enable_thinking = true;
  } else if (request.thinking?.type === "disabled") kwargs.enable_thinking = false;
  if (Object.keys(kwargs).length > 0) chat.chat_template_kwargs = kwargs;
  if (request.metadata?.user_id) chat.user = request.metadata.user_id;
  for (const key of _passThrough) if (typeof request[key] === "number") chat[key] = request[key];
  return chat;
}

/**
 * The chat messages (and tools) an Anthropic count_tokens request renders to — what a
 * neuron's `/tokenize` needs to count it exactly.
 */
export function anthropicCountTokensToChat(
  request: CountTokensRequest,
): { model: string; messages: ChatMessage[]; tools?: ChatFunctionTool[] } {
  const out: { model: string; messages: ChatMessage[]; tools?: ChatFunctionTool[] } = {
    model: request.model,
    messages: _messages(request),
  };
  const tools = anthropicToolsToChat(request.tools);
  if (tools && tools.length > 0) out.tools = tools;
  return out;
}
