/**
 * A model's tokenizer, read from its Hugging Face folder (`tokenizer.json` and
 * `tokenizer_config.json`) through `@huggingface/tokenizers`, with the facts the engine
 * needs: special tokens, end-of-sequence ids and the reasoning / tool-call marker tokens.
 *
 * @module
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { CortexError } from "@cortex/core/errors";
import { _tokenText } from "./_token_text.ts";
import { DecodeStream } from "./decode_stream.ts";
import { TURN_OPENER, TurnEncoder } from "./turn_segments.ts";

/** Options of {@linkcode ModelTokenizer.encode}. */
export interface EncodeOptions {
  /** Add the tokenizer's special tokens (e.g. a BOS); chat prompts rendered by a template do not. */
  addSpecialTokens?: boolean;
}

/** Marker-token pairs a model's tokenizer carries. */
export interface MarkerSupport {
  /** `<tool_call>` and `</tool_call>` exist. */
  toolCall: boolean;
  /** `<think>` and `</think>` exist. */
  reasoning: boolean;
}

/** `tokenizer_config.json` fields read here (others are passed to the tokenizer as is). */
export type TokenizerConfig = Record<string, unknown>;

/**
 * A loaded tokenizer. Encoding and decoding are synchronous and cheap for the prompt sizes
 * a neuron sees.
 *
 * @example
 * ```ts
 * import { ModelTokenizer } from "./tokenizer.ts";
 * const tokenizer = await ModelTokenizer.fromFolder("neuron/testdata/models/tiny-qwen3-f32");
 * tokenizer.decode(tokenizer.encode("Hello")); // "Hello"
 * ```
 */
export class ModelTokenizer {
  readonly #tokenizer: Tokenizer;
  /** The raw `tokenizer_config.json` (empty object when the folder has none). */
  readonly config: TokenizerConfig;
  /** Ids of tokens flagged `special` (skipped when decoding output). */
  readonly specialIds: ReadonlySet<number>;
  /** Ids of every added token (special or not: chat markers such as `<tool_call>` included). */
  readonly addedIds: ReadonlySet<number>;
  /** The BOS token text from `tokenizer_config.json`, or null. */
  readonly bosToken: string | null;
  /** The EOS token text from `tokenizer_config.json`, or null. */
  readonly eosToken: string | null;
  /** Which marker pairs exist as single tokens. */
  readonly markers: MarkerSupport;
  readonly #byteLevel: boolean;
  readonly #byteFallback: boolean;
  readonly #idLimit: number;
  #maxTokenBytes: number | null = null;
  readonly #turns: TurnEncoder | null;

  /** Wraps parsed `tokenizer.json` and `tokenizer_config.json` contents. */
  constructor(tokenizerJson: unknown, config: TokenizerConfig = {}) {
    this.#tokenizer = new Tokenizer(tokenizerJson as object, config);
    const json = tokenizerJson as { decoder?: unknown; model?: { byte_fallback?: unknown; vocab?: unknown } };
    this.#byteLevel = JSON.stringify(json.decoder ?? null).includes('"ByteLevel"');
    this.#byteFallback = json.model?.byte_fallback === true;
    this.config = config;
    const special = new Set<number>();
    const added = new Set<number>();
    for (const [id, token] of this.#tokenizer.get_added_tokens_decoder()) {
      added.add(id);
      if (token.special) special.add(id);
    }
    this.specialIds = special;
    this.addedIds = added;
    const vocab = json.model?.vocab;
    const base = Array.isArray(vocab)
      ? vocab.length
      : vocab && typeof vocab === "object"
      ? Object.keys(vocab).length
      : 0;
    this.#idLimit = [...added].reduce((limit, id) => Math.max(limit, id + 1), base);
    this.bosToken = _tokenText(config.bos_token);
    this.eosToken = _tokenText(config.eos_token);
    const has = (token: string): boolean => this.tokenId(token) !== null;
    this.markers = {
      toolCall: has("<tool_call>") && has("</tool_call>"),
      reasoning: has("<think>") && has("</think>"),
    };
    this.#turns = has(TURN_OPENER)
      ? new TurnEncoder((text) => this.#tokenizer.encode(text, { add_special_tokens: false }).ids)
      : null;
  }

  /**
   * Reads `tokenizer.json` (required) and `tokenizer_config.json` (optional) from a model
   * folder. Fails with a 422 `bad_model_folder` naming the file at fault.
   */
  static async fromFolder(folder: string): Promise<ModelTokenizer> {
    const tokenizerJson = await _readJson(`${folder}/tokenizer.json`, true);
    const config = (await _readJson(`${folder}/tokenizer_config.json`, false)) ?? {};
    if (typeof config !== "object" || Array.isArray(config)) {
      throw _badFolder(`${folder}/tokenizer_config.json: expected a JSON object`);
    }
    try {
      return new ModelTokenizer(tokenizerJson, config as TokenizerConfig);
    } catch (error) {
      throw _badFolder(`${folder}/tokenizer.json: not a usable tokenizer: ${(error as Error).message}`);
    }
  }

  /** Encodes text to token ids. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const specials = options.addSpecialTokens ?? false;
    // Chat prompts (no added specials) go turn by turn, earlier turns from the cache (turn_segments.ts).
    if (!specials && this.#turns !== null) return this.#turns.encode(text);
    return this.#tokenizer.encode(text, { add_special_tokens: specials }).ids;
  }

  /**
   * Encodes a few thousand characters of mixed text once, so the first prompts a fresh thread sees
   * (a prompt worker's, say) do not also pay for compiling the encoder. The turn cache is untouched.
   */
  warmUp(): void {
    const words = [
      "the",
      " quick",
      "\n",
      "  ",
      '{"a": 1}',
      "é",
      "日本",
      "😀",
      " 12345",
      "\t",
      "Hello",
      "<tool_call>",
    ];
    let text = "";
    for (let i = 0; text.length < 6000; i++) text += words[(i * 7) % words.length];
    this.#tokenizer.encode(text, { add_special_tokens: false });
  }

  /** Decodes ids to text; special tokens are skipped unless `skipSpecialTokens` is false. */
  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return "";
    return this.#tokenizer.decode(ids as number[], {
      skip_special_tokens: options.skipSpecialTokens ?? true,
      clean_up_tokenization_spaces: false,
    });
  }

  /**
   * The bytes one token stands for, out of context: a byte-level BPE token's own bytes; for a
   * SentencePiece vocabulary with byte fallback, a `<0xNN>` token's byte or the piece's UTF-8
   * (`▁` as a space) — so a token holding half a UTF-8 character says which half; else the UTF-8
   * of its decoded text (special tokens included).
   */
  tokenBytes(id: number): number[] {
    const raw = this.specialIds.has(id) ? undefined : this.#tokenizer.id_to_token(id);
    if (raw !== undefined && this.#byteFallback) {
      const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(raw);
      return byte ? [parseInt(byte[1], 16)] : [..._utf8.encode(raw.replaceAll("\u2581", " "))];
    }
    const bytes = raw !== undefined && this.#byteLevel ? _byteLevelBytes(raw) : null;
    if (bytes) return bytes;
    return [..._utf8.encode(this.decode([id], { skipSpecialTokens: false }))];
  }

  /** Token ids the tokenizer knows: one past the highest (vocabulary and added tokens). */
  get idLimit(): number {
    return this.#idLimit;
  }

  /**
   * The most bytes any one token stands for (at least 1): no text of B bytes encodes to fewer
   * than B / maxTokenBytes tokens, a cheap lower bound on a prompt's length. Computed on first use.
   */
  get maxTokenBytes(): number {
    if (this.#maxTokenBytes === null) {
      let most = 1;
      for (let id = 0; id < this.#idLimit; id++) {
        try {
          most = Math.max(most, this.tokenBytes(id).length);
        } catch {
          // A hole in the id space.
        }
      }
      this.#maxTokenBytes = most;
    }
    return this.#maxTokenBytes;
  }

  /** The id of a token string (added tokens included), or null when it is not in the vocabulary. */
  tokenId(token: string): number | null {
    return this.#tokenizer.token_to_id(token) ?? null;
  }

  /** A fresh incremental decoder for one generation (special tokens skipped), after `context` ids. */
  decodeStream(context: readonly number[] = []): DecodeStream {
    return new DecodeStream((ids) => this.decode(ids), context);
  }
}

const _utf8 = new TextEncoder();

// GPT-2's byte ↔ printable-character table of byte-level BPE, inverted: character → byte.
const _BYTE_OF_CHAR: ReadonlyMap<string, number> = (() => {
  const map = new Map<string, number>();
  let next = 256;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || byte >= 0xae;
    map.set(String.fromCodePoint(printable ? byte : next++), byte);
  }
  return map;
})();

// A byte-level token's bytes, or null when a character is outside the table (an added token).
function _byteLevelBytes(raw: string): number[] | null {
  const bytes: number[] = [];
  for (const char of raw) {
    const byte = _BYTE_OF_CHAR.get(char);
    if (byte === undefined) return null;
    bytes.push(byte);
  }
  return bytes;
}

function _badFolder(message: string): CortexError {
  return new CortexError(message, { code: "bad_model_folder", status: 422 });
}

async function _readJson(path: string, required: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      if (!required) return null;
      throw _badFolder(`${path}: file not found`);
    }
    throw _badFolder(`${path}: cannot read: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw _badFolder(`${path}: invalid JSON: ${(error as Error).message}`);
  }
}
