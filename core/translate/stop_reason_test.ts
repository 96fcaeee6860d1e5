import assert from "node:assert/strict";
import {
  anthropicStopToChatFinish,
  chatFinishToAnthropicStop,
  chatFinishToResponsesStatus,
  responsesStatusToChatFinish,
} from "./stop_reason.ts";
import { anthropicUsageToChat, chatUsageToAnthropic, chatUsageToResponses } from "./usage.ts";

Deno.test("stop reasons map in every direction", () => {
  const table = [
    ["stop", "end_turn", "completed"],
    ["length", "max_tokens", "incomplete"],
    ["tool_calls", "end_turn", "completed"],
    ["content_filter", "refusal", "incomplete"],
  ] as const;
  for (const [chat, anthropic, status] of table) {
    assert.equal(chatFinishToAnthropicStop(chat), anthropic, chat);
    assert.equal(chatFinishToResponsesStatus(chat).status, status, chat);
  }
  assert.equal(chatFinishToAnthropicStop("stop", { hasToolCalls: true }), "tool_use");
  assert.equal(chatFinishToAnthropicStop("length", { hasToolCalls: true }), "tool_use");
  assert.equal(chatFinishToAnthropicStop("stop", { matchedStopSequence: "x" }), "stop_sequence");
  assert.equal(chatFinishToAnthropicStop(null), "end_turn");
  assert.equal(anthropicStopToChatFinish("end_turn"), "stop");
  assert.equal(anthropicStopToChatFinish("stop_sequence"), "stop");
  assert.equal(anthropicStopToChatFinish("max_tokens"), "length");
  assert.equal(anthropicStopToChatFinish("tool_use"), "tool_calls");
  assert.equal(anthropicStopToChatFinish("refusal"), "content_filter");
  assert.equal(
    responsesStatusToChatFinish({ status: "completed", incomplete_details: null, output: [] }),
    "stop",
  );
  assert.equal(
    responsesStatusToChatFinish({
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
      output: [],
    }),
    "length",
  );
  assert.equal(
    responsesStatusToChatFinish({
      status: "completed",
      incomplete_details: null,
      output: [{
        type: "function_call",
        id: "f",
        call_id: "c",
        name: "n",
        arguments: "{}",
        status: "completed",
      }],
    }),
    "tool_calls",
  );
});

Deno.test("usage maps with cached tokens in every dialect and round-trips through Anthropic", () => {
  const usage = {
    prompt_tokens: 1000,
    completion_tokens: 50,
    total_tokens: 1050,
    prompt_tokens_details: { cached_tokens: 800 },
    completion_tokens_details: { reasoning_tokens: 10 },
  };
  const anthropic = chatUsageToAnthropic(usage);
  assert.deepEqual(anthropic, {
    input_tokens: 200,
    output_tokens: 50,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 800,
  });
  const back = anthropicUsageToChat(anthropic);
  assert.equal(back.prompt_tokens, 1000);
  assert.equal(back.completion_tokens, 50);
  assert.equal(back.prompt_tokens_details?.cached_tokens, 800);
  assert.deepEqual(chatUsageToResponses(usage), {
    input_tokens: 1000,
    input_tokens_details: { cached_tokens: 800 },
    output_tokens: 50,
    output_tokens_details: { reasoning_tokens: 10 },
    total_tokens: 1050,
  });
  assert.deepEqual(chatUsageToAnthropic(null), {
    input_tokens: 0,
    output_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  });
});
