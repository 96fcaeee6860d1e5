import assert from "node:assert/strict";
import { CortexError } from "../errors/mod.ts";
import { checkResponsesParameters } from "../responses/parameter_policy.ts";
import { parseWithSchema } from "../errors/zod_issues.ts";
import { ChatCompletionRequestSchema } from "./chat_request.ts";
import { CompletionRequestSchema } from "./completions.ts";
import { checkChatParameters, checkCompletionParameters } from "./parameter_policy.ts";

function refusal(check: () => void): { param: string | null; message: string } {
  try {
    check();
  } catch (error) {
    assert.ok(error instanceof CortexError);
    assert.equal(error.status, 400);
    assert.equal(error.code, "unsupported_parameter");
    return { param: error.param, message: error.message };
  }
  assert.fail("expected a refusal");
}

Deno.test("chat: SDK bookkeeping fields pass; unknown and unimplemented parameters are refused by name", () => {
  checkChatParameters({
    model: "m",
    messages: [],
    user: "u",
    metadata: {},
    store: true,
    service_tier: "auto",
    parallel_tool_calls: false,
    stream_options: { include_usage: true },
    tool_choice: "required",
    response_format: { type: "text" },
    logprobs: true,
    top_logprobs: 4,
    logit_bias: { "1": 2 },
  });
  for (
    const [body, param] of [
      [{ audio: {} }, "audio"],
      [{ n: 2 }, "n"],
      [{ response_format: { type: "json_schema", json_schema: { name: "x" } } }, "response_format"],
      [{ top_logprobs: 1 }, "top_logprobs"],
      [{ functions: [] }, "functions"],
    ] as const
  ) {
    const { param: named, message } = refusal(() =>
      checkChatParameters({ model: "m", messages: [], ...body })
    );
    assert.equal(named, param);
    assert.ok(message.startsWith(`${param}: `), message);
  }
});

Deno.test("completions: best_of, suffix, echo with logprobs, n and unknown keys are refused", () => {
  checkCompletionParameters({
    model: "m",
    prompt: [1, 2],
    best_of: 1,
    suffix: "",
    n: 1,
    echo: true,
    logprobs: null,
  });
  for (
    const [body, param] of [
      [{ best_of: 2 }, "best_of"],
      [{ suffix: "x" }, "suffix"],
      [{ echo: true, logprobs: 0 }, "echo"],
      [{ n: 4 }, "n"],
      [{ wat: 1 }, "wat"],
    ] as const
  ) {
    assert.equal(refusal(() => checkCompletionParameters({ model: "m", prompt: "p", ...body })).param, param);
  }
});

Deno.test("responses: Codex's fields pass; logprobs, background, truncation and unknown keys are refused", () => {
  checkResponsesParameters({
    model: "m",
    input: "hi",
    store: false,
    include: ["reasoning.encrypted_content"],
    prompt_cache_key: "k",
    tool_choice: "auto",
    parallel_tool_calls: false,
    text: { verbosity: "low" },
    // Codex 0.171 sends its session bookkeeping on every request.
    client_metadata: { session_id: "s", turn_id: "t" },
  });
  for (
    const [body, param] of [
      [{ top_logprobs: 3 }, "top_logprobs"],
      [{ include: ["message.output_text.logprobs"] }, "include"],
      [{ background: true }, "background"],
      [{ truncation: "auto" }, "truncation"],
      [{ text: { format: { type: "json_schema" } } }, "text.format"],
      [{ conversation: "c" }, "conversation"],
    ] as const
  ) {
    assert.equal(refusal(() => checkResponsesParameters({ model: "m", input: "hi", ...body })).param, param);
  }
});

Deno.test("schemas: logprobs bounds and prompt forms", () => {
  const chat = (extra: Record<string, unknown>) =>
    parseWithSchema(ChatCompletionRequestSchema, { model: "m", messages: [], ...extra });
  assert.ok(chat({ logprobs: true, top_logprobs: 20 }).ok);
  const tooMany = chat({ logprobs: true, top_logprobs: 21 });
  assert.ok(!tooMany.ok && tooMany.error.param === "top_logprobs");
  const completion = (extra: Record<string, unknown>) =>
    parseWithSchema(CompletionRequestSchema, { model: "m", prompt: "p", ...extra });
  assert.ok(completion({ prompt: [1, 2, 3] }).ok);
  assert.ok(completion({ prompt: [[1, 2], [3]] }).ok, "batches parse; the neuron refuses more than one");
  assert.ok(!completion({ prompt: [{}] }).ok);
  const bad = completion({ logprobs: 21 });
  assert.ok(
    !bad.ok && bad.error.param === "logprobs" && /logprobs: expected a number <= 20/.test(bad.error.message),
  );
});
