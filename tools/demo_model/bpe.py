"""Trains the cortex-demo byte-level BPE tokenizer (Qwen2-style pre-tokenizer, <= 4096 tokens).

The pipeline has the shape of Qwen3's tokenizer.json (NFC normaliser, a regex Split that keeps
every digit a token of its own, byte-level alphabet, no unknown token), so any engine that
loads Qwen tokenizers loads this one. ChatML/tool markers are added tokens; like Qwen3's,
`<tool_call>`, `<tool_response>` and `<think>` (and their closers) are not "special", so
decoding with skip_special_tokens keeps them.
"""

import json
import re

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

# Qwen2's split regex, except that a run of letters never absorbs the character before it
# (Qwen2 has `[^\r\n\p{L}\p{N}]?\p{L}+`). So a word is the same tokens after a space, a quote or
# a slash, and copying "Oslo" from `in Oslo?` into `{"city": "Oslo"}` is a plain token copy, which
# a model this small learns far faster than re-spelling differently split pieces.
SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MARKERS = ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>", "</think>"]
# Fixed strings of a prompt with tools, as added tokens: the chat template's tools block (the
# text between the markers it contains) and the JSON scaffolding `tojson` writes around any
# OpenAI function definition. A prompt with three tools drops from about 330 BPE tokens to
# about 180, so training sees that many more conversations in the same time; a tool's name,
# description and parameter names stay ordinary BPE text.
TOOL_BLOCK = [
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>",
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within ",
    " XML tags:\n",
    '\n{"name": <function-name>, "arguments": <args-json-object>}\n',
    '{"type": "function", "function": {"name": "',
    '", "description": "',
    '", "parameters": {"type": "object", "properties": {"',
    '": {"type": "string", "description": "',
    '": {"type": "number", "description": "',
    '"}, "',
    '"}}, "required": ["',
    '"]}}}',
]
ADDED = SPECIAL + MARKERS + TOOL_BLOCK
_SPLIT_MARKERS = re.compile("|".join(re.escape(t) for t in sorted(ADDED, key=len, reverse=True)))


def train_tokenizer(texts: list[str], vocab_size: int) -> Tokenizer:
    """A byte-level BPE over `texts`; ids 0..20 are the added tokens, in ADDED order."""
    tokenizer = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        show_progress=False,
        special_tokens=[AddedToken(t, special=True, normalized=False) for t in ADDED],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    # Added tokens never take part in merges: train on the text between them.
    pieces = (piece for text in texts for piece in _SPLIT_MARKERS.split(text) if piece)
    tokenizer.train_from_iterator(pieces, trainer=trainer)
    return _mark_markers_non_special(tokenizer)


def _mark_markers_non_special(tokenizer: Tokenizer) -> Tokenizer:
    data = json.loads(tokenizer.to_str())
    for added in data["added_tokens"]:
        added["special"] = added["content"] in SPECIAL
    data["post_processor"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    return Tokenizer.from_str(json.dumps(data))


def letter_pieces(tokenizer: Tokenizer) -> list[str]:
    """Every lowercase letters-only token of the vocabulary, sorted."""
    return sorted(t for t in tokenizer.get_vocab() if re.fullmatch(r"[a-z]+", t))
