"""Writes the cortex-demo Hugging Face folder: config, generation config, weights, tokenizer.

The files are written explicitly (not through `save_pretrained` alone) so their content does
not drift with the transformers version: `config.json` carries both the transformers-5
`rope_parameters` and the classic top-level `rope_theta`/`torch_dtype` keys that Qwen3
loaders read, and `tokenizer_config.json` embeds the chat template.
"""

import json
from pathlib import Path

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer

from bpe import ADDED, SPECIAL


def _dump(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def export(model, tokenizer: Tokenizer, chat_template: str, folder: Path) -> None:
    """Writes the HF folder for `model` + `tokenizer` into `folder` (created if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = model.config
    eos_id = tokenizer.token_to_id("<|im_end|>")
    pad_id = tokenizer.token_to_id("<|endoftext|>")
    config = {
        "architectures": ["Qwen3ForCausalLM"],
        "model_type": "qwen3",
        "vocab_size": cfg.vocab_size,
        "hidden_size": cfg.hidden_size,
        "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads,
        "num_key_value_heads": cfg.num_key_value_heads,
        "head_dim": cfg.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": cfg.max_position_embeddings,
        "rms_norm_eps": cfg.rms_norm_eps,
        "rope_theta": cfg.rope_parameters["rope_theta"],
        "rope_scaling": None,
        "rope_parameters": {"rope_type": "default", "rope_theta": cfg.rope_parameters["rope_theta"]},
        "tie_word_embeddings": True,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "use_sliding_window": False,
        "sliding_window": None,
        "max_window_layers": cfg.num_hidden_layers,
        "initializer_range": cfg.initializer_range,
        "use_cache": True,
        "bos_token_id": pad_id,
        "eos_token_id": eos_id,
        "pad_token_id": pad_id,
        "torch_dtype": "float32",
        "dtype": "float32",
    }
    _dump(folder / "config.json", config)
    _dump(folder / "generation_config.json", {
        "bos_token_id": pad_id,
        "eos_token_id": [eos_id, pad_id],
        "pad_token_id": pad_id,
        "do_sample": False,
        "max_new_tokens": 256,
    })
    # Tied embeddings: lm_head shares embed_tokens, so only the latter is stored (as HF does).
    state = {k: v.detach().to(torch.float32).contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    save_file(dict(sorted(state.items())), str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "model.safetensors").chmod(0o644)
    (folder / "tokenizer.json").write_text(tokenizer.to_str(pretty=True) + "\n")
    added = {
        str(tokenizer.token_to_id(t)): {
            "content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
            "special": t in SPECIAL,
        }
        for t in ADDED
    }
    _dump(folder / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": added,
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "clean_up_tokenization_spaces": False,
        "errors": "replace",
        "model_max_length": cfg.max_position_embeddings,
        "split_special_tokens": False,
        "chat_template": chat_template,
    })
