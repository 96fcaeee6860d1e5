/**
 * From a chat request to prompt tokens: tool definitions validated, `enable_thinking`
 * defaulted, the model's chat template rendered, the text tokenised, and the output
 * parsing the prompt implies (does it open a `<think>` block, are tools offered), and the tool
 * policy the engine enforces.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import type { ChatFunctionTool, ChatMessage, ChatToolChoice } from "@cortex/core/openai";
import type { ToolDefinition } from "@cortex/qwen3";
import type { ChatTemplate } from "./chat_template.ts";
import type { OutputParsing } from "./generation.ts";
import type { ModelTokenizer } from "./tokenizer.ts";
import { resolveToolChoice, type ToolChoicePlan } from "./tool_choice.ts";

/** The chat-request fields that shape the prompt. */
export interface ChatPromptRequest {
  /** The conversation. */
  messages: ChatMessage[];
  /** Tools offered. */
  tools?: ChatFunctionTool[] | null;
  /** Tool policy; `none` renders and parses no tools. */
  tool_choice?: ChatToolChoice | null;
  /** Several tool calls per turn (default true). */
  parallel_tool_calls?: boolean | null;
  /** Template variables. */
  chat_template_kwargs?: Record<string, unknown> | null;
}

/** A rendered, tokenised prompt. */
export interface ChatPrompt {
  /** The rendered text. */
  text: string;
  /** Its token ids. */
  tokens: number[];
  /** How to read the output. */
  parsing: OutputParsing;
  /** The tool policy to enforce (checked against the offered tools). */
  toolChoice: ToolChoicePlan;
}

/** What {@linkcode buildChatPrompt} needs of a model. */
export interface PromptModel {
  /** Its tokenizer. */
  tokenizer: ModelTokenizer;
  /** Its chat template. */
  template: ChatTemplate;
  /**
   * Largest prompt accepted in tokens: a prompt whose text alone must exceed it (see
   * {@linkcode checkPromptSize}) is refused before rendering. Absent or null: no early refusal.
   */
  maxPromptTokens?: number | null;
}

/**
 * Headroom of the early refusal: a prompt is refused before rendering only when its text's lower
 * bound is this many times the limit, so normalization (NFC can shrink text a little) never turns
 * a prompt that fits into a refused one. The exact check after tokenizing catches the rest.
 */
const _BOUND_MARGIN = 2;

/**
 * Refuses, with a 400 `context_length_exceeded` naming `param`, text whose length alone proves
 * the prompt too long: `chars` UTF-16 code units are at least that many UTF-8 bytes, and no token
 * stands for more than `tokenizer.maxTokenBytes` bytes, so the prompt holds at least
 * `chars / maxTokenBytes` tokens. Cheap (no rendering, no tokenizing); the vocabulary scan behind
 * `maxTokenBytes` runs only when the text is longer than the limit in characters.
 */
export function checkPromptSize(
  chars: number,
  tokenizer: ModelTokenizer,
  maxPromptTokens: number,
  param: string,
): void {
  if (chars <= maxPromptTokens * _BOUND_MARGIN) return;
  const atLeast = Math.floor(chars / tokenizer.maxTokenBytes);
  if (atLeast <= maxPromptTokens * _BOUND_MARGIN) return;
  throw new CortexError(
    `${param}: the prompt is far longer than the model accepts: ${chars} characters are at least ` +
      `${atLeast} tokens (no token of this model covers more than ${tokenizer.maxTokenBytes} bytes); ` +
      `the maximum prompt length is ${maxPromptTokens} tokens`,
    {
      code: "context_length_exceeded",
      status: 400,
      param,
      extras: { prompt_tokens_at_least: atLeast, max: maxPromptTokens },
    },
  );
}

/**
 * Characters of message text every chat template renders verbatim: the content of system,
 * developer, user and tool messages (assistant turns are left out: templates may drop their
 * reasoning).
 */
export function renderedChars(messages: readonly ChatMessage[]): number {
  let chars = 0;
  for (const message of messages) {
    if (message.role === "assistant") continue;
    const content = (message as { content?: unknown }).content;
    if (typeof content === "string") chars += content.length;
    else if (Array.isArray(content)) {
      for (const part of content) {
        const text = (part as { text?: unknown }).text;
        if (typeof text === "string") chars += text.length;
      }
    }
  }
  return chars;
}

const _TOOL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function _toolError(message: string, param: string): CortexError {
  return new CortexError(message, { code: "invalid_request_body", status: 400, param });
}

/**
 * Checks tool definitions beyond their wire shape: names are 1–64 characters of
 * `[A-Za-z0-9_.-]` and unique, and `parameters` is a JSON Schema object
 * (`type: "object"`, `properties` an object of schemas, `required` naming declared properties).
 */
export function validateTools(tools: readonly ChatFunctionTool[]): void {
  const seen = new Set<string>();
  tools.forEach((tool, i) => {
    const at = `tools[${i}].function`;
    const name = tool.function.name;
    if (!_TOOL_NAME.test(name)) {
      throw _toolError(
        `${at}.name: expected 1-64 characters of [A-Za-z0-9_.-], got ${JSON.stringify(name)}`,
        `${at}.name`,
      );
    }
    if (seen.has(name)) {
      throw _toolError(`${at}.name: duplicate tool name ${JSON.stringify(name)}`, `${at}.name`);
    }
    seen.add(name);
    const schema = tool.function.parameters;
    if (schema === undefined) return;
    if (schema.type !== undefined && schema.type !== "object") {
      throw _toolError(
        `${at}.parameters.type: expected "object", got ${JSON.stringify(schema.type)}`,
        `${at}.parameters.type`,
      );
    }
    const properties = schema.properties;
    if (properties !== undefined) {
      if (properties === null || typeof properties !== "object" || Array.isArray(properties)) {
        throw _toolError(
          `${at}.parameters.properties: expected an object of JSON schemas`,
          `${at}.parameters.properties`,
        );
      }
      for (const [key, value] of Object.entries(properties)) {
        if (value === null || typeof value !== "object" || Array.isArray(value)) {
          throw _toolError(
            `${at}.parameters.properties.${key}: expected a JSON schema object, got ${JSON.stringify(value)}`,
            `${at}.parameters.properties.${key}`,
          );
        }
      }
    }
    const required = schema.required;
    if (required !== undefined) {
      if (!Array.isArray(required) || !required.every((r) => typeof r === "string")) {
        throw _toolError(
          `${at}.parameters.required: expected an array of property names`,
          `${at}.parameters.required`,
        );
      }
      const declared = (properties ?? {}) as Record<string, unknown>;
      const missing = required.find((r) => !(r in declared));
      if (missing !== undefined) {
        throw _toolError(
          `${at}.parameters.required: ${JSON.stringify(missing)} is not declared in properties`,
          `${at}.parameters.required`,
        );
      }
    }
  });
}

/**
 * Renders and tokenises a chat request's prompt, after refusing one whose text alone is far too
 * long for `model.maxPromptTokens` (a 400 naming `promptParam`). With `injectThinking` set and no explicit
 * `chat_template_kwargs.enable_thinking`, `enable_thinking` is set to it (the chat route passes
 * whether the client asked for thinking, so plain OpenAI clients get no hidden reasoning).
 *
 * @example
 * ```ts ignore
 * const prompt = buildChatPrompt(model, { messages: [{ role: "user", content: "hi" }] }, false);
 * prompt.tokens.length; // exact prompt token count
 * ```
 */
export function buildChatPrompt(
  model: PromptModel,
  request: ChatPromptRequest,
  injectThinking: boolean | null,
  promptParam = "messages",
): ChatPrompt {
  if (request.messages.length === 0) {
    throw new CortexError("messages: expected at least one message", {
      code: "invalid_request_body",
      status: 400,
      param: "messages",
    });
  }
  if (model.maxPromptTokens != null) {
    checkPromptSize(renderedChars(request.messages), model.tokenizer, model.maxPromptTokens, promptParam);
  }
  const offered = request.tool_choice === "none" ? [] : request.tools ?? [];
  validateTools(request.tools ?? []);
  const markers = model.tokenizer.markers;
  const toolChoice = resolveToolChoice(request, markers.toolCall);
  const kwargs: Record<string, unknown> = { ...(request.chat_template_kwargs ?? {}) };
  if (injectThinking !== null && !("enable_thinking" in kwargs)) kwargs.enable_thinking = injectThinking;
  const text = model.template.render(request.messages, { tools: offered, kwargs });
  const tokens = model.tokenizer.encode(text);
  const tail = text.slice(Math.max(0, text.lastIndexOf("<|im_start|>")));
  return {
    text,
    tokens,
    parsing: {
      reasoning: markers.reasoning,
      startInThink: markers.reasoning && tail.lastIndexOf("<think>") > tail.lastIndexOf("</think>"),
      tools: offered.length > 0 && markers.toolCall ? (offered as ToolDefinition[]) : null,
      mayOpenThink: markers.reasoning && !tail.includes("<think>") && !tail.includes("</think>"),
    },
    toolChoice,
  };
}
