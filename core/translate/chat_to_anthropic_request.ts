/**
 * Chat-completions request → Anthropic Messages request: the inverse of
 * `anthropicToChatRequest`, so that a conversation survives Anthropic → chat → Anthropic
 * with its system prompt, tool definitions, tool_use/tool_result pairing and images.
 *
 * @module
 */
import type { AnthropicContentBlock, AnthropicImageBlock } from "../anthropic/content.ts";
import type {
  AnthropicMessageParam,
  AnthropicTool,
  AnthropicToolChoice,
  MessagesRequest,
} from "../anthropic/request.ts";
import {
  type ChatAssistantMessage,
  type ChatContentPart,
  chatContentText,
  type ChatMessage,
} from "../openai/chat_message.ts";
import type { ChatCompletionRequest, ChatToolChoice } from "../openai/chat_request.ts";
import { _parseToolArguments } from "./_delta.ts";

/** A chat `image_url` part as an Anthropic image block (data URIs become base64 sources). */
export function chatImagePartToAnthropic(url: string): AnthropicImageBlock {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (match) return { type: "image", source: { type: "base64", media_type: match[1], data: match[2] } };
  return { type: "image", source: { type: "url", url } };
}

function _blocks(content: string | ChatContentPart[] | null | undefined): AnthropicContentBlock[] {
  if (content === null || content === undefined) return [];
  if (typeof content === "string") return content.length > 0 ? [{ type: "text", text: content }] : [];
  return content.map((part): AnthropicContentBlock => {
    if (part.type === "text") return { type: "text", text: String(part.text) };
    if (part.type === "image_url") {
      const image = part.image_url as { url: string };
      return chatImagePartToAnthropic(image.url);
    }
    return part as AnthropicContentBlock;
  });
}

function _content(content: string | ChatContentPart[] | null | undefined): string | AnthropicContentBlock[] {
  return typeof content === "string" ? content : _blocks(content);
}

function _toolChoice(choice: ChatToolChoice): AnthropicToolChoice {
  if (choice === "required") return { type: "any" };
  if (choice === "none") return { type: "none" };
  if (choice === "auto") return { type: "auto" };
  return { type: "tool", name: choice.function.name };
}

/**
 * Chat-completions request → Anthropic Messages request (pure). Consecutive tool
 * messages and a user message right after them become one user turn.
 */
export function chatToAnthropicRequest(request: ChatCompletionRequest): MessagesRequest {
  const system: string[] = [];
  const messages: AnthropicMessageParam[] = [];
  let toolTurn: AnthropicContentBlock[] | null = null;
  for (const message of request.messages as ChatMessage[]) {
    if (message.role === "system" || message.role === "developer") {
      system.push(chatContentText(message.content));
      continue;
    }
    if (message.role === "tool") {
      const raw = message as ChatMessage & { is_error?: unknown };
      const block: AnthropicContentBlock = {
        type: "tool_result",
        tool_use_id: message.tool_call_id,
        content: _content(message.content),
      };
      if (raw.is_error === true) block.is_error = true;
      if (toolTurn) toolTurn.push(block);
      else {
        toolTurn = [block];
        messages.push({ role: "user", content: toolTurn });
      }
      continue;
    }
    if (message.role === "user") {
      if (toolTurn) {
        toolTurn.push(..._blocks(message.content));
        toolTurn = null;
      } else messages.push({ role: "user", content: _content(message.content) });
      continue;
    }
    toolTurn = null;
    const assistant = message as ChatAssistantMessage;
    const blocks: AnthropicContentBlock[] = [];
    if (typeof assistant.reasoning_content === "string" && assistant.reasoning_content.length > 0) {
      blocks.push({ type: "thinking", thinking: assistant.reasoning_content, signature: "" });
    }
    blocks.push(..._blocks(message.content));
    for (const call of assistant.tool_calls ?? []) {
      blocks.push({
        type: "tool_use",
        id: call.id,
        name: call.function.name,
        input: _parseToolArguments(call.function.arguments) ?? {},
      });
    }
    const simple = blocks.length === 1 && blocks[0].type === "text" && typeof message.content === "string";
    messages.push({ role: "assistant", content: simple ? message.content as string : blocks });
  }
  const out: MessagesRequest = {
    model: request.model,
    max_tokens: request.max_completion_tokens ?? request.max_tokens ?? 4096,
    messages,
  };
  if (system.length > 0) out.system = system.join("\n\n");
  if (request.tools && request.tools.length > 0) {
    out.tools = request.tools.map((tool): AnthropicTool => {
      const converted: AnthropicTool = {
        name: tool.function.name,
        input_schema: tool.function.parameters ?? { type: "object" },
      };
      if (tool.function.description !== undefined) converted.description = tool.function.description;
      return converted;
    });
  }
  if (request.tool_choice) out.tool_choice = _toolChoice(request.tool_choice);
  if (request.parallel_tool_calls === false) {
    const choice = out.tool_choice ?? { type: "auto" };
    out.tool_choice = choice.type === "none" ? choice : { ...choice, disable_parallel_tool_use: true };
  }
  const stop = request.stop;
  if (stop) out.stop_sequences = typeof stop === "string" ? [stop] : [...stop];
  if (typeof request.temperature === "number") out.temperature = request.temperature;
  if (typeof request.top_p === "number") out.top_p = request.top_p;
  if (typeof request.top_k === "number") out.top_k = request.top_k;
  if (request.stream) out.stream = true;
  const thinking = request.chat_template_kwargs?.enable_thinking;
  if (thinking === true) out.thinking = { type: "enabled", budget_tokens: 1024 };
  if (thinking === false) out.thinking = { type: "disabled" };
  if (request.user) out.metadata = { user_id: request.user };
  return out;
}
