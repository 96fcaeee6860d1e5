/**
 * The prompt work of each inference route, from body bytes to prompt tokens, as plain functions
 * that run the same on the main thread and in a prompt worker: `parse` (JSON, schema, parameter
 * policy), `strip` (the request without its bulk, for the trip back from a worker) and `build`
 * (template, tokenizer).
 *
 * @module
 */
import { parseWithSchema, type Schema } from "@cortex/core/errors";
import { type TokenizeRequest, TokenizeRequestSchema } from "@cortex/core/fleet";
import { parseJsonBytes } from "@cortex/core/http";
import {
  type ChatCompletionRequest,
  type CompletionRequest,
  parseChatRequest,
  parseCompletionRequest,
} from "@cortex/core/openai";
import { parseResponsesRequest, type ResponsesRequest } from "@cortex/core/responses";
import { responsesToChatRequest } from "@cortex/core/translate";
import { buildChatPrompt, checkPromptSize, type PromptModel } from "../engine/chat_prompt.ts";
import type { OutputParsing } from "../engine/generation.ts";
import type { ToolChoicePlan } from "../engine/tool_choice.ts";
import { completionPrompt } from "../routes/_token_params.ts";

/** What the prompt work needs of a model (a loaded model, or a worker's copy of its assets). */
export interface PromptModelView extends PromptModel {
  /** Largest prompt accepted in tokens (the early size refusal). */
  maxPromptTokens: number;
  /** Vocabulary size (token-id prompts are checked against it). */
  vocabSize: number;
}

/** A chat prompt, without its rendered text. */
export interface ChatPromptResult {
  /** Prompt token ids. */
  tokens: number[];
  /** How to read the output. */
  parsing: OutputParsing;
  /** The tool policy to enforce. */
  toolChoice: ToolChoicePlan;
}

/** One route's prompt work. */
export interface PromptRoute<Req, Options, Result> {
  /** Body bytes to a validated request (400s name the field). */
  parse(bytes: Uint8Array): Req;
  /** The request without what only `build` needs (messages, input), cheap to send between threads. */
  strip(request: Req): Req;
  /** The prompt of a parsed (unstripped) request. */
  build(model: PromptModelView, request: Req, options: Options): Result;
}

/**
 * Whether the prompt should open thinking: `reasoning_effort` decides when given (`none` and
 * `minimal` turn it off, as the Responses translation does), else the `x-include-thinking` header.
 */
export function thinkingWanted(effort: string | null | undefined, header: boolean): boolean {
  if (typeof effort !== "string") return header;
  return effort !== "none" && effort !== "minimal";
}

function _validate<T>(schema: Schema<T>, bytes: Uint8Array): T {
  const parsed = parseWithSchema(schema, parseJsonBytes(bytes));
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

function _chatResult(prompt: ChatPromptResult): ChatPromptResult {
  return { tokens: prompt.tokens, parsing: prompt.parsing, toolChoice: prompt.toolChoice };
}

/** `POST /v1/chat/completions`: `inlineThinking` is the `x-include-thinking` header. */
export const CHAT_JOB: PromptRoute<ChatCompletionRequest, { inlineThinking: boolean }, ChatPromptResult> = {
  parse: (bytes) => parseChatRequest(parseJsonBytes(bytes)),
  strip: (request) => ({ ...request, messages: [] }),
  build: (model, request, options) =>
    _chatResult(
      buildChatPrompt(model, request, thinkingWanted(request.reasoning_effort, options.inlineThinking)),
    ),
};

/** `POST /v1/responses`: the prompt of its chat translation, which comes back without messages. */
export const RESPONSES_JOB: PromptRoute<
  ResponsesRequest,
  Record<never, never>,
  ChatPromptResult & { chat: ChatCompletionRequest }
> = {
  parse: (bytes) => parseResponsesRequest(parseJsonBytes(bytes)),
  strip: (request) => ({ ...request, input: [] }),
  build(model, request) {
    const chat = responsesToChatRequest(request);
    return { ..._chatResult(buildChatPrompt(model, chat, null, "input")), chat: { ...chat, messages: [] } };
  },
};

/** `POST /tokenize`: the exact count, never refused early (counting is what it is for). */
export const TOKENIZE_JOB: PromptRoute<TokenizeRequest, Record<never, never>, { count: number }> = {
  parse: (bytes) => _validate(TokenizeRequestSchema, bytes),
  strip: (request) => ({ model: request.model }),
  build(model, request) {
    const counting = { tokenizer: model.tokenizer, template: model.template };
    const count = request.messages !== undefined
      ? buildChatPrompt(counting, {
        messages: request.messages,
        tools: request.tools,
        chat_template_kwargs: request.chat_template_kwargs,
      }, false).tokens.length
      : model.tokenizer.encode(request.prompt ?? "", { addSpecialTokens: true }).length;
    return { count };
  },
};

/** `POST /v1/completions`: a text prompt tokenised with the tokenizer's own specials, or ids as given. */
export const COMPLETIONS_JOB: PromptRoute<CompletionRequest, Record<never, never>, { tokens: number[] }> = {
  parse: (bytes) => parseCompletionRequest(parseJsonBytes(bytes)),
  // The prompt is one string (cheap to send) and an echo needs it.
  strip: (request) => request,
  build(model, request) {
    const prompt = completionPrompt(request.prompt, model.vocabSize);
    if ("ids" in prompt) return { tokens: prompt.ids };
    checkPromptSize(prompt.text.length, model.tokenizer, model.maxPromptTokens, "prompt");
    return { tokens: model.tokenizer.encode(prompt.text, { addSpecialTokens: true }) };
  },
};

/** Every route's prompt work by name (what a worker is asked to run). */
export const PROMPT_JOBS = {
  chat: CHAT_JOB,
  responses: RESPONSES_JOB,
  tokenize: TOKENIZE_JOB,
  completions: COMPLETIONS_JOB,
} as const;

/** A route name of {@linkcode PROMPT_JOBS}. */
export type PromptJobName = keyof typeof PROMPT_JOBS;
