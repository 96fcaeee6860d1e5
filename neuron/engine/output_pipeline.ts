/**
 * The token → delta transform of one generation (see `generation.ts`): detokenising, stop
 * strings, reasoning and tool-call parsing, log-probability bookkeeping, the check that a
 * call names a tool that was offered, and the count of every `<tool_call>` block by form
 * (JSON or Qwen3-Coder XML) and outcome, for `cortex_tool_calls_total`.
 *
 * @module
 */
import {
  AssistantStreamParser,
  inferToolName,
  ThinkSplitter,
  ToolCallParser,
  type ToolDefinition,
} from "@cortex/qwen3";
import type { SampledLogprobs } from "../devices/mod.ts";
import type { DecodeStream } from "./decode_stream.ts";
import type { FinishDelta, GenerationDelta, OutputParsing, TokenLogprobs } from "./generation.ts";
import { StopMatcher } from "./stop_matcher.ts";
import type { ModelTokenizer } from "./tokenizer.ts";

type _Parsed = { type: string; text?: string; raw?: string; id?: string; name?: string; arguments?: string };

/** The form a `<tool_call>` block was written in. */
export type ToolCallFormat = "json" | "xml";

/**
 * What became of a `<tool_call>` block: sent as written (`ok`), sent after its name was
 * inferred from its arguments (`repaired`), sent as text because it could not be read
 * (`failed`) or because it named a tool that was not offered and fits none (`unknown_tool`).
 */
export type ToolCallOutcome = "ok" | "repaired" | "failed" | "unknown_tool";

/** One counted `<tool_call>` block. */
export interface ToolCallTally {
  /** Its form. */
  format: ToolCallFormat;
  /** What became of it. */
  outcome: ToolCallOutcome;
}

/** The part of a text parser the pipeline uses. */
interface _Parser {
  push(text: string): _Parsed[];
  finish(): _Parsed[];
}

function _parser(parsing: OutputParsing | undefined): _Parser | null {
  if (!parsing) return null;
  const tools = parsing.tools ?? undefined;
  if (parsing.tools && parsing.reasoning) {
    return new AssistantStreamParser({ tools, startInThink: parsing.startInThink, streamArguments: false });
  }
  if (parsing.tools) return new ToolCallParser({ tools, streamArguments: false });
  if (parsing.reasoning) return new ThinkSplitter({ startInThink: parsing.startInThink });
  return null;
}

/**
 * The token → delta transform of one generation, without scheduling: each generated token
 * is detokenised, cut at stop strings and parsed. Tool calls come out only once complete and
 * valid (a call the model abandons half-way is never half-sent to a client); a malformed
 * `<tool_call>` block that cannot be repaired comes out as visible text, never dropped.
 *
 * @example
 * ```ts ignore
 * const pipeline = new OutputPipeline(tokenizer, { stop: ["\n\n"] });
 * for (const id of tokenizer.encode("Hello\n\nworld")) if (pipeline.push(id).stopped) break;
 * pipeline.finish(); // [{type: "text", text: "Hello"}]
 * ```
 */
export class OutputPipeline {
  readonly #tokenizer: ModelTokenizer;
  readonly #decoder: DecodeStream;
  #pendingLogprobs: TokenLogprobs[] = [];
  readonly #stops: StopMatcher;
  readonly #parser: _Parser | null;
  readonly #tools: readonly ToolDefinition[] | null;
  #queue: GenerationDelta[] = [];
  #toolCalls = 0;
  /** Parsed calls that named a tool not offered (repaired ones included). */
  unofferedToolCalls = 0;
  /** Of those, the calls renamed after the one offered tool their argument keys fit. */
  repairedToolCalls = 0;
  /** Every `<tool_call>` block of this generation, by form and outcome. */
  readonly toolCallTallies: ToolCallTally[] = [];
  /** Tokens whose text was reasoning. */
  reasoningTokens = 0;
  /** The stop string that matched, if any. */
  matchedStop: string | null = null;

  /** Creates the pipeline of one generation. */
  constructor(
    tokenizer: ModelTokenizer,
    options: { stop?: readonly string[]; parsing?: OutputParsing; promptTail?: readonly number[] } = {},
  ) {
    this.#tokenizer = tokenizer;
    this.#decoder = tokenizer.decodeStream(options.promptTail ?? []);
    this.#stops = new StopMatcher(options.stop ?? []);
    this.#parser = _parser(options.parsing);
    this.#tools = options.parsing?.tools ?? null;
  }

  /** Tool calls emitted so far. */
  get toolCalls(): number {
    return this.#toolCalls;
  }

  /**
   * Feeds one generated token (with its log-probabilities when asked for); `stopped` is true once
   * a stop string matched.
   */
  push(
    token: number,
    logprobs: SampledLogprobs | null = null,
  ): { deltas: GenerationDelta[]; stopped: boolean } {
    const piece = this.#decoder.push(token);
    if (logprobs !== null) this.#pendingLogprobs.push(this.#withText(logprobs, piece));
    const match = this.#stops.push(piece);
    if (this.#feed(match.text)) this.reasoningTokens++;
    if (match.stopped) this.matchedStop = match.matched;
    return { deltas: this.#take(), stopped: match.stopped };
  }

  /** Ends the text: flushes held-back bytes and text and closes the parsers. */
  finish(): GenerationDelta[] {
    if (!this.#stops.stopped) {
      const tail = this.#stops.push(this.#decoder.flush());
      this.#feed(tail.text);
      if (tail.stopped) this.matchedStop = tail.matched;
      else this.#feed(this.#stops.flush());
    }
    if (this.#parser !== null) { for (const event of this.#parser.finish()) this.#emit(event); }
    return this.#take();
  }

  /** The finish reason for how the engine ended (`length` unless stopped otherwise). */
  finishReason(engineLength: boolean): FinishDelta["finishReason"] {
    const base = engineLength && this.matchedStop === null ? "length" : "stop";
    return this.#toolCalls > 0 && base === "stop" ? "tool_calls" : base;
  }

  /** Log-probabilities of tokens no delta carried yet (for the finish delta). */
  takePendingLogprobs(): TokenLogprobs[] {
    const out = this.#pendingLogprobs;
    this.#pendingLogprobs = [];
    return out;
  }

  #take(): GenerationDelta[] {
    const out = this.#queue;
    this.#queue = [];
    if (out.length > 0 && this.#pendingLogprobs.length > 0) {
      out[0] = { ...out[0], logprobs: this.takePendingLogprobs() };
    }
    return out;
  }

  #withText(logprobs: SampledLogprobs, piece: string): TokenLogprobs {
    const tokenizer = this.#tokenizer;
    const alone = (token: number): string => tokenizer.decode([token], { skipSpecialTokens: false });
    const special = tokenizer.specialIds.has(logprobs.token);
    return {
      token: logprobs.token,
      text: special ? alone(logprobs.token) : piece,
      bytes: tokenizer.tokenBytes(logprobs.token),
      logprob: _wireLogprob(logprobs.logprob),
      top: logprobs.top.map((t) => ({
        token: t.token,
        text: alone(t.token),
        bytes: tokenizer.tokenBytes(t.token),
        logprob: _wireLogprob(t.logprob),
      })),
    };
  }

  // Returns whether the text produced reasoning.
  #feed(text: string): boolean {
    if (text === "") return false;
    if (this.#parser === null) {
      this.#queue.push({ type: "text", text });
      return false;
    }
    let reasoning = false;
    for (const event of this.#parser.push(text)) reasoning = this.#emit(event) || reasoning;
    return reasoning;
  }

  // The name a parsed call goes out under: its own when offered, else the one offered tool its
  // argument keys fit, else null (the call is surfaced as text).
  #offeredName(name: string, args: string): string | null {
    const tools = this.#tools;
    if (tools === null || tools.some((tool) => tool.function.name === name)) return name;
    this.unofferedToolCalls++;
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(args);
    } catch {
      return null;
    }
    const repaired = inferToolName(parsed, tools);
    if (repaired !== null) this.repairedToolCalls++;
    return repaired;
  }

  #emit(event: _Parsed): boolean {
    switch (event.type) {
      case "text":
        this.#queue.push({ type: "text", text: event.text! });
        return false;
      case "reasoning":
        this.#queue.push({ type: "reasoning", text: event.text! });
        return true;
      case "tool_call_end": {
        const unofferedBefore = this.unofferedToolCalls;
        const name = this.#offeredName(event.name!, event.arguments!);
        const format = _callFormat(event.raw!);
        if (name === null) {
          this.toolCallTallies.push({ format, outcome: "unknown_tool" });
          this.#queue.push({ type: "text", text: event.raw! });
          return false;
        }
        const renamed = this.unofferedToolCalls > unofferedBefore;
        const outcome = renamed || (format === "json" && _nameless(event.raw!)) ? "repaired" : "ok";
        this.toolCallTallies.push({ format, outcome });
        this.#queue.push({
          type: "tool_call",
          index: this.#toolCalls++,
          id: event.id!,
          name,
          arguments: event.arguments!,
        });
        return false;
      }
      case "malformed":
        this.toolCallTallies.push({ format: _callFormat(event.raw!), outcome: "failed" });
        this.#queue.push({ type: "text", text: event.raw! });
        return false;
      default:
        return false;
    }
  }
}

const _OPEN = "<tool_call>";

function _body(raw: string): string {
  const start = raw.startsWith(_OPEN) ? _OPEN.length : 0;
  return raw.slice(start).replace(/<\/tool_call>\s*$/, "");
}

// The Qwen3-Coder form opens its body with `<function=`; anything else is read as JSON.
function _callFormat(raw: string): ToolCallFormat {
  return _body(raw).trimStart().startsWith("<") ? "xml" : "json";
}

// A JSON call without a `name` key that the parser still sent: its name was inferred.
function _nameless(raw: string): boolean {
  try {
    const parsed = JSON.parse(_body(raw));
    return typeof parsed === "object" && parsed !== null && !("name" in parsed);
  } catch {
    return false;
  }
}

// A masked-out token's log-probability is -Infinity, which JSON cannot carry: OpenAI writes -9999.
function _wireLogprob(logprob: number): number {
  return Math.max(logprob, -9999);
}
