/**
 * Prompt rendering: a model's own Jinja chat template (from `chat_template.jinja`,
 * `chat_template.json` or `tokenizer_config.json`) run through `@huggingface/jinja` with
 * messages, tools and template kwargs such as `enable_thinking`, and a ChatML fallback for
 * models without a template.
 *
 * @module
 */
import { Template } from "@huggingface/jinja";
import { CortexError } from "@cortex/core/errors";
import type { ChatFunctionTool, ChatMessage } from "@cortex/core/openai";
import type { TokenizerConfig } from "./tokenizer.ts";
import { _tokenText } from "./_token_text.ts";

/** What {@linkcode ChatTemplate.render} needs besides the messages. */
export interface RenderOptions {
  /** Tools offered to the model (rendered by the template, Hermes format for Qwen). */
  tools?: readonly ChatFunctionTool[] | null;
  /** Extra template variables; they override the defaults (e.g. `enable_thinking`). */
  kwargs?: Record<string, unknown> | null;
  /** Append the assistant generation prompt (default true). */
  addGenerationPrompt?: boolean;
}

/** Where a template came from. */
export type TemplateSource =
  | "chat_template.jinja"
  | "chat_template.json"
  | "tokenizer_config.json"
  | "chatml"
  | "gguf";

/**
 * A compiled chat template.
 *
 * @example
 * ```ts
 * import { ChatTemplate } from "./chat_template.ts";
 * const template = ChatTemplate.chatml();
 * template.render([{ role: "user", content: "hi" }]);
 * // "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
 * ```
 */
export class ChatTemplate {
  readonly #template: Template | null;
  readonly #specials: Record<string, string>;
  /** Where the template text came from (`chatml` for the built-in fallback). */
  readonly source: TemplateSource;

  /** Compiles template text (null: the ChatML fallback). */
  constructor(text: string | null, source: TemplateSource, specials: Record<string, string> = {}) {
    this.#template = text === null ? null : new Template(text);
    this.source = text === null ? "chatml" : source;
    this.#specials = specials;
  }

  /** The built-in ChatML template. */
  static chatml(): ChatTemplate {
    return new ChatTemplate(null, "chatml");
  }

  /**
   * Finds the template of a model folder: `chat_template.jinja` (non-empty), then
   * `chat_template.json` (`chat_template` field), then `tokenizer_config.json`
   * (`chat_template` as a string, or a list of `{name, template}` whose `default` entry wins).
   * A template that does not compile is a 422 `bad_model_folder`.
   */
  static async fromFolder(folder: string, tokenizerConfig: TokenizerConfig): Promise<ChatTemplate> {
    const specials: Record<string, string> = {};
    for (const key of ["bos_token", "eos_token", "pad_token", "unk_token"]) {
      const value = _tokenText(tokenizerConfig[key]);
      if (value !== null) specials[key] = value;
    }
    const found = await _findTemplate(folder, tokenizerConfig);
    if (found === null) return new ChatTemplate(null, "chatml", specials);
    try {
      return new ChatTemplate(found.text, found.source, specials);
    } catch (error) {
      throw new CortexError(
        `${folder}/${found.source}: chat template does not compile: ${(error as Error).message}`,
        {
          code: "bad_model_folder",
          status: 422,
        },
      );
    }
  }

  /**
   * The template a GGUF file carries (`tokenizer.chat_template`, passed on as the
   * `chat_template` of the synthesised tokenizer config); ChatML when it has none. A
   * template that does not compile is a 422 `bad_model_folder` naming the file.
   */
  static fromGgufConfig(tokenizerConfig: TokenizerConfig, file: string): ChatTemplate {
    const specials: Record<string, string> = {};
    for (const key of ["bos_token", "eos_token", "pad_token", "unk_token"]) {
      const value = _tokenText(tokenizerConfig[key]);
      if (value !== null) specials[key] = value;
    }
    const text = typeof tokenizerConfig.chat_template === "string" ? tokenizerConfig.chat_template : null;
    try {
      return new ChatTemplate(text, "gguf", specials);
    } catch (error) {
      throw new CortexError(
        `${file}: tokenizer.chat_template does not compile: ${(error as Error).message}`,
        {
          code: "bad_model_folder",
          status: 422,
        },
      );
    }
  }

  /**
   * Renders a conversation. Assistant tool-call arguments given as JSON strings are parsed
   * into objects first (templates iterate them as mappings). A render error falls back to
   * ChatML when no tools are offered; with tools it is a 422 `template_render_failed`.
   */
  render(messages: readonly ChatMessage[], options: RenderOptions = {}): string {
    const addGenerationPrompt = options.addGenerationPrompt ?? true;
    const prepared = messages.map((message, m) => _templateMessage(message, m));
    if (this.#template === null) return _chatml(prepared, addGenerationPrompt);
    const tools = options.tools && options.tools.length > 0 ? options.tools : undefined;
    const context: Record<string, unknown> = {
      ...this.#specials,
      messages: prepared,
      add_generation_prompt: addGenerationPrompt,
      ...(tools ? { tools } : {}),
      ...(options.kwargs ?? {}),
    };
    try {
      return this.#template.render(context);
    } catch (error) {
      if (tools) {
        throw new CortexError(
          `the model's chat template failed to render the tools: ${(error as Error).message}`,
          {
            code: "template_render_failed",
            status: 422,
            param: "tools",
          },
        );
      }
      return _chatml(prepared, addGenerationPrompt);
    }
  }
}

type _TemplateMessage = Record<string, unknown> & { role: string; content: unknown };

function _templateMessage(message: ChatMessage, index: number): _TemplateMessage {
  const out: _TemplateMessage = {
    ...message,
    role: message.role === "developer" ? "system" : message.role,
    // Templates test `'</think>' in content`, which fails on null: a tool-call-only turn renders as "".
    content: _contentText(message.content, index),
  };
  if (message.role === "assistant" && message.tool_calls) {
    out.tool_calls = message.tool_calls.map((call) => ({
      ...call,
      function: { ...call.function, arguments: _parseArguments(call.function.arguments) },
    }));
  }
  return out;
}

function _contentText(content: unknown, message: number): string {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return String(content);
  let text = "";
  content.forEach((part, i) => {
    if (part?.type === "text" && typeof part.text === "string") text += part.text;
    else if (part?.type === "image_url") {
      // Vision checkpoints (Qwen3.5's conditional-generation layout) are served as their text model.
      throw new CortexError(
        `messages[${message}].content[${i}] is an image; this model is served text only`,
        {
          code: "vision_unsupported",
          status: 400,
          param: `messages[${message}].content[${i}]`,
        },
      );
    }
  });
  return text;
}

function _parseArguments(args: unknown): unknown {
  if (typeof args !== "string") return args;
  try {
    const parsed = JSON.parse(args);
    return parsed !== null && typeof parsed === "object" ? parsed : args;
  } catch {
    return args;
  }
}

function _chatml(messages: readonly _TemplateMessage[], addGenerationPrompt: boolean): string {
  let out = "";
  for (const message of messages) {
    out += `<|im_start|>${message.role}\n${message.content ?? ""}<|im_end|>\n`;
  }
  return addGenerationPrompt ? `${out}<|im_start|>assistant\n` : out;
}

async function _readOptional(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

async function _findTemplate(
  folder: string,
  config: TokenizerConfig,
): Promise<{ text: string; source: TemplateSource } | null> {
  const jinja = await _readOptional(`${folder}/chat_template.jinja`);
  if (jinja !== null && jinja.trim() !== "") return { text: jinja, source: "chat_template.jinja" };
  const json = await _readOptional(`${folder}/chat_template.json`);
  if (json !== null) {
    try {
      const text = _templateText(JSON.parse(json)?.chat_template);
      if (text !== null) return { text, source: "chat_template.json" };
    } catch {
      // An unreadable chat_template.json is skipped in favour of tokenizer_config.json.
    }
  }
  const text = _templateText(config.chat_template);
  return text === null ? null : { text, source: "tokenizer_config.json" };
}

function _templateText(value: unknown): string | null {
  if (typeof value === "string") return value.trim() === "" ? null : value;
  if (Array.isArray(value)) {
    const named = value.find((entry) => entry?.name === "default") ?? value[0];
    return typeof named?.template === "string" ? named.template : null;
  }
  return null;
}
