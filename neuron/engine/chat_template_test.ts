import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import type { ChatFunctionTool, ChatMessage } from "@cortex/core/openai";
import { ChatTemplate } from "./chat_template.ts";
import { ModelTokenizer } from "./tokenizer.ts";

const tinyQwen = new URL("../testdata/models/tiny-qwen3-f32", import.meta.url).pathname;

async function _qwenTemplate(): Promise<ChatTemplate> {
  const tokenizer = await ModelTokenizer.fromFolder(tinyQwen);
  return await ChatTemplate.fromFolder(tinyQwen, tokenizer.config);
}

const weatherTool: ChatFunctionTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

Deno.test("chat template: Qwen3's own template renders a plain chat with the generation prompt", async () => {
  const template = await _qwenTemplate();
  assert.equal(template.source, "tokenizer_config.json");
  const prompt = template.render([{ role: "system", content: "Be brief." }, { role: "user", content: "hi" }]);
  assert.equal(
    prompt,
    "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
  );
});

Deno.test("chat template: enable_thinking=false closes an empty think block in the prompt", async () => {
  const template = await _qwenTemplate();
  const prompt = template.render([{ role: "user", content: "hi" }], { kwargs: { enable_thinking: false } });
  assert.ok(prompt.endsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n"), JSON.stringify(prompt));
});

Deno.test("chat template: tools are rendered in the Hermes block of the system turn", async () => {
  const template = await _qwenTemplate();
  const prompt = template.render([{ role: "user", content: "weather?" }], { tools: [weatherTool] });
  assert.match(prompt, /^<\|im_start\|>system\n# Tools\n/);
  assert.ok(prompt.includes('<tools>\n{"type": "function", "function": {"name": "get_weather"'), prompt);
  assert.ok(
    prompt.includes('<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'),
  );
});

Deno.test("chat template: assistant tool calls (string arguments) and tool results render", async () => {
  const template = await _qwenTemplate();
  const messages: ChatMessage[] = [
    { role: "user", content: "weather in Paris?" },
    {
      role: "assistant",
      content: null,
      tool_calls: [{
        id: "call_1",
        type: "function",
        function: { name: "get_weather", arguments: '{"city":"Paris"}' },
      }],
    },
    { role: "tool", tool_call_id: "call_1", content: "sunny" },
  ];
  const prompt = template.render(messages, { tools: [weatherTool] });
  assert.ok(
    prompt.includes('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'),
    prompt,
  );
  assert.ok(prompt.includes("<|im_start|>user\n<tool_response>\nsunny\n</tool_response><|im_end|>"), prompt);
  assert.ok(prompt.endsWith("<|im_start|>assistant\n"));
});

Deno.test("chat template: text parts are joined; developer is a system turn; images are refused", async () => {
  const template = await _qwenTemplate();
  const prompt = template.render([
    { role: "developer", content: "rules" },
    { role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] },
  ]);
  assert.ok(prompt.startsWith("<|im_start|>system\nrules<|im_end|>\n<|im_start|>user\nab<|im_end|>"), prompt);
  assert.throws(
    () =>
      template.render([
        { role: "system", content: "s" },
        {
          role: "user",
          content: [{ type: "text", text: "look" }, { type: "image_url", image_url: { url: "data:," } }],
        },
      ]),
    (error: unknown) =>
      error instanceof CortexError && error.code === "vision_unsupported" && error.status === 400 &&
      error.param === "messages[1].content[1]" && error.message.includes("messages[1].content[1]"),
  );
});

Deno.test("chat template: ChatML fallback when the folder has no template", async () => {
  const template = await ChatTemplate.fromFolder("/nonexistent", {});
  assert.equal(template.source, "chatml");
  assert.equal(
    template.render([{ role: "user", content: "hi" }, { role: "assistant", content: null }]),
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n<|im_start|>assistant\n",
  );
});

Deno.test("chat template: chat_template.jinja wins; a render error falls back, or is a 422 with tools", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/chat_template.jinja`,
      "{% for m in messages %}{% if m.role == 'boom' %}{{ raise_exception('no boom') }}{% endif %}[{{ m.role }}]{{ m.content }}{% endfor %}",
    );
    const template = await ChatTemplate.fromFolder(dir, { chat_template: "ignored" });
    assert.equal(template.source, "chat_template.jinja");
    assert.equal(template.render([{ role: "user", content: "x" }]), "[user]x");
    const boom = [{ role: "boom", content: "x" }] as unknown as ChatMessage[];
    assert.equal(template.render(boom), "<|im_start|>boom\nx<|im_end|>\n<|im_start|>assistant\n");
    assert.throws(() => template.render(boom, { tools: [weatherTool] }), (error: unknown) => {
      assert.ok(error instanceof CortexError);
      assert.equal(error.code, "template_render_failed");
      assert.equal(error.status, 422);
      assert.match(error.message, /no boom/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
