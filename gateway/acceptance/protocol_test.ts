// Acceptance: the protocol details real clients trip over, through a real gateway in front of a
// real neuron (tiny Qwen3 on a CPU device), keys on — Claude Code's probe, Codex's namespace (MCP)
// tools and its echo of an empty message item, `message_start` input tokens, `toolu_` ids,
// Responses errors naming `input`, `x-include-thinking`, `thinking: adaptive`, `defer_loading`.
// Each step failed before the change it pins.
import assert from "node:assert/strict";
import { SseDecoderStream } from "@cortex/core/sse";
import { spawnNeuron } from "../../neuron/testing/spawn_neuron.ts";
import { spawnGateway } from "../testing/spawn_gateway.ts";
import { havePlugin, post, TINY } from "./_fixtures.ts";

const KEY = "sk-proto-0123456789";
const ADMIN_KEY = "sk-proto-admin-0123";

// Codex's shape: each MCP server's tools as one namespace tool, and web search (hosted) by default.
const CODEX_TOOLS = [
  {
    type: "namespace",
    name: "mcp__orders",
    description: "Tools from the orders server.",
    tools: [{
      type: "function",
      name: "lookup",
      description: "Look up an order by id.",
      strict: false,
      parameters: { type: "object", properties: { id: { type: "number" } }, required: ["id"] },
    }],
  },
  { type: "web_search", external_web_access: false },
];

/** Reads a whole SSE body into its JSON data events. */
async function sseEvents(response: Response): Promise<Record<string, unknown>[]> {
  const events: Record<string, unknown>[] = [];
  for await (const event of response.body!.pipeThrough(new SseDecoderStream())) {
    if (event.data !== undefined && event.data !== "[DONE]") events.push(JSON.parse(event.data));
  }
  return events;
}

Deno.test({
  name: "acceptance: protocol details real clients depend on, across the wire",
  ignore: !havePlugin(),
  async fn(t) {
    const neuron = await spawnNeuron({ models: { tiny: TINY.f32 }, defaultModels: ["tiny"] });
    const gateway = await spawnGateway({
      neurons: [{ name: "n1", endpoint: neuron.url }],
      models: [{ id: "tiny", vram_mb: 3 }],
      gateway: { keys: [{ name: "user", key: KEY }, { name: "ops", key: ADMIN_KEY, admin: true }] },
    });
    const auth = { authorization: `Bearer ${KEY}` };
    const url = gateway.url;
    try {
      await gateway.waitFor(
        async () => (await gateway.fleet({ "x-api-key": ADMIN_KEY })).nodes[0].healthy,
        20_000,
        "node n1 healthy",
      );

      await t.step("HEAD and GET / and /api/hello answer 200 without a key", async () => {
        for (const path of ["/", "/api/hello"]) {
          for (const method of ["GET", "HEAD"]) {
            const response = await fetch(`${url}${path}`, { method });
            assert.equal(response.status, 200, `${method} ${path}`);
            await response.body?.cancel();
          }
        }
        const guarded = await fetch(`${url}/v1/models`);
        assert.equal(guarded.status, 401);
        await guarded.body?.cancel();
      });

      const codexTurn = (stream: boolean) => ({
        model: "tiny",
        input: "Look up order 7.",
        tools: CODEX_TOOLS,
        tool_choice: "required",
        parallel_tool_calls: false,
        max_output_tokens: 64,
        temperature: 0,
        store: false,
        stream,
      });

      await t.step(
        "a namespace tool reaches the model and its call comes back with the namespace; no empty message item",
        async () => {
          const response = await post(`${url}/v1/responses`, codexTurn(false), auth);
          assert.equal(response.status, 200);
          const body = await response.json();
          assert.deepEqual(body.output.map((i: { type: string }) => i.type), ["function_call"]);
          const call = body.output[0];
          assert.equal(call.name, "lookup");
          assert.equal(call.namespace, "mcp__orders");
          assert.equal(typeof JSON.parse(call.arguments), "object");

          const streamed = await post(`${url}/v1/responses`, codexTurn(true), auth);
          assert.equal(streamed.status, 200);
          const events = await sseEvents(streamed);
          const added = events.filter((e) => e.type === "response.output_item.added")
            .map((e) => (e.item as { type: string }).type);
          assert.deepEqual(added, ["function_call"]);
          const done = events[events.length - 1] as {
            type: string;
            response: { output: { type: string }[] };
          };
          assert.equal(done.type, "response.completed");
          assert.deepEqual(done.response.output.map((i) => i.type), ["function_call"]);
          assert.equal(
            (done.response.output[0] as unknown as { namespace: string }).namespace,
            "mcp__orders",
          );
        },
      );

      await t.step(
        "an echoed empty message item is dropped: the prompt is the same with or without it",
        async () => {
          const call = {
            type: "function_call",
            call_id: "call_1",
            name: "lookup",
            namespace: "mcp__orders",
            arguments: '{"id":7}',
          };
          const output = { type: "function_call_output", call_id: "call_1", output: "shipped" };
          const empty = { type: "message", role: "assistant", content: [{ type: "output_text", text: "" }] };
          const inputTokens = async (input: unknown[]) => {
            const response = await post(`${url}/v1/responses`, {
              model: "tiny",
              input,
              tools: CODEX_TOOLS,
              max_output_tokens: 1,
            }, auth);
            assert.equal(response.status, 200);
            return (await response.json()).usage.input_tokens as number;
          };
          const user = { role: "user", content: "Look up order 7." };
          const clean = await inputTokens([user, call, output]);
          assert.equal(await inputTokens([user, call, empty, output]), clean);
          assert.ok(clean > 0);
        },
      );

      await t.step("an unknown tool kind is a 400 naming tools[i].type, not dropped", async () => {
        const response = await post(`${url}/v1/responses`, {
          model: "tiny",
          input: "hi",
          tools: [...CODEX_TOOLS, { type: "custom", name: "apply_patch" }],
        }, auth);
        assert.equal(response.status, 400);
        const error = (await response.json()).error;
        assert.equal(error.param, "tools[2].type");
        assert.match(error.message, /"custom" is not supported/);
      });

      await t.step("Responses errors name input (a prompt longer than the context)", async () => {
        const response = await post(
          `${url}/v1/responses`,
          { model: "tiny", input: "word ".repeat(2000) },
          auth,
        );
        assert.equal(response.status, 400);
        const error = (await response.json()).error;
        assert.equal(error.code, "context_length_exceeded");
        assert.equal(error.param, "input");
      });

      const anthropicTurn = (stream: boolean) => ({
        model: "tiny",
        max_tokens: 48,
        temperature: 0,
        messages: [{ role: "user", content: "Look up order 7." }],
        tools: [{
          name: "lookup",
          description: "Look up an order by id.",
          input_schema: { type: "object", properties: { id: { type: "number" } }, required: ["id"] },
          defer_loading: true,
        }],
        tool_choice: { type: "tool", name: "lookup", disable_parallel_tool_use: true },
        stream,
      });

      await t.step(
        "Anthropic: message_start reports the prompt tokens; tool_use ids are toolu_; defer_loading tools are offered",
        async () => {
          const whole = await post(`${url}/v1/messages`, anthropicTurn(false), auth);
          assert.equal(whole.status, 200);
          const message = await whole.json();
          const prompt = message.usage.input_tokens + message.usage.cache_read_input_tokens;
          assert.ok(prompt > 0);
          const use = message.content.find((b: { type: string }) => b.type === "tool_use");
          assert.equal(use.name, "lookup");
          assert.match(use.id, /^toolu_[A-Za-z0-9_-]+$/);

          const streamed = await post(`${url}/v1/messages`, anthropicTurn(true), auth);
          assert.equal(streamed.status, 200);
          const events = await sseEvents(streamed);
          const start = events[0] as { type: string; message: { usage: { input_tokens: number } } };
          assert.equal(start.type, "message_start");
          assert.equal(start.message.usage.input_tokens, prompt);
          const block = events.find((e) =>
            e.type === "content_block_start" && (e.content_block as { type: string }).type === "tool_use"
          );
          assert.match((block!.content_block as { id: string }).id, /^toolu_[A-Za-z0-9_-]+$/);
        },
      );

      await t.step("Anthropic thinking adaptive turns thinking on, like enabled", async () => {
        const inputTokens = async (thinking: unknown) => {
          const response = await post(`${url}/v1/messages`, {
            model: "tiny",
            max_tokens: 1,
            messages: [{ role: "user", content: "hi" }],
            ...(thinking ? { thinking } : {}),
          }, auth);
          assert.equal(response.status, 200);
          // The whole prompt: what the prefix cache held counts too.
          const usage = (await response.json()).usage;
          return usage.input_tokens + usage.cache_read_input_tokens as number;
        };
        const off = await inputTokens(null);
        const enabled = await inputTokens({ type: "enabled", budget_tokens: 1024 });
        // Thinking off appends an empty think block to the generation prompt.
        assert.ok(enabled < off, `${enabled} < ${off}`);
        assert.equal(await inputTokens({ type: "adaptive" }), enabled);
      });

      await t.step("x-include-thinking reaches the neuron on chat completions", async () => {
        const promptTokens = async (headers: Record<string, string>) => {
          const response = await post(`${url}/v1/chat/completions`, {
            model: "tiny",
            messages: [{ role: "user", content: "hi" }],
            max_tokens: 1,
          }, { ...auth, ...headers });
          assert.equal(response.status, 200);
          return (await response.json()).usage.prompt_tokens as number;
        };
        const plain = await promptTokens({});
        const asked = await promptTokens({ "x-include-thinking": "true" });
        assert.ok(asked < plain, `${asked} < ${plain}`);
      });
    } finally {
      await gateway.stop();
      await neuron.stop();
    }
  },
});
