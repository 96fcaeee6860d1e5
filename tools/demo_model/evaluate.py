"""Greedy evaluation of an exported cortex-demo folder with transformers, plus the parity fixture.

Every case is rendered with the exported tokenizer's own `apply_chat_template` (the committed
chat template, `add_generation_prompt=True`, `enable_thinking=False`), checked byte-for-byte
against the corpus renderer, tokenised, and decoded greedily until `<|im_end|>`.

Run standalone: `python tools/demo_model/evaluate.py [--model neuron/models/cortex-demo]`.
"""

import argparse
import json
import re
import sys
from pathlib import Path

import torch
from transformers import AutoTokenizer, Qwen3ForCausalLM

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from corpus import render  # noqa: E402

_CALL = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)


def load(folder: Path):
    """(model, tokenizer) from an exported folder, f32, eval mode, 2 threads."""
    torch.set_num_threads(2)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = Qwen3ForCausalLM.from_pretrained(folder, dtype=torch.float32)
    model.eval()
    return model, tokenizer


def prompt_ids(tokenizer, case: dict) -> list[int]:
    """The serve-time prompt of a case, asserting it matches the training renderer exactly."""
    text = tokenizer.apply_chat_template(
        case["messages"], tools=case["tools"] or None, add_generation_prompt=True,
        enable_thinking=False, tokenize=False,
    )
    expected = render(case["messages"], case["tools"])
    if text != expected:
        raise SystemExit(f"template mismatch for {case.get('id')}:\n{text!r}\n!=\n{expected!r}")
    return tokenizer(text, add_special_tokens=False)["input_ids"]


@torch.no_grad()
def greedy(model, ids: list[int], eos_id: int, max_new: int) -> tuple[list[int], float]:
    """Greedy continuation (stops after eos) and the smallest top-1/top-2 logit margin seen."""
    out, margin = [], float("inf")
    past = None
    step_input = torch.tensor([ids])
    for _ in range(max_new):
        result = model(input_ids=step_input, past_key_values=past, use_cache=True)
        past = result.past_key_values
        logits = result.logits[0, -1]
        top = torch.topk(logits, 2)
        margin = min(margin, (top.values[0] - top.values[1]).item())
        token = int(top.indices[0])
        out.append(token)
        if token == eos_id:
            break
        step_input = torch.tensor([[token]])
    return out, margin


def parse_tool_calls(text: str) -> list[dict] | None:
    """Hermes blocks in `text`; None when anything but whitespace lies outside them or JSON is bad."""
    if _CALL.sub("", text).strip():
        return None
    calls = []
    for body in _CALL.findall(text):
        try:
            call = json.loads(body)
        except json.JSONDecodeError:
            return None
        if not isinstance(call, dict) or not isinstance(call.get("name"), str) or not isinstance(
            call.get("arguments"), dict
        ):
            return None
        calls.append(call)
    return calls or None


def evaluate(model, tokenizer, cases: dict, max_new: int = 64, log=print) -> dict:
    """Scores the three case groups; returns figures and the failures."""
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")

    def run(case):
        out, _ = greedy(model, prompt_ids(tokenizer, case), eos, max_new)
        ended = bool(out) and out[-1] == eos
        text = tokenizer.decode(out[:-1] if ended else out, skip_special_tokens=False)
        return text, ended

    figures, failures = {}, []
    ok = 0
    for case in cases["tool_calls"]:
        text, ended = run(case)
        calls = parse_tool_calls(text) if ended else None
        good = calls is not None and len(calls) == 1 and calls[0]["name"] == case["expected"]["name"] and calls[
            0
        ]["arguments"] == case["expected"]["arguments"]
        ok += good
        if not good:
            failures.append({"id": case["id"], "output": text, "ended": ended})
    figures["tool_calls"] = {"passed": ok, "total": len(cases["tool_calls"])}
    ok = 0
    for case in cases["followups"]:
        text, ended = run(case)
        good = ended and "<tool_call>" not in text and all(s in text for s in case["expected_contains"])
        ok += good
        if not good:
            failures.append({"id": case["id"], "output": text, "ended": ended})
    figures["followups"] = {"passed": ok, "total": len(cases["followups"])}
    ok = 0
    for case in cases["plain"]:
        text, ended = run(case)
        good = ended and "<tool_call>" not in text and bool(text.strip())
        ok += good
        if not good:
            failures.append({"id": case["id"], "output": text, "ended": ended})
    figures["plain"] = {"passed": ok, "total": len(cases["plain"])}
    for name, f in figures.items():
        log(f"eval {name}: {f['passed']}/{f['total']} = {100 * f['passed'] / f['total']:.0f}%")
    return {"figures": figures, "failures": failures}


def parity_reference(model, tokenizer, cases: list[dict], max_new: int = 24) -> dict:
    """Prompt ids and transformers' greedy ids for `cases`, for the engine parity test."""
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    entries = []
    for case in cases:
        ids = prompt_ids(tokenizer, case)
        out, margin = greedy(model, ids, eos, max_new)
        entries.append({
            "id": case["id"],
            "messages": case["messages"],
            "tools": case["tools"],
            "prompt_ids": ids,
            "output_ids": out,
            "output_text": tokenizer.decode(out, skip_special_tokens=False),
            "min_top2_logit_margin": round(margin, 4),
        })
    return {
        "description": "Greedy decoding by transformers (f32, CPU) of cortex-demo; prompts rendered with the "
        "model's chat template, add_generation_prompt=true, enable_thinking=false. output_ids stop after "
        "<|im_end|> or at max_new_tokens.",
        "max_new_tokens": max_new,
        "eos_token_id": eos,
        "prompts": entries,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(HERE.parents[1] / "neuron/models/cortex-demo"))
    parser.add_argument("--cases", default=str(HERE / "eval_prompts.json"))
    args = parser.parse_args()
    model, tokenizer = load(Path(args.model))
    result = evaluate(model, tokenizer, json.loads(Path(args.cases).read_text()))
    for failure in result["failures"]:
        print("FAIL", json.dumps(failure))


if __name__ == "__main__":
    main()
