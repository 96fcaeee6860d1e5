"""The cortex-demo recipe: corpus -> tokenizer -> Qwen3 training -> HF folder -> evaluation.

Deterministic for a given seed and thread count (CPU, f32). From the repository root:

    python tools/demo_model/recipe.py            # full run, writes neuron/models/cortex-demo/
    python tools/demo_model/recipe.py --out /tmp/cd2 --no-fixtures   # a re-run for comparison

Writes the model folder (config, generation config, weights, tokenizer, model card), the
held-out evaluation set `tools/demo_model/eval_prompts.json` and the parity fixture
`parity_reference.json` in the model folder.
"""

import argparse
import hashlib
import json
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from bpe import letter_pieces, train_tokenizer  # noqa: E402
from corpus import CHAT_TEMPLATE, check_held_out, copy_examples, eval_set, training_examples  # noqa: E402

EVAL_SEED = 20260109
TOKENIZER_EXAMPLES, TOKENIZER_COPIES = 20000, 40000
PARITY_IDS = [
    "call-get_weather-0", "call-list_dir-1", "call-read_file-2", "call-bash-3", "call-add-4",
    "followup-get_weather-5", "followup-bash-6", "followup-add-7", "plain-3", "plain-12",
]


def _args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--examples", type=int, default=70000, help="training examples (assistant turns)")
    p.add_argument("--copy-examples", dest="copy_examples", type=int, default=80000,
                   help="short repeat-after-me drills (copy warm-up)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--vocab", type=int, default=512)
    p.add_argument("--hidden", type=int, default=192)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--kv-heads", dest="kv_heads", type=int, default=4)
    p.add_argument("--head-dim", dest="head_dim", type=int, default=24)
    p.add_argument("--ffn", type=int, default=384)
    p.add_argument("--batch-tokens", dest="batch_tokens", type=int, default=4096)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", dest="weight_decay", type=float, default=0.05)
    p.add_argument("--prompt-weight", dest="prompt_weight", type=float, default=0.1)
    p.add_argument("--decision-weight", dest="decision_weight", type=float, default=3.0,
                   help="loss weight of each reply's first token (tool call or words)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--log-every", dest="log_every", type=int, default=25)
    p.add_argument("--out", default=str(ROOT / "neuron/models/cortex-demo"))
    p.add_argument("--no-fixtures", dest="fixtures", action="store_false",
                   help="do not rewrite eval_prompts.json, parity_reference.json and the model card")
    p.add_argument("--no-eval", dest="eval", action="store_false")
    p.add_argument("--tokenizer-only", dest="tokenizer_only", action="store_true",
                   help="stop after writing tokenizer.json to --out (reproducibility check)")
    p.add_argument("--finalize-only", dest="finalize_only", action="store_true",
                   help="skip training: evaluate --out as it is and rewrite the fixtures and model card")
    return p.parse_args(argv)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv=None) -> None:
    args = _args(argv)
    out = Path(args.out)
    began = time.time()

    def log(message: str) -> None:
        print(f"[{time.time() - began:6.0f}s] {message}", flush=True)

    cases = eval_set(EVAL_SEED)
    if args.finalize_only:
        summary = json.loads((out / "training_summary.json").read_text())
    else:
        summary = _train_and_export(args, out, cases, log)
    if args.eval:
        _evaluate(args, out, cases, summary, log)
    (out / "training_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if args.fixtures:
        _write_eval_prompts(cases)
        from model_card import write_model_card  # noqa: E402

        write_model_card(out, summary)
    log("summary " + json.dumps({k: v for k, v in summary.items() if k != "args"}))


def _train_and_export(args, out: Path, cases: dict, log) -> dict:
    # The tokenizer learns its merges from a fixed-size corpus of syllable-word conversations; the
    # model then trains on a corpus whose made-up words are half glued from the vocabulary's own
    # letter tokens, so that it learns to copy every token, not only the common pieces.
    tokenizer_text = training_examples(TOKENIZER_EXAMPLES, args.seed) + copy_examples(TOKENIZER_COPIES, args.seed + 1)
    tokenizer = train_tokenizer([e["prompt"] + e["target"] for e in tokenizer_text], args.vocab)
    log(f"tokenizer: {tokenizer.get_vocab_size()} tokens")
    if args.tokenizer_only:
        out.mkdir(parents=True, exist_ok=True)
        (out / "tokenizer.json").write_text(tokenizer.to_str(pretty=True) + "\n")
        log(f"tokenizer.json {_sha(out / 'tokenizer.json')}")
        raise SystemExit(0)

    pieces = letter_pieces(tokenizer)
    examples = training_examples(args.examples, args.seed, pieces)
    copies = copy_examples(args.copy_examples, args.seed + 1, pieces)
    check_held_out(tokenizer_text + examples + copies, cases)
    log(f"corpus: {len(examples)} examples + {len(copies)} copy drills ({len(pieces)} vocabulary pieces), "
        "held-out values absent from training")

    import torch  # noqa: E402  (after the corpus, so a bad corpus fails fast)
    from export import export  # noqa: E402
    from train import train  # noqa: E402

    t0 = time.time()
    model = train(examples, copies, tokenizer, args, log=log)
    train_seconds = time.time() - t0
    export(model, tokenizer, CHAT_TEMPLATE, out)
    log(f"exported to {out}: tokenizer.json {_sha(out / 'tokenizer.json')[:16]}, "
        f"model.safetensors {_sha(out / 'model.safetensors')[:16]}")
    args_record = {k: v for k, v in vars(args).items() if k not in ("out", "fixtures", "eval", "finalize_only", "tokenizer_only")}
    return {
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_seconds": round(train_seconds), "torch": torch.__version__, "args": args_record,
        "sha256": {name: _sha(out / name) for name in ("tokenizer.json", "model.safetensors")},
    }


def _evaluate(args, out: Path, cases: dict, summary: dict, log) -> None:
    from evaluate import evaluate, load, parity_reference  # noqa: E402

    loaded, hf_tokenizer = load(out)
    result = evaluate(loaded, hf_tokenizer, cases, log=log)
    summary["eval"] = result["figures"]
    for failure in result["failures"]:
        log("FAIL " + json.dumps(failure))
    if args.fixtures:
        by_id = {c["id"]: c for group in cases.values() for c in group}
        reference = parity_reference(loaded, hf_tokenizer, [by_id[i] for i in PARITY_IDS])
        text = json.dumps(reference, indent=1)
        # Token-id lists on one line each: the fixture stays readable and diffable.
        text = re.sub(r"\[[\d,\s-]+\]", lambda m: json.dumps(json.loads(m.group(0))), text)
        (out / "parity_reference.json").write_text(text + "\n")


def _write_eval_prompts(cases: dict) -> None:
    document = {
        "description": "Held-out evaluation set for cortex-demo (tools/demo_model/corpus.py, eval seed "
        f"{EVAL_SEED}). Every slot value (city, path, command, add operand) is absent from the training "
        "corpus. Render each case as an OpenAI chat request (messages + tools) with the model's chat "
        "template, add_generation_prompt=true, enable_thinking=false, and decode greedily until <|im_end|>.",
        "criteria": {
            "tool_calls": "the turn ends with <|im_end|>, holds exactly one well-formed <tool_call> block and "
            "nothing else, whose name equals expected.name and whose arguments deep-equal expected.arguments",
            "followups": "the turn ends with <|im_end|>, has no <tool_call>, and contains every string in "
            "expected_contains",
            "plain": "the turn ends with <|im_end|>, has no <tool_call>, and is not empty",
        },
        **cases,
    }
    (HERE / "eval_prompts.json").write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
