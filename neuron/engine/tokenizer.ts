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
  /** The BOS token text from `tokenizer_config.json`, or null. */
  readonly bosToken: string | null;
  /** The EOS token text from `tokenizer_config.json`, or null. */
  readonly eosToken: string | null;
  /** Which marker pairs exist as single tokens. */
  readonly markers: MarkerSupport;

  /** Wraps parsed `tokenizer.json` and `tokenizer_config.json` contents. */
  constructor(tokenizerJson: unknown, config: TokenizerConfig = {}) {
    this.#tokenizer = new Tokenizer(tokenizerJson as object, config);
    this.config = config;
    const special = new Set<number>();
    for (const [id, token] of this.#tokenizer.get_added_tokens_decoder()) {
      if (token.special) special.add(id);
    }
    this.specialIds = special;
    this.bosToken = _tokenText(config.bos_token);
    this.eosToken = _tokenText(config.eos_token);
    const has = (token: string): boolean => this.tokenId(token) !== null;
    this.markers = {
      toolCall: has("<tool_call>") && has("</tool_call>"),
      reasoning: has("<think>") && has("</think>"),
    };
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
    return this.#tokenizer.encode(text, { add_special_tokens: options.addSpecialTokens ?? false }).ids;
  }

  /** Decodes ids to text; special tokens are skipped unless `skipSpecialTokens` is false. */
  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return "";
    return this.#tokenizer.decode(ids as number[], {
      skip_special_tokens: options.skipSpecialTokens ?? true,
      clean_up_tokenization_spaces: false,
    });
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
