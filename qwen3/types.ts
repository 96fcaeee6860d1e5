/**
 * The message and tool shapes this package reads: the OpenAI chat-completions shapes, declared
 * locally so the package has no dependencies.
 * @module
 */

/** A JSON-schema fragment, as found in a tool's `parameters`. Only `type`, `properties` and `required` are read. */
export interface JsonSchema {
  /** A JSON-schema type name (`"string"`, `"integer"`, …) or a list of them. */
  type?: string | readonly string[];
  /** Declared object properties, each a schema. */
  properties?: Readonly<Record<string, JsonSchema>>;
  /** Names of the required properties. */
  required?: readonly string[];
  /** Alternative schemas; their `type`s are taken as a union. */
  anyOf?: readonly JsonSchema[];
  /** Alternative schemas; their `type`s are taken as a union. */
  oneOf?: readonly JsonSchema[];
  /** Any other JSON-schema keyword, rendered verbatim into the tools block. */
  [keyword: string]: unknown;
}

/** The `function` part of an OpenAI tool definition. */
export interface FunctionDefinition {
  /** The name the model calls the tool by. */
  name: string;
  /** What the tool does, for the model. */
  description?: string;
  /** A JSON schema (normally `type: "object"`) for the arguments. */
  parameters?: JsonSchema;
  /** Any other field, rendered verbatim into the tools block. */
  [field: string]: unknown;
}

/** An OpenAI tool definition: `{type: "function", function: {name, description?, parameters?}}`. */
export interface ToolDefinition {
  /** Always `"function"`. */
  type: "function";
  /** The function's signature. */
  function: FunctionDefinition;
}

/** A tool call made by the assistant, in the OpenAI shape or the bare `{name, arguments}` shape. */
export interface AssistantToolCall {
  /** The call id (not rendered: Qwen3's template has no place for it). */
  id?: string;
  /** Always `"function"` when present. */
  type?: "function";
  /** The called function; `arguments` is a JSON string (OpenAI) or an already parsed object. */
  function?: { name: string; arguments?: string | Readonly<Record<string, unknown>> };
  /** Bare-shape name, used when `function` is absent. */
  name?: string;
  /** Bare-shape arguments, used when `function` is absent. */
  arguments?: string | Readonly<Record<string, unknown>>;
}

/** A system, user or tool message. `null` content renders as the empty string. */
export interface TextMessage {
  /** Who speaks. `tool` messages are tool results. */
  role: "system" | "user" | "tool";
  /** The message text. */
  content: string | null;
  /** The id of the call a `tool` message answers (not rendered by Qwen3's template). */
  tool_call_id?: string;
}

/** An assistant message, possibly with reasoning and tool calls. */
export interface AssistantMessage {
  /** Always `"assistant"` when present. */
  role?: "assistant";
  /** The visible reply; may itself contain `<think>…</think>` when `reasoning_content` is absent. */
  content?: string | null;
  /** The reasoning text, without `<think>` markers. */
  reasoning_content?: string | null;
  /** The calls the assistant made in this turn. */
  tool_calls?: readonly AssistantToolCall[] | null;
}

/** Any chat message this package renders. */
export type ChatMessage = TextMessage | (AssistantMessage & { role: "assistant" });
