/**
 * Test double of a neuron: answers the control API the gateway polls (`/discovery`, `/health`,
 * `/models`, `/tokenize`) for one "loaded" model, and answers `POST /v1/chat/completions`
 * (streamed or not) with turns a test scripts — a tool call or plain text. Only for tests that
 * drive clients no model runnable here can drive (real coding agents); everything else uses a
 * real neuron. Chat requests are checked with the schema and parameter policy the real neuron
 * applies; every accepted one is kept, for the test to inspect.
 *
 * @example
 * ```ts ignore
 * import { spawnNeuronDouble } from "./neuron_double.ts";
 * const double = await spawnNeuronDouble({
 *   model: "scripted",
 *   answer: (req) => req.messages.at(-1)?.role === "tool" ? { text: "done" } : { text: "hi" },
 * });
 * console.log(double.url, double.requests.length);
 * await double.stop();
 * ```
 * @module
 */
import { toCortexError, toOpenAIErrorBody } from "@cortex/core/errors";
import { encodeSse } from "@cortex/core/sse";
import { type ChatCompletionRequest, parseChatRequest } from "@cortex/core/openai";

/** One scripted assistant turn: text, or one tool call (with optional text before it). */
export type DoubleTurn =
  | { text: string; toolCall?: undefined }
  | { text?: string; toolCall: { name: string; arguments: Record<string, unknown> } };

/** What the double needs to know. */
export interface NeuronDoubleOptions {
  /** The model id it reports loaded. */
  model: string;
  /** The scripted answer to each chat request. */
  answer(request: ChatCompletionRequest): DoubleTurn;
}

/** A chat request the double received. */
export interface SeenChatRequest {
  /** Request path with its query. */
  path: string;
  /** Request headers. */
  headers: Record<string, string>;
  /** Parsed body. */
  body: ChatCompletionRequest;
  /** The turn it was answered with. */
  turn: DoubleTurn;
}

/** A running neuron double. */
export interface NeuronDouble {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** Chat requests received so far, oldest first. */
  requests: SeenChatRequest[];
  /** Stops the server. */
  stop(): Promise<void>;
}

/** Starts a neuron double on a free loopback port. */
export function spawnNeuronDouble(options: NeuronDoubleOptions): Promise<NeuronDouble> {
  const requests: SeenChatRequest[] = [];
  const started = Date.now();
  let calls = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const url = new URL(req.url);
      switch (`${req.method} ${url.pathname}`) {
        case "GET /discovery":
          return Response.json(_discovery());
        case "GET /health":
          return Response.json(_health(options.model, (Date.now() - started) / 1000));
        case "GET /models":
          return Response.json([_modelInfo(options.model)]);
        case "POST /tokenize": {
          const body = await req.text();
          return Response.json({ model: options.model, count: _roughTokens(body) });
        }
        case "POST /v1/chat/completions": {
          const text = await req.text();
          let body: ChatCompletionRequest;
          try {
            // Refused as the real neuron refuses it, so a gateway that forwards junk still fails.
            body = parseChatRequest(JSON.parse(text));
          } catch (error) {
            const e = toCortexError(error);
            return Response.json(toOpenAIErrorBody(e), { status: e.status });
          }
          const turn = options.answer(body);
          requests.push({
            path: url.pathname + url.search,
            headers: Object.fromEntries(req.headers),
            body,
            turn,
          });
          const id = `chatcmpl-double-${++calls}`;
          const usage = {
            prompt_tokens: _roughTokens(text),
            completion_tokens: 8,
            total_tokens: _roughTokens(text) + 8,
          };
          if (body.stream === true) {
            return new Response(
              _stream(id, options.model, turn, body.stream_options?.include_usage === true, usage),
              {
                headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
              },
            );
          }
          return Response.json(_completion(id, options.model, turn, usage));
        }
        default:
          return Response.json(
            {
              error: { message: `the neuron double has no ${req.method} ${url.pathname}`, code: "not_found" },
            },
            { status: 404 },
          );
      }
    },
  );
  const addr = server.addr as Deno.NetAddr;
  return Promise.resolve({
    url: `http://127.0.0.1:${addr.port}`,
    requests,
    async stop() {
      await server.shutdown();
    },
  });
}

function _discovery(): Record<string, unknown> {
  return {
    hostname: "neuron-double",
    os: "linux",
    kernel: "unknown",
    devices: [{
      index: 0,
      name: "cpu0",
      backend: "cpu",
      memory_total_mb: 1024,
      compute_capability: null,
      threads: 1,
    }],
    max_prompt_tokens: 0,
  };
}

function _health(model: string, uptime: number): Record<string, unknown> {
  return {
    status: "ok",
    uptime_secs: uptime,
    devices: [{ index: 0, memory_total_mb: 1024, memory_used_mb: 1, memory_free_mb: 1023 }],
    activation: { state: "ready", pending: [], in_progress: null, completed: [model], failed: [] },
    models: [{ id: model, in_flight: 0, queue_depth: 0, max_in_flight: 8, max_queue: 64 }],
  };
}

function _modelInfo(model: string): Record<string, unknown> {
  return {
    id: model,
    status: "loaded",
    source: null,
    devices: [0],
    memory_used_mb: 1,
    memory_required_mb: 1,
    capabilities: ["text"],
    limit: { context: 200_000, output: 32_000 },
    tool_call: true,
    reasoning: false,
    architecture: "NeuronDouble",
  };
}

// A stand-in count; nothing asserts on it.
function _roughTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

interface _Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

function _toolCall(turn: DoubleTurn, id: string): Record<string, unknown>[] | undefined {
  if (!turn.toolCall) return undefined;
  return [{
    id: `call_${id.replace(/\W/g, "")}`,
    type: "function",
    function: { name: turn.toolCall.name, arguments: JSON.stringify(turn.toolCall.arguments) },
  }];
}

function _completion(id: string, model: string, turn: DoubleTurn, usage: _Usage): Record<string, unknown> {
  return {
    id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{
      index: 0,
      message: { role: "assistant", content: turn.text ?? null, tool_calls: _toolCall(turn, id) },
      finish_reason: turn.toolCall ? "tool_calls" : "stop",
    }],
    usage,
  };
}

function _stream(
  id: string,
  model: string,
  turn: DoubleTurn,
  includeUsage: boolean,
  usage: _Usage,
): ReadableStream<Uint8Array> {
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Record<string, unknown>, finish: string | null): Record<string, unknown> => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const events: Record<string, unknown>[] = [chunk({ role: "assistant", content: "" }, null)];
  if (turn.text) events.push(chunk({ content: turn.text }, null));
  const calls = _toolCall(turn, id);
  if (calls) events.push(chunk({ tool_calls: calls.map((c, index) => ({ index, ...c })) }, null));
  events.push(chunk({}, turn.toolCall ? "tool_calls" : "stop"));
  if (includeUsage) events.push({ id, object: "chat.completion.chunk", created, model, choices: [], usage });
  const text = [...events.map((e) => JSON.stringify(e)), "[DONE]"].map((data) => encodeSse({ data })).join(
    "",
  );
  return new Response(text).body!;
}
