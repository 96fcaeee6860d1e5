/**
 * A minimal valid byte-level BPE ("gpt2") vocabulary of any size ≥ 256 + specials, for GGUF files
 * of random-weight models that have no tokenizer of their own. llama.cpp's loader needs one: the
 * 256 byte symbols (its BPE falls back to them for every byte), unique token texts, a merges list,
 * and token types. What it holds: the special tokens at the ids the config names, the 256 byte
 * symbols, two-letter merges of lower-case ASCII while there is room, then `[PAD<id>]` fillers of
 * type UNUSED (the way llama.cpp's converter pads a vocabulary to `vocab_size`).
 * @module
 */

/** llama.cpp's token types (`tokenizer.ggml.token_type`). */
export const TOKEN_TYPE = Object.freeze({ normal: 1, control: 3, unused: 5 });

/** The vocabulary as GGUF stores it. */
export interface BenchVocab {
  tokens: string[];
  tokenTypes: number[];
  merges: string[];
}

/** GPT-2's byte → printable symbol map (printable bytes map to themselves, the rest to U+0100…). */
export function byteSymbols(): string[] {
  const printable = (b: number): boolean => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
  const symbols: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) symbols.push(String.fromCodePoint(printable(b) ? b : next++));
  return symbols;
}

/**
 * Builds a vocabulary of `size` tokens with `specials` (id → text, each a control token) in place.
 * Throws when `size` cannot hold the 256 byte symbols beside the specials, or a special id is out of range.
 */
export function benchVocab(size: number, specials: ReadonlyMap<number, string>): BenchVocab {
  for (const id of specials.keys()) {
    if (!Number.isInteger(id) || id < 0 || id >= size) {
      throw new Error(`special token id ${id} is outside the vocabulary of ${size}`);
    }
  }
  if (size < 256 + specials.size) {
    throw new Error(
      `vocab_size ${size} cannot hold the 256 byte symbols and ${specials.size} special tokens`,
    );
  }
  const tokens = new Array<string>(size);
  const tokenTypes = new Array<number>(size).fill(TOKEN_TYPE.unused);
  for (const [id, text] of specials) {
    tokens[id] = text;
    tokenTypes[id] = TOKEN_TYPE.control;
  }
  let free = 0;
  const place = (text: string): boolean => {
    while (free < size && tokens[free] !== undefined) free++;
    if (free >= size) return false;
    tokens[free] = text;
    tokenTypes[free] = TOKEN_TYPE.normal;
    return true;
  };
  for (const symbol of byteSymbols()) place(symbol);
  const merges: string[] = [];
  const letters = "etaoinshrdlucmfwypvbgkjqxz";
  const pairs = [...letters].flatMap((a) => [...letters].map((b) => [a, b]));
  for (const [a, b] of pairs.slice(0, size - 256 - specials.size)) {
    place(a + b);
    merges.push(`${a} ${b}`);
  }
  for (let id = 0; id < size; id++) tokens[id] ??= `[PAD${id}]`;
  return { tokens, tokenTypes, merges };
}
