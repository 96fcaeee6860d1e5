/**
 * Forced tool calls by constrained decoding, for Qwen3 / Hermes templates: the output becomes
 * `<tool_call>\n{"name": "NAME", "arguments": {…}}\n</tool_call>`, exactly, with NAME one of the
 * allowed tools and the arguments a JSON object. Deterministic text (the opener, the call head,
 * a name once only one fits, the closing tag) is forced; where a choice remains the model samples
 * under a hard mask (a trie over the allowed names, then the JSON-prefix acceptor followed by the
 * call's `}\n`), and every mask keeps only tokens after which the call can still be closed within
 * the generation's token budget, so a call always completes when the budget holds a minimal one.
 * Forced text ends where the model's tokenizer would split anyway (before ` {` and `</tool_call>`),
 * and the masks let a token span the end of the arguments (`"}}\n`), so the model writes the
 * call with the tokens it learnt.
 *
 * Reasoning: a prompt that opened `<think>` lets the model reason first (it cannot end the turn
 * there); when the prompt left the turn open and the model can reason, its first token is
 * `<think>` or the opener, its choice. `</think>` is forced once the budget left is what a call
 * needs plus room for arguments. After a call the turn ends (`parallel_tool_calls: false`), or
 * the model ends it or opens another call.
 *
 * @module
 */
import { type ByteAcceptor, concatAcceptors, stepBytes } from "./byte_acceptor.ts";
import { type ConstraintAction, type DecodeConstraint, forbidTokens } from "./decode_constraint.ts";
import type { OutputParsing } from "./generation.ts";
import { jsonObjectAcceptor } from "./json_prefix.ts";
import { literalChoice, type LiteralChoiceState } from "./literal_choice.ts";
import type { ModelTokenizer } from "./tokenizer.ts";
import type { ToolChoicePlan } from "./tool_choice.ts";
import { type VocabIndex, vocabIndexOf } from "./vocab_index.ts";

/** The marker token ids of the tool-call format. */
export interface ToolCallMarkers {
  /** `<tool_call>`. */
  open: number;
  /** `</tool_call>`. */
  close: number;
  /** `<think>`, when the model has it. */
  thinkOpen: number | null;
  /** `</think>`, when the model has it. */
  thinkClose: number | null;
}

/** Options of {@linkcode ToolCallConstraint}. */
export interface ToolCallConstraintOptions {
  /** The model's vocabulary (added tokens, markers among them, excluded). */
  vocab: VocabIndex;
  /** The model's tokenizer encoding (its tokens for forced text, when they spell it exactly). */
  encode: (text: string) => number[];
  /** Marker tokens. */
  markers: ToolCallMarkers;
  /** Tokens that end the turn. */
  stopTokenIds: readonly number[];
  /** The tools a call may name (at least one). */
  names: readonly string[];
  /** False: the turn ends after one call. */
  parallel: boolean;
  /** The prompt opened a `<think>` block. */
  startInThink: boolean;
  /** The model may open a `<think>` block before calling (the prompt neither opened nor closed one). */
  mayThink: boolean;
}

/** Tokens of room for arguments kept when reasoning is cut short. */
const _ARGUMENT_ROOM = 64;
/** The token kept for ending the turn after a call (so a call that fits ends as a call, not a cut). */
const _END = 1;
const _CALL_HEAD = '\n{"name": "';
const _ARGUMENTS_HEAD = '", "arguments":';
const _CALL_TAIL = "}\n";
const _AFTER_THINK = "\n\n";

type _Phase = "start" | "choose" | "think" | "afterThink" | "afterOpen" | "name" | "arguments" | "between";

/**
 * The constraint of one forced-call generation; see the module doc.
 *
 * @example
 * ```ts ignore
 * const constraint = new ToolCallConstraint({ vocab, encode, markers, stopTokenIds: [eos],
 *   names: ["get_weather"], parallel: false, startInThink: false, mayThink: false });
 * constraint.next(256); // { type: "force", tokens: [<tool_call>, …'\n{"name": "get_weather", "arguments": '] }
 * ```
 */
export class ToolCallConstraint implements DecodeConstraint {
  readonly #options: ToolCallConstraintOptions;
  readonly #names: LiteralChoiceState;
  readonly #head: number[];
  /** The tokens after the arguments and the call's `}\n`: the closing tag. */
  readonly #tail: number[];
  readonly #afterThink: number[];
  /** Fewest tokens a call takes from its opener on. */
  readonly #callCost: number;
  #phase: _Phase = "start";
  #state: ByteAcceptor | null = null;

  /** Creates the constraint of one generation. */
  constructor(options: ToolCallConstraintOptions) {
    this.#options = options;
    this.#names = literalChoice(options.names.map((name) => name + _ARGUMENTS_HEAD));
    this.#head = this.#tokens(_CALL_HEAD);
    this.#tail = [options.markers.close];
    this.#afterThink = this.#tokens(_AFTER_THINK);
    this.#callCost = 1 + this.#head.length + this.#names.completion().length +
      _arguments().completion().length + this.#tail.length + _END;
  }

  next(remaining: number): ConstraintAction {
    const { markers } = this.#options;
    switch (this.#phase) {
      case "start":
        if (this.#options.startInThink) {
          this.#phase = "think";
          return this.next(remaining);
        }
        if (this.#options.mayThink && markers.thinkOpen !== null && remaining > this.#thinkReserve()) {
          this.#phase = "choose";
          return { type: "mask", mask: { allow: Int32Array.from([markers.thinkOpen, markers.open]) } };
        }
        return this.#openCall([markers.open]);
      case "think": {
        if (remaining <= this.#thinkReserve() && markers.thinkClose !== null) {
          return this.#openCall([markers.thinkClose, ...this.#afterThink, markers.open]);
        }
        // The turn cannot end while reasoning: a call must follow.
        const stops = this.#options.stopTokenIds.filter((id) => id < this.#options.vocab.vocabSize);
        return stops.length > 0 ? { type: "mask", mask: { deny: Int32Array.from(stops) } } : { type: "free" };
      }
      case "afterThink":
        return this.#openCall([...this.#afterThink, markers.open]);
      case "afterOpen":
        return this.#openCall([]);
      case "name":
        return this.#nextInName(remaining);
      case "arguments":
        return this.#nextInArguments(remaining);
      case "between":
        return this.#nextBetweenCalls(remaining);
      case "choose":
        throw new Error("tool-call constraint: a token must be sampled before the next decision");
    }
  }

  accept(token: number): void {
    const { markers } = this.#options;
    switch (this.#phase) {
      case "choose":
        this.#phase = token === markers.thinkOpen ? "think" : "afterOpen";
        return;
      case "think":
        if (token === markers.thinkClose) this.#phase = "afterThink";
        return;
      case "between":
        if (token === markers.open) this.#phase = "afterOpen";
        return;
      case "name":
      case "arguments": {
        const bytes = this.#options.vocab.tokenBytes(token);
        const next = bytes === null ? null : stepBytes(this.#state!, bytes);
        if (next === null) {
          throw new Error(`tool-call constraint: token ${token} is outside the mask it was sampled under`);
        }
        this.#state = next;
        return;
      }
      default:
        return;
    }
  }

  // Reasoning stops when the budget left is a call plus room for its arguments.
  #thinkReserve(): number {
    return this.#callCost + _ARGUMENT_ROOM + this.#afterThink.length + 1;
  }

  // Forces `prefix` (ending with or after the opener) and the call head; the name comes next.
  #openCall(prefix: number[]): ConstraintAction {
    this.#phase = "name";
    this.#state = this.#names;
    return { type: "force", tokens: [...prefix, ...this.#head] };
  }

  #nextInName(remaining: number): ConstraintAction {
    const state = this.#state as LiteralChoiceState;
    if (state.done) return this.#startArguments(remaining);
    // After the token: the rest of a name, then at least `{}}\n`, the tail and the end.
    const budget = remaining - 1 - _arguments().completion().length - this.#tail.length - _END;
    const mask = state.determined ? null : this.#options.vocab.mask(state, budget);
    if (mask !== null) return { type: "mask", mask };
    // One name is left (or no token fits the budget): force its rest.
    const rest = this.#byteTokens(state.completion());
    this.#phase = "arguments";
    this.#state = _arguments();
    return { type: "force", tokens: rest };
  }

  #startArguments(remaining: number): ConstraintAction {
    this.#phase = "arguments";
    this.#state = _arguments();
    return this.#nextInArguments(remaining);
  }

  #nextInArguments(remaining: number): ConstraintAction {
    const state = this.#state!;
    if (state.done) {
      this.#phase = "between";
      return { type: "force", tokens: this.#tail };
    }
    const mask = this.#options.vocab.mask(state, remaining - 1 - this.#tail.length - _END);
    if (mask !== null) return { type: "mask", mask };
    // No token keeps the call closable (a budget too small for a minimal call): close it now.
    this.#phase = "between";
    return { type: "force", tokens: [...this.#byteTokens(state.completion()), ...this.#tail] };
  }

  #nextBetweenCalls(remaining: number): ConstraintAction {
    if (!this.#options.parallel) return { type: "end" };
    const allowed = this.#options.stopTokenIds.filter((id) => id < this.#options.vocab.vocabSize);
    if (remaining - 1 >= this.#callCost) allowed.push(this.#options.markers.open);
    return allowed.length > 0 ? { type: "mask", mask: { allow: Int32Array.from(allowed) } } : { type: "end" };
  }

  #tokens(text: string): number[] {
    return this.#byteTokens(Array.from(new TextEncoder().encode(text)));
  }

  // Tokens spelling `bytes`: the tokenizer's own encoding when it spells them exactly (the text
  // the model knows), else longest matches in the vocabulary.
  #byteTokens(bytes: number[]): number[] {
    const vocab = this.#options.vocab;
    try {
      const ids = this.#options.encode(_strictUtf8.decode(new Uint8Array(bytes)));
      const spelled = ids.flatMap((id) => Array.from(vocab.tokenBytes(id) ?? [-1]));
      if (spelled.length === bytes.length && spelled.every((b, i) => b === bytes[i])) return ids;
    } catch {
      // not whole UTF-8 characters: spell the bytes with the vocabulary
    }
    const greedy = vocab.greedy(bytes);
    if (greedy === null) throw new Error("tool-call constraint: the vocabulary cannot spell the forced text");
    return greedy;
  }
}

const _strictUtf8 = new TextDecoder("utf-8", { fatal: true });

// The arguments object, then the `}\n` that closes the call's JSON.
function _arguments(): ByteAcceptor {
  return concatAcceptors(jsonObjectAcceptor(), literalChoice([_CALL_TAIL]));
}

/** What {@linkcode toolChoiceConstraint} needs of a model. */
export interface ConstrainedModel {
  /** Its tokenizer. */
  tokenizer: ModelTokenizer;
  /** Its vocabulary size (the logits' width). */
  vocabSize: number;
  /** Tokens that end a turn. */
  stopTokenIds: ReadonlySet<number>;
}

/**
 * The constraint that enforces a tool policy on one generation: for `none`, the tool-call
 * opener masked out; for `required` (or a named function), a {@linkcode ToolCallConstraint};
 * for `auto`, none.
 */
export function toolChoiceConstraint(
  plan: ToolChoicePlan,
  model: ConstrainedModel,
  parsing: OutputParsing,
): DecodeConstraint | undefined {
  const tokenizer = model.tokenizer;
  const id = (token: string): number | null => {
    const found = tokenizer.tokenId(token);
    return found !== null && found < model.vocabSize ? found : null;
  };
  const open = id("<tool_call>");
  const close = id("</tool_call>");
  if (plan.mode === "none") return open === null ? undefined : forbidTokens([open]);
  if (plan.mode === "auto" || open === null || close === null) return undefined;
  const thinkOpen = parsing.reasoning ? id("<think>") : null;
  const thinkClose = parsing.reasoning ? id("</think>") : null;
  return new ToolCallConstraint({
    vocab: vocabIndexOf(tokenizer, model.vocabSize),
    encode: (text) => tokenizer.encode(text),
    markers: { open, close, thinkOpen, thinkClose },
    stopTokenIds: [...model.stopTokenIds],
    names: plan.names,
    parallel: plan.parallel,
    startInThink: parsing.startInThink,
    mayThink: parsing.mayOpenThink ?? false,
  });
}
