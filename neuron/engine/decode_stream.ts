/**
 * Incremental detokenisation: turns generated token ids into text pieces one token at a
 * time, holding bytes back until they form complete UTF-8 characters, and keeping the
 * decoder's context (leading-space rules, byte fallback) right across pieces.
 *
 * @module
 */

/** Decodes a window of ids to text (special tokens skipped). */
export type DecodeFn = (ids: readonly number[]) => string;

/**
 * The prefix-offset algorithm of Hugging Face text-generation-inference: each new token is
 * decoded together with a few tokens before it, and only the text past what those tokens
 * already produced is emitted. A window that ends inside a multi-byte character decodes to a
 * trailing U+FFFD and is held until the character completes.
 *
 * @example
 * ```ts
 * import { DecodeStream } from "./decode_stream.ts";
 * const vocab = ["Hel", "lo", " world"];
 * const stream = new DecodeStream((ids) => ids.map((i) => vocab[i]).join(""));
 * [0, 1, 2].map((id) => stream.push(id)).join(""); // "Hello world"
 * ```
 */
export class DecodeStream {
  readonly #decode: DecodeFn;
  #ids: number[] = [];
  #prefixOffset = 0;
  #readOffset = 0;

  /**
   * Creates a stream over a window decoder. `context` (e.g. the prompt's last few tokens) is
   * decoded with the first generated tokens so that decoders which strip a leading space
   * from a whole text (SentencePiece) keep the space before the first generated word.
   */
  constructor(decode: DecodeFn, context: readonly number[] = []) {
    this.#decode = decode;
    this.#ids = [...context];
    this.#readOffset = context.length;
  }

  /** Adds one token; returns the text it completes (often `""` while bytes are pending). */
  push(id: number): string {
    this.#ids.push(id);
    const prefixText = this.#decode(this.#ids.slice(this.#prefixOffset, this.#readOffset));
    const newText = this.#decode(this.#ids.slice(this.#prefixOffset));
    if (newText.length <= prefixText.length || newText.endsWith("\uFFFD")) return "";
    const piece = newText.startsWith(prefixText) ? newText.slice(prefixText.length) : newText;
    this.#prefixOffset = this.#readOffset;
    this.#readOffset = this.#ids.length;
    // Keep the id list short: only the window from prefixOffset on is ever decoded again.
    if (this.#prefixOffset > 64) {
      this.#ids = this.#ids.slice(this.#prefixOffset);
      this.#readOffset -= this.#prefixOffset;
      this.#prefixOffset = 0;
    }
    return piece;
  }

  /** Ends the stream: returns text still held back (an incomplete character decodes to U+FFFD). */
  flush(): string {
    const prefixText = this.#decode(this.#ids.slice(this.#prefixOffset, this.#readOffset));
    const newText = this.#decode(this.#ids.slice(this.#prefixOffset));
    this.#ids = [];
    this.#prefixOffset = 0;
    this.#readOffset = 0;
    if (newText.length <= prefixText.length) return "";
    return newText.startsWith(prefixText) ? newText.slice(prefixText.length) : newText;
  }
}
