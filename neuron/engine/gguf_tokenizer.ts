/**
 * A Hugging Face `tokenizer.json` and `tokenizer_config.json` synthesised from a GGUF file's
 * `tokenizer.ggml.*` metadata, so a lone `.gguf` serves with the same {@linkcode ModelTokenizer}
 * as a model folder. `gpt2` vocabularies become byte-level BPE with the split regexes llama.cpp
 * uses for their `tokenizer.ggml.pre`; `llama` (SentencePiece) vocabularies become BPE with
 * merges derived from the piece scores (as transformers' converter does), byte fallback and
 * the `▁` normalizer / decoder.
 *
 * @module
 */
import { ggufError } from "../sources/gguf/read_header.ts";
import { isNumber, isString, metaArray, metaBool, metaNumber, metaString } from "../sources/gguf/metadata.ts";
import type { GgufHeader } from "../sources/gguf/types.ts";
import type { TokenizerConfig } from "./tokenizer.ts";

/** What {@linkcode ggufTokenizerFiles} returns: the two files a model folder would hold. */
export interface GgufTokenizerFiles {
  /** A `tokenizer.json` object. */
  tokenizerJson: Record<string, unknown>;
  /** A `tokenizer_config.json` object (bos/eos tokens, `add_bos_token`, `chat_template`). */
  config: TokenizerConfig;
}

/** llama.cpp `llama_token_type` values (`tokenizer.ggml.token_type`). */
const _TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** A pre-tokenizer: llama.cpp's split regexes (applied in turn) and its BPE options. */
interface _PreTokenizer {
  regexes: string[];
  ignoreMerges: boolean;
  nfc: boolean;
}

const _GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const _CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";

/**
 * `tokenizer.ggml.pre` names and the regexes llama.cpp's llama-vocab.cpp maps them to
 * (its case-insensitive contraction groups are spelled out, as llama.cpp does).
 */
const _PRE_TOKENIZERS: ReadonlyMap<string, _PreTokenizer> = (() => {
  const table = new Map<string, _PreTokenizer>();
  const add = (names: string[], pre: _PreTokenizer): void => names.forEach((n) => table.set(n, pre));
  add(["default"], {
    regexes: ["[\\p{P}\\$\\+<=>\\^~\\|]+", _GPT2, "\\p{N}+", "[0-9][0-9][0-9]"],
    ignoreMerges: false,
    nfc: false,
  });
  add(
    [
      "gpt-2",
      "phi-2",
      "jina-es",
      "jina-de",
      "gigachat",
      "jina-v2-es",
      "jina-v2-de",
      "a.x-4.0",
      "mellum",
      "modern-bert",
    ],
    { regexes: [_GPT2], ignoreMerges: false, nfc: false },
  );
  add([
    "llama3",
    "llama-v3",
    "llama-bpe",
    "falcon3",
    "falcon-h1",
    "pixtral",
    "midm-2.0",
    "lfm2",
    "jina-v5-nano",
  ], {
    regexes: [
      `${_CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
    ],
    ignoreMerges: true,
    nfc: false,
  });
  // Qwen's own tokenizer.json normalises to NFC; llama.cpp does not, and text already in NFC
  // (nearly all text) tokenizes the same either way.
  add(["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez"], {
    regexes: [
      `${_CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
    ],
    ignoreMerges: false,
    nfc: true,
  });
  add(["qwen35"], {
    regexes: [
      `${_CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
    ],
    ignoreMerges: false,
    nfc: true,
  });
  return table;
})();

/** The `tokenizer.ggml.pre` names this module knows. */
export const GGUF_PRE_TOKENIZERS: readonly string[] = [..._PRE_TOKENIZERS.keys()];

/**
 * Builds tokenizer files from a GGUF header; `file` labels errors. An unknown
 * `tokenizer.ggml.model` or `tokenizer.ggml.pre` is a 422 naming it.
 *
 * @example
 * ```ts ignore
 * import { readGgufHeader } from "../sources/gguf/mod.ts";
 * import { ModelTokenizer } from "./tokenizer.ts";
 * const { tokenizerJson, config } = ggufTokenizerFiles(await readGgufHeader(path), path);
 * const tokenizer = new ModelTokenizer(tokenizerJson, config);
 * ```
 */
export function ggufTokenizerFiles(header: GgufHeader, file: string): GgufTokenizerFiles {
  const model = metaString(header, "tokenizer.ggml.model", file);
  if (model === null) throw ggufError(file, "has no tokenizer.ggml.model and no tokenizer.json beside it");
  const tokens = metaArray(header, "tokenizer.ggml.tokens", isString, file);
  if (tokens === null || tokens.length === 0) throw ggufError(file, "has no tokenizer.ggml.tokens");
  const types = metaArray(header, "tokenizer.ggml.token_type", isNumber, file) ??
    tokens.map(() => _TYPE.normal);
  if (types.length !== tokens.length) {
    throw ggufError(
      file,
      `tokenizer.ggml.token_type has ${types.length} entries for ${tokens.length} tokens`,
    );
  }
  const tokenAt = (key: string): string | null => {
    const id = metaNumber(header, key, file);
    // Some converters write -1 (or its u32 form) for "no such token".
    if (id === null || id < 0 || id === 0xffffffff) return null;
    if (id >= tokens.length) {
      throw ggufError(file, `${key} ${id} is outside the vocabulary of ${tokens.length}`);
    }
    return tokens[id];
  };
  let built: { json: Record<string, unknown>; addBos: boolean };
  if (model === "gpt2") built = _bpe(header, file, tokens, types);
  else if (model === "llama") {
    built = _sentencePiece(header, file, tokens, types, tokenAt("tokenizer.ggml.unknown_token_id"));
  } else {
    throw ggufError(
      file,
      `tokenizer.ggml.model '${model}' is not supported (supported: gpt2, llama); put a tokenizer.json beside the file`,
    );
  }
  const addBos = metaBool(header, "tokenizer.ggml.add_bos_token", file) ?? built.addBos;
  const bos = tokenAt("tokenizer.ggml.bos_token_id");
  const config: TokenizerConfig = {
    add_bos_token: addBos,
    bos_token: bos,
    eos_token: tokenAt("tokenizer.ggml.eos_token_id"),
    pad_token: tokenAt("tokenizer.ggml.padding_token_id"),
    unk_token: tokenAt("tokenizer.ggml.unknown_token_id"),
    clean_up_tokenization_spaces: false,
  };
  const template = metaString(header, "tokenizer.chat_template", file);
  if (template !== null) config.chat_template = template;
  built.json.post_processor = addBos && bos !== null ? _bosProcessor(bos, tokens.indexOf(bos)) : null;
  return { tokenizerJson: built.json, config };
}

function _addedTokens(tokens: string[], types: number[]): Record<string, unknown>[] {
  const added: Record<string, unknown>[] = [];
  types.forEach((type, id) => {
    if (type !== _TYPE.control && type !== _TYPE.userDefined && type !== _TYPE.unknown) return;
    added.push({
      id,
      content: tokens[id],
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: type !== _TYPE.userDefined,
    });
  });
  return added;
}

function _vocab(tokens: string[]): Record<string, number> {
  // No prototype, so a token spelled "__proto__" is an entry like any other.
  const vocab: Record<string, number> = Object.create(null);
  tokens.forEach((token, id) => {
    if (!Object.hasOwn(vocab, token)) vocab[token] = id;
  });
  return vocab;
}

function _bpe(
  header: GgufHeader,
  file: string,
  tokens: string[],
  types: number[],
): { json: Record<string, unknown>; addBos: boolean } {
  const preName = metaString(header, "tokenizer.ggml.pre", file);
  if (preName === null) {
    console.error(`neuron: ${file} has no tokenizer.ggml.pre; using llama.cpp's 'default' pre-tokenizer`);
  }
  const pre = _PRE_TOKENIZERS.get(preName ?? "default");
  if (pre === undefined) {
    throw ggufError(
      file,
      `tokenizer.ggml.pre '${preName}' is not supported (supported: ${GGUF_PRE_TOKENIZERS.join(", ")}); ` +
        "put the model's tokenizer.json beside the file",
    );
  }
  const merges = (metaArray(header, "tokenizer.ggml.merges", isString, file) ?? []).map((merge, i) => {
    const space = merge.indexOf(" ", 1);
    if (space < 0) throw ggufError(file, `tokenizer.ggml.merges[${i}] '${merge}' is not two tokens`);
    return [merge.slice(0, space), merge.slice(space + 1)];
  });
  const json = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: _addedTokens(tokens, types),
    normalizer: pre.nfc ? { type: "NFC" } : null,
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        ...pre.regexes.map((regex) => ({
          type: "Split",
          pattern: { Regex: regex },
          behavior: "Isolated",
          invert: false,
        })),
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: pre.ignoreMerges,
      vocab: _vocab(tokens),
      merges,
    },
  };
  return { json, addBos: false };
}

function _sentencePiece(
  header: GgufHeader,
  file: string,
  tokens: string[],
  types: number[],
  unkToken: string | null,
): { json: Record<string, unknown>; addBos: boolean } {
  const scores = metaArray(header, "tokenizer.ggml.scores", isNumber, file);
  if (scores === null || scores.length !== tokens.length) {
    throw ggufError(file, "a SentencePiece ('llama') vocabulary needs tokenizer.ggml.scores, one per token");
  }
  const addSpacePrefix = metaBool(header, "tokenizer.ggml.add_space_prefix", file) ?? true;
  const normalizers: Record<string, unknown>[] = [];
  if (addSpacePrefix) normalizers.push({ type: "Prepend", prepend: "▁" });
  normalizers.push({ type: "Replace", pattern: { String: " " }, content: "▁" });
  const decoders: Record<string, unknown>[] = [
    { type: "Replace", pattern: { String: "▁" }, content: " " },
    { type: "ByteFallback" },
    { type: "Fuse" },
  ];
  if (addSpacePrefix) decoders.push({ type: "Strip", content: " ", start: 1, stop: 0 });
  const json = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: _addedTokens(tokens, types),
    normalizer: { type: "Sequence", normalizers },
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: "Sequence", decoders },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: unkToken,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: _vocab(tokens),
      merges: sentencePieceMerges(tokens, scores),
    },
  };
  return { json, addBos: true };
}

/**
 * BPE merges equivalent to a SentencePiece vocabulary: every split of every piece into two
 * pieces that both exist, ordered by the score of the merged piece (highest first), then by
 * the length of the left and then the right part (shortest first), remaining ties in vocabulary
 * order and, within one piece, by the ids of the left then right part — the order
 * transformers' `generate_merges` produces.
 */
export function sentencePieceMerges(tokens: readonly string[], scores: readonly number[]): string[][] {
  const ids = new Map<string, number>();
  tokens.forEach((t, id) => {
    if (!ids.has(t)) ids.set(t, id);
  });
  const merges: { left: string; right: string; score: number; l: number; r: number; order: number }[] = [];
  for (const [piece, id] of ids) {
    const chars = Array.from(piece);
    const local: { left: string; right: string; l: number; r: number; lengths: number[] }[] = [];
    for (let i = 1; i < chars.length; i++) {
      const left = chars.slice(0, i).join("");
      const right = chars.slice(i).join("");
      const l = ids.get(left);
      const r = ids.get(right);
      if (l !== undefined && r !== undefined) {
        local.push({ left, right, l, r, lengths: [i, chars.length - i] });
      }
    }
    local.sort((a, b) => a.l - b.l || a.r - b.r);
    for (const m of local) {
      const [l, r] = m.lengths;
      merges.push({ left: m.left, right: m.right, score: scores[id], l, r, order: merges.length });
    }
  }
  merges.sort((a, b) => b.score - a.score || a.l - b.l || a.r - b.r || a.order - b.order);
  return merges.map((m) => [m.left, m.right]);
}

function _bosProcessor(bos: string, id: number): Record<string, unknown> {
  return {
    type: "TemplateProcessing",
    single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
    pair: [
      { SpecialToken: { id: bos, type_id: 0 } },
      { Sequence: { id: "A", type_id: 0 } },
      { SpecialToken: { id: bos, type_id: 0 } },
      { Sequence: { id: "B", type_id: 0 } },
    ],
    special_tokens: { [bos]: { id: bos, ids: [id], tokens: [bos] } },
  };
}
