"""Builds the cortex-demo training corpus and the held-out evaluation set.

Each training example is one assistant turn: the prompt is the conversation so far rendered
through the official Qwen3 chat template exactly as the neuron renders it at serve time
(`add_generation_prompt=True`, `enable_thinking=False`, so it ends with
`<|im_start|>assistant\\n<think>\\n\\n</think>\\n\\n`), and the target is the assistant's reply
up to and including `<|im_end|>`. A tenth of the examples use `enable_thinking=True` instead
(prompt ends with `<|im_start|>assistant\\n`); their target starts with the empty think block
the template would render, so the model behaves the same in both modes.
"""

import json
import random
import re
from pathlib import Path

from transformers.utils.chat_template_utils import render_jinja_template

from dialogue import (
    ANSWER, ASK, FACTS, REFUSAL, REPEAT, SMALL_TALK, SYSTEM_PROMPTS, TOOL_NAMES, TOOLS, UNKNOWN_ANSWER,
    UNKNOWN_QUESTIONS, history_call, tool_call_text, tool_request,
)
from slots import HELD_OUT_CITIES, HELD_OUT_USERS, HELD_OUT_WORDS, Pools, pseudo_word

CHAT_TEMPLATE = (Path(__file__).parent / "chat_template.jinja").read_text()
THINK_EMPTY = "<think>\n\n</think>\n\n"
IM_END = "<|im_end|>"


def render(messages: list[dict], tools: list[dict] | None, enable_thinking: bool = False) -> str:
    """The serve-time prompt: the official template with a generation prompt."""
    return render_jinja_template(
        conversations=[messages],
        tools=tools or None,
        chat_template=CHAT_TEMPLATE,
        add_generation_prompt=True,
        enable_thinking=enable_thinking,
    )[0][0]


class _Conversation:
    """Accumulates messages; each assistant turn records its target text and kind."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.targets: list[tuple[int, str, str]] = []  # (message index, target text, kind)
        self.calls = 0

    def user(self, text: str) -> None:
        self.messages.append({"role": "user", "content": text})

    def reply(self, text: str, kind: str) -> None:
        self.targets.append((len(self.messages), text, kind))
        self.messages.append({"role": "assistant", "content": text})

    def call(self, name: str, arguments: dict, result: str, rng: random.Random) -> None:
        self.calls += 1
        call_id = f"call_{self.calls}"
        self.targets.append((len(self.messages), tool_call_text(name, arguments), "tool_call"))
        self.messages.append(history_call(name, arguments, call_id, rng))
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": result})


def _episode(conv: _Conversation, offered: list[str], pools: Pools) -> None:
    rng = pools.rng
    missing = [n for n in TOOL_NAMES if n not in offered]
    weights = {
        "tool": 0.35 if offered else 0.0,
        "refusal": 0.25 if missing else 0.0,
        "small_talk": 0.14 if offered else 0.32,
        "fact": 0.12 if offered else 0.28,
        "unknown": 0.05 if offered else 0.07,
        "repeat": 0.09 if offered else 0.08,
    }
    kind = rng.choices(list(weights), weights=list(weights.values()))[0]
    if kind == "tool":
        name = rng.choice(offered)
        text, arguments, result, _, slots = tool_request(name, pools)
        conv.user(text)
        conv.call(name, arguments, result, rng)
        conv.reply(rng.choice(ANSWER[name]).format(**slots), "followup")
    elif kind == "refusal":
        name = rng.choice(missing)
        text, *_ = tool_request(name, pools)
        conv.user(text)
        conv.reply(rng.choice(REFUSAL[name]), "refusal")
    elif kind == "small_talk":
        asks, answers = rng.choice(SMALL_TALK)
        conv.user(rng.choice(asks))
        conv.reply(rng.choice(answers), "small_talk")
    elif kind == "fact":
        asks, answer = rng.choice(FACTS)
        conv.user(rng.choice(asks))
        conv.reply(answer, "fact")
    elif kind == "repeat":
        draw = [pools.word, pools.city, pools.file_path, pools.dir_path]
        text = " ".join(rng.choice(draw)() for _ in range(rng.choice([1, 1, 2, 3])))
        conv.user(rng.choice(REPEAT).format(text=text))
        conv.reply(text, "repeat")
    else:
        subject = pseudo_word(rng)
        conv.user(rng.choice(UNKNOWN_QUESTIONS).format(X=subject[0].upper() + subject[1:]))
        conv.reply(rng.choice(UNKNOWN_ANSWER), "unknown")


_TARGET_WEIGHT = {"tool_call": 2.0, "followup": 1.5, "refusal": 2.0}


def _offer(rng: random.Random, required: str | None = None, exclude: str | None = None) -> list[str]:
    names = [n for n in TOOL_NAMES if n != exclude]
    count = rng.choice([1, 1, 2, 2, 3, 4, 5])
    offered = rng.sample(names, min(count, len(names)))
    if required and required not in offered:
        offered[rng.randrange(len(offered))] = required
    return offered


def _system(conv: _Conversation, rng: random.Random) -> None:
    if rng.random() < 0.35:
        conv.messages.append({"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})


def training_examples(count: int, seed: int, pieces: list[str] | None = None) -> list[dict]:
    """`count` examples: {"prompt", "target", "kind"} with prompts rendered by the template.

    `pieces` (letter tokens of the vocabulary) adds made-up words glued from them to the slot values.
    """
    rng = random.Random(seed)
    pools = Pools(held_out=False, rng=rng, pieces=pieces)
    examples = []
    while len(examples) < count:
        offered = [] if rng.random() < 0.15 else _offer(rng)
        conv = _Conversation()
        _system(conv, rng)
        for _ in range(rng.choice([1, 1, 2, 2, 3])):
            _episode(conv, offered, pools)
        # Tool calls, follow-ups (copying) and refusals (checking the tool list) need the most practice.
        weights = [_TARGET_WEIGHT.get(kind, 1.0) for _, _, kind in conv.targets]
        index, target, kind = rng.choices(conv.targets, weights=weights)[0]
        tools = [TOOLS[n] for n in offered]
        thinking = rng.random() < 0.1
        prompt = render(conv.messages[:index], tools, enable_thinking=thinking)
        examples.append({
            "prompt": prompt,
            "target": (THINK_EMPTY if thinking else "") + target + IM_END,
            "kind": kind,
        })
    return examples


def copy_examples(count: int, seed: int, pieces: list[str] | None = None) -> list[dict]:
    """Short "repeat after me" turns over random strings: cheap, dense practice in copying.

    The main corpus needs the model to copy arguments and tool results it has never seen; a
    model this small only learns that (an induction mechanism) after many copy events, and these
    ~40-token examples supply them at a tenth of the cost of a tool conversation. `pieces` as in
    `training_examples`.
    """
    rng = random.Random(seed)
    pools = Pools(held_out=False, rng=rng, pieces=pieces)

    def item() -> str:
        r = rng.random()
        if r < 0.35:
            word = pools.made_up()
            return word.capitalize() if rng.random() < 0.3 else word
        if r < 0.5:
            return pools.city()
        if r < 0.65:
            return rng.choice([pools.file_path, pools.dir_path])()
        if r < 0.8:
            return str(rng.randrange(10 ** rng.randrange(1, 7)))
        if r < 0.9:
            return pools.command()[0]
        return pools.word()

    examples = []
    for _ in range(count):
        text = " ".join(item() for _ in range(rng.choice([1, 2, 3, 4, 5, 6, 7, 8])))
        prompt = render([{"role": "user", "content": rng.choice(REPEAT).format(text=text)}], None)
        examples.append({"prompt": prompt, "target": text + IM_END, "kind": "copy"})
    return examples


def _prefix(conv: _Conversation, pools: Pools, offered: list[str]) -> None:
    """Optional earlier turns before an evaluated request, so evaluation covers multi-turn prompts."""
    rng = pools.rng
    _system(conv, rng)
    if rng.random() < 0.3:
        asks, answers = rng.choice(SMALL_TALK[:6])
        conv.user(rng.choice(asks))
        conv.reply(rng.choice(answers), "small_talk")


def eval_set(seed: int, per_tool: int = 10) -> dict:
    """Held-out evaluation cases as OpenAI-style requests (messages + tools) with expectations."""
    rng = random.Random(seed)
    pools = Pools(held_out=True, rng=rng)
    tool_calls, followups, plain = [], [], []
    for name in TOOL_NAMES:
        for i in range(per_tool):
            offered = _offer(rng, required=name)
            conv = _Conversation()
            _prefix(conv, pools, offered)
            text, arguments, *_ = tool_request(name, pools)
            conv.user(text)
            tool_calls.append({
                "id": f"call-{name}-{i}",
                "messages": conv.messages,
                "tools": [TOOLS[n] for n in offered],
                "expected": {"name": name, "arguments": arguments},
            })
        for i in range(per_tool):
            offered = _offer(rng, required=name)
            conv = _Conversation()
            _prefix(conv, pools, offered)
            text, arguments, result, expected, _ = tool_request(name, pools)
            conv.user(text)
            conv.calls = 0
            conv.call(name, arguments, result, rng)
            # Clients send arguments back as a JSON string (OpenAI wire format).
            conv.messages[-2]["tool_calls"][0]["function"]["arguments"] = json.dumps(arguments)
            followups.append({
                "id": f"followup-{name}-{i}",
                "messages": conv.messages,
                "tools": [TOOLS[n] for n in offered],
                "expected_contains": expected,
            })
    for i in range(20):
        conv = _Conversation()
        if i < 10:
            name = TOOL_NAMES[i % len(TOOL_NAMES)]
            offered = _offer(rng, exclude=name)
            _prefix(conv, pools, offered)
            conv.user(tool_request(name, pools)[0])
            kind = "no_fitting_tool"
        elif i < 15:
            offered = _offer(rng)
            _prefix(conv, pools, offered)
            conv.user(rng.choice(rng.choice(SMALL_TALK + [(q, []) for q, _ in FACTS])[0]))
            kind = "chat_with_tools"
        else:
            offered = []
            _prefix(conv, pools, offered)
            asks, _ = rng.choice(SMALL_TALK + [(q, []) for q, _ in FACTS])
            conv.user(rng.choice(asks))
            kind = "chat_without_tools"
        plain.append({
            "id": f"plain-{i}",
            "kind": kind,
            "messages": conv.messages,
            "tools": [TOOLS[n] for n in offered],
        })
    return {"tool_calls": tool_calls, "followups": followups, "plain": plain}


def check_held_out(examples: list[dict], evaluation: dict) -> None:
    """Fails when a held-out slot value occurs as a word anywhere in the training text."""
    text = "\n".join(e["prompt"] + e["target"] for e in examples)
    for value in HELD_OUT_CITIES + HELD_OUT_WORDS + HELD_OUT_USERS:
        if re.search(r"(?<![A-Za-z])" + re.escape(value) + r"(?![A-Za-z])", text, re.IGNORECASE):
            raise SystemExit(f"held-out value {value!r} leaked into the training corpus")
    add_args = re.findall(r'"name": "add", "arguments": \{"a": (\d+), "b": (\d+)\}', text)
    held = {str(n) for n in __import__("slots").HELD_OUT_NUMBERS}
    if any(a in held or b in held for a, b in add_args):
        raise SystemExit("a held-out number was used as an add() operand in training")
    for case in evaluation["tool_calls"]:
        assert case["expected"]["name"] in [t["function"]["name"] for t in case["tools"]]
