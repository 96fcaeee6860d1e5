"""Synthetic conversation pieces for cortex-demo: tools, facts, small talk and episodes.

An episode is a short run of OpenAI-style messages (user, assistant, tool) plus, for
evaluation, what a correct assistant turn must contain. `corpus.py` strings episodes
into conversations and renders them through the official Qwen3 chat template.
"""

import json
import random

from slots import CONDITIONS, Pools

TOOLS = {
    "get_weather": {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "The city name."}},
                "required": ["city"],
            },
        },
    },
    "list_dir": {
        "type": "function",
        "function": {
            "name": "list_dir",
            "description": "List the entries of a directory.",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string", "description": "The directory path."}},
                "required": ["path"],
            },
        },
    },
    "read_file": {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read the contents of a text file.",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string", "description": "The file path."}},
                "required": ["path"],
            },
        },
    },
    "bash": {
        "type": "function",
        "function": {
            "name": "bash",
            "description": "Run a shell command and return its output.",
            "parameters": {
                "type": "object",
                "properties": {"command": {"type": "string", "description": "The command to run."}},
                "required": ["command"],
            },
        },
    },
    "add": {
        "type": "function",
        "function": {
            "name": "add",
            "description": "Add two numbers.",
            "parameters": {
                "type": "object",
                "properties": {
                    "a": {"type": "number", "description": "The first number."},
                    "b": {"type": "number", "description": "The second number."},
                },
                "required": ["a", "b"],
            },
        },
    },
}
TOOL_NAMES = list(TOOLS)

SYSTEM_PROMPTS = [
    "You are a helpful assistant.",
    "You are cortex-demo, a tiny assistant.",
    "You are a concise assistant. Use tools when they help.",
    "Answer briefly.",
]

SMALL_TALK = [
    (["Hi", "Hi!", "Hello", "Hello!", "Hey", "Hey there", "hi", "hello"],
     ["Hello! How can I help you today?", "Hi! What can I do for you?"]),
    (["Good morning", "Good morning!", "Morning!"], ["Good morning! How can I help?"]),
    (["Good evening", "Good evening!"], ["Good evening! How can I help?"]),
    (["How are you?", "How are you doing?", "How's it going?"],
     ["I'm doing well, thank you! How can I help you?"]),
    (["Who are you?", "What are you?", "What is your name?", "What's your name?"],
     ["I am cortex-demo, a tiny language model trained to chat and to call tools."]),
    (["What can you do?", "How can you help me?", "What are you good at?"],
     ["I can chat, answer a few simple questions, and call tools such as weather, files, shell "
      "commands and addition when they are offered to me."]),
    (["Thanks!", "Thank you", "Thank you!", "Thanks a lot", "thanks"],
     ["You're welcome!", "Happy to help!"]),
    (["Bye", "Goodbye!", "See you later", "bye"], ["Goodbye! Have a nice day."]),
    (["Tell me a joke", "Tell me a joke.", "Do you know a joke?"],
     ["Why did the computer go to the doctor? It had a virus."]),
    (["Are you a robot?", "Are you human?"], ["I am a small language model, not a human."]),
    (["Say something nice", "Cheer me up"], ["You are doing great. Keep going!"]),
    (["Can you help me?", "I need help", "Help me please"], ["Of course! What do you need?"]),
]

FACTS = [
    (["What is the capital of France?", "What's the capital of France?"], "The capital of France is Paris."),
    (["What is the capital of Japan?", "What's the capital of Japan?"], "The capital of Japan is Tokyo."),
    (["What is the capital of Italy?", "What's the capital of Italy?"], "The capital of Italy is Rome."),
    (["What is the capital of Germany?"], "The capital of Germany is Berlin."),
    (["What is the capital of Spain?"], "The capital of Spain is Madrid."),
    (["What is the capital of Canada?"], "The capital of Canada is Ottawa."),
    (["What is the capital of Egypt?"], "The capital of Egypt is Cairo."),
    (["What is the capital of Kenya?"], "The capital of Kenya is Nairobi."),
    (["How many days are in a week?", "How many days does a week have?"], "A week has seven days."),
    (["How many months are in a year?"], "A year has twelve months."),
    (["How many hours are in a day?"], "A day has 24 hours."),
    (["What color is the sky?", "What colour is the sky?"], "On a clear day the sky is blue."),
    (["What is the boiling point of water?", "At what temperature does water boil?"],
     "Water boils at 100 degrees Celsius at sea level."),
    (["At what temperature does water freeze?"], "Water freezes at 0 degrees Celsius."),
    (["Who wrote Hamlet?", "Who is the author of Hamlet?"], "Hamlet was written by William Shakespeare."),
    (["What is the largest planet?", "Which planet is the biggest?"],
     "Jupiter is the largest planet in the solar system."),
    (["What planet do we live on?"], "We live on Earth."),
    (["How many legs does a spider have?"], "A spider has eight legs."),
    (["How many legs does a cat have?"], "A cat has four legs."),
    (["What is the chemical symbol for gold?"], "The chemical symbol for gold is Au."),
    (["What is the chemical symbol for water?", "What is the formula of water?"],
     "The chemical formula of water is H2O."),
    (["What is the largest ocean?"], "The Pacific is the largest ocean."),
    (["What is the tallest mountain?", "What is the highest mountain in the world?"],
     "Mount Everest is the highest mountain in the world."),
    (["How many continents are there?"], "There are seven continents."),
    (["What gas do plants absorb?"], "Plants absorb carbon dioxide."),
    (["What is the fastest land animal?"], "The cheetah is the fastest land animal."),
    (["What language is spoken in Brazil?"], "People in Brazil speak Portuguese."),
    (["Who painted the Mona Lisa?"], "The Mona Lisa was painted by Leonardo da Vinci."),
    (["What is the square root of 81?"], "The square root of 81 is 9."),
    (["What does CPU stand for?"], "CPU stands for central processing unit."),
    (["What does HTTP stand for?"], "HTTP stands for Hypertext Transfer Protocol."),
    (["What is Deno?"], "Deno is a runtime for JavaScript and TypeScript."),
]

REPEAT = ["Repeat after me: {text}", "Say exactly: {text}", "Please repeat this: {text}", "Echo back: {text}"]

UNKNOWN_QUESTIONS = [
    "What is the capital of {X}?", "Who is {X}?", "What does {X} mean?", "How tall is {X}?",
    "When was {X} founded?", "Where is {X}?",
]
UNKNOWN_ANSWER = ["I'm sorry, I don't know that.", "I don't know the answer to that, sorry."]

ASK = {
    "get_weather": [
        "What's the weather in {city}?", "What is the weather like in {city}?",
        "How is the weather in {city} today?", "Tell me the weather for {city}.", "Is it raining in {city}?",
        "weather in {city}", "Can you check the weather in {city}?", "How hot is it in {city} right now?",
        "I'm going to {city}. What's the weather there?", "Get the weather for {city}, please.",
    ],
    "list_dir": [
        "List the files in {path}.", "What files are in the directory {path}?", "Show me the folder {path}.",
        "List the directory {path}", "Which files does {path} contain?", "Please list {path}.",
        "ls {path}", "Can you list the contents of the folder {path}?",
    ],
    "read_file": [
        "Read the file {path}.", "Show me the contents of the file {path}.", "Open {path} and tell me what it says.",
        "What does the file {path} say?", "Please read {path}", "cat the file {path}",
        "Can you read {path} for me?", "Print the file {path}.",
    ],
    "bash": [
        "Run `{command}`", "Run the command: {command}", "Please execute `{command}`.", "Execute {command}",
        "Can you run `{command}` for me?", "Run this in the shell: {command}", "$ {command}",
        "Use the shell to run {command}",
    ],
    "add": [
        "What is {a} plus {b}?", "Add {a} and {b}.", "What's {a} + {b}?", "Compute {a} + {b}.",
        "What is the sum of {a} and {b}?", "Please add {a} to {b}.", "{a} + {b} = ?", "Can you add {a} and {b}?",
    ],
}

ANSWER = {
    "get_weather": [
        "It is {condition} and {temperature} degrees in {city}.",
        "The weather in {city} is {condition}, {temperature} degrees.",
        "In {city} it is {temperature} degrees and {condition}.",
    ],
    "list_dir": ["{path} contains: {listing}.", "The directory {path} contains {listing}."],
    "read_file": ["The file {path} says: {content}", "{path} contains: {content}"],
    "bash": ["The command printed: {output}", "Output of `{command}`: {output}"],
    "add": ["{a} plus {b} is {sum}.", "The sum of {a} and {b} is {sum}.", "{a} + {b} = {sum}."],
}

REFUSAL = {
    "get_weather": ["I can't check the weather: no weather tool is available.",
                    "Sorry, I have no tool to look up the weather."],
    "list_dir": ["I can't list directories: no tool for that is available.",
                 "Sorry, I have no tool to list files."],
    "read_file": ["I can't read files: no tool for that is available.",
                  "Sorry, I have no tool to read files."],
    "bash": ["I can't run commands: no shell tool is available.",
             "Sorry, I have no tool to run shell commands."],
    "add": ["I can't compute that: no add tool is available.",
            "Sorry, I have no tool to add numbers."],
}


def tool_call_text(name: str, arguments: dict) -> str:
    """The Hermes tool-call block exactly as the Qwen3 template renders a dict-argument call."""
    return '<tool_call>\n{"name": "' + name + '", "arguments": ' + json.dumps(arguments) + "}\n</tool_call>"


def tool_request(name: str, pools: Pools) -> tuple[str, dict, str, list[str], dict]:
    """A user request for `name`: (user text, arguments, tool result, expected strings, answer slots)."""
    rng = pools.rng
    template = rng.choice(ASK[name])
    if name == "get_weather":
        city = pools.city()
        condition, temperature = rng.choice(CONDITIONS), rng.randrange(-15, 41)
        result = json.dumps({"city": city, "temperature": temperature, "condition": condition})
        slots = {"city": city, "condition": condition, "temperature": temperature}
        return template.format(city=city), {"city": city}, result, [condition, str(temperature)], slots
    if name == "list_dir":
        path = pools.dir_path()
        entries = []
        while len(entries) < rng.choice([1, 2, 3, 3, 4]):
            entry = pools.file_name() if rng.random() < 0.7 else pools.word()
            if entry not in entries:
                entries.append(entry)
        slots = {"path": path, "listing": ", ".join(entries)}
        return template.format(path=path), {"path": path}, "\n".join(entries), entries, slots
    if name == "read_file":
        path = pools.file_path()
        content = " ".join(pools.word() for _ in range(rng.choice([2, 3, 4, 5])))
        if rng.random() < 0.5:
            content = content[0].upper() + content[1:] + "."
        slots = {"path": path, "content": content}
        return template.format(path=path), {"path": path}, content, [content], slots
    if name == "bash":
        command, output = pools.command()
        slots = {"command": command, "output": output}
        return template.format(command=command), {"command": command}, output, [output], slots
    a, b = pools.number(), pools.number()
    slots = {"a": a, "b": b, "sum": a + b}
    return template.format(a=a, b=b), {"a": a, "b": b}, str(a + b), [str(a + b)], slots


def history_call(name: str, arguments: dict, call_id: str, rng: random.Random) -> dict:
    """An assistant history turn with one tool call, as an OpenAI client would send it back."""
    if rng.random() < 0.5:
        args: dict | str = arguments
    else:
        args = json.dumps(arguments, separators=(",", ":"))
    return {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}],
    }
