// Private: the requests of the gateway fuzz (`deno task bench:fuzz`, acceptance/fuzz_test.ts),
// seeded and reproducible, across the gateway's six client routes: valid bodies, bodies mutated
// as JSON, and broken bytes.

import { Rng as FuzzRng } from "../../core/translate/_test_gen.ts";

/** The routes fuzzed: five POST routes and `GET /v1/models[/{id}]`. */
export const FUZZ_ROUTES = [
  "chat",
  "completions",
  "responses",
  "messages",
  "count_tokens",
  "models",
] as const;
/** One of {@linkcode FUZZ_ROUTES}. */
export type FuzzRoute = typeof FUZZ_ROUTES[number];

const _paths: Record<FuzzRoute, string> = {
  chat: "/v1/chat/completions",
  completions: "/v1/completions",
  responses: "/v1/responses",
  messages: "/v1/messages",
  count_tokens: "/v1/messages/count_tokens",
  models: "/v1/models",
};

/** One generated request. */
export interface FuzzRequest {
  route: FuzzRoute;
  method: "GET" | "POST";
  path: string;
  body: Uint8Array | null;
  /** How it was made: a valid body, a JSON mutation of one, or broken bytes. */
  kind: "valid" | "mutated" | "bytes";
}

/** The seeded PRNG the translation property tests use (mulberry32), shared. */
export { Rng as FuzzRng } from "../../core/translate/_test_gen.ts";

const _chars = [..."abcdefghij klmnop\n\t{}[]\":,\\/<>&'é漢字🙂\u0000\u200b\ud800"];
const _enc = new TextEncoder();

function _text(rng: FuzzRng, max = 30): string {
  let out = "";
  for (let i = rng.int(0, max); i > 0; i--) out += rng.pick(_chars);
  return out;
}

function _value(rng: FuzzRng, depth = 0): unknown {
  switch (rng.int(0, depth > 2 ? 5 : 7)) {
    case 0:
      return _text(rng);
    case 1:
      return rng.pick([0, -1, 1, 0.5, 2 ** 53 + 1, 1e308, -1e308, 4096, 1_000_000]);
    case 2:
      return rng.bool();
    case 3:
      return null;
    case 4:
      return rng.pick(["user", "assistant", "system", "tool", "developer", "function", "text", "auto"]);
    case 5:
      return "x".repeat(rng.int(0, 3) * 20_000);
    case 6:
      return Array.from({ length: rng.int(0, 3) }, () => _value(rng, depth + 1));
    default: {
      const out: Record<string, unknown> = {};
      for (let i = rng.int(0, 3); i > 0; i--) {
        out[rng.pick(["type", "text", "content", "role", _text(rng, 6)])] = _value(rng, depth + 1);
      }
      return out;
    }
  }
}

const _weather = {
  name: "get_weather",
  description: "Get the current weather in a city.",
  schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

function _userText(rng: FuzzRng, tools = false): string {
  if (tools && rng.bool(0.8)) {
    return rng.pick(["What is the weather in Paris?", "What's the weather in Lisbon?"]);
  }
  return rng.pick(["What is the weather in Paris?", "Hello there", "Say something.", _text(rng, 60) || "hi"]);
}

/** A valid body for `route` (the model chosen from `models`), small enough to answer quickly. */
function _validBody(rng: FuzzRng, route: FuzzRoute, models: readonly string[]): Record<string, unknown> {
  const model = rng.pick(models);
  const stream = rng.bool(0.6);
  const tools = rng.bool(0.5);
  // Enough tokens for a whole tool call when tools are offered; a follow-up turn sometimes
  // carries a call and its result already.
  const maxTokens = tools ? rng.int(48, 160) : rng.int(1, 24);
  const followUp = tools && rng.bool(0.3);
  switch (route) {
    case "chat":
      return {
        model,
        messages: [
          ...(rng.bool(0.3) ? [{ role: "system", content: "You are terse." }] : []),
          { role: "user", content: _userText(rng, tools) },
          ...(followUp
            ? [
              {
                role: "assistant",
                content: null,
                tool_calls: [{
                  id: "call_f1",
                  type: "function",
                  function: { name: _weather.name, arguments: '{"city":"Paris"}' },
                }],
              },
              { role: "tool", tool_call_id: "call_f1", content: '{"temperature":21}' },
            ]
            : []),
        ],
        max_tokens: maxTokens,
        temperature: rng.pick([0, 0.7, 1]),
        stream,
        ...(stream && rng.bool() ? { stream_options: { include_usage: true } } : {}),
        ...(tools
          ? {
            tools: [{
              type: "function",
              function: {
                name: _weather.name,
                description: _weather.description,
                parameters: _weather.schema,
              },
            }],
          }
          : {}),
      };
    case "completions":
      return {
        model,
        prompt: _userText(rng, tools),
        max_tokens: maxTokens,
        stream,
        temperature: rng.pick([0, 1]),
      };
    case "responses":
      return {
        model,
        input: followUp
          ? [
            { role: "user", content: _userText(rng, tools) },
            { type: "function_call", call_id: "call_f1", name: _weather.name, arguments: '{"city":"Paris"}' },
            { type: "function_call_output", call_id: "call_f1", output: '{"temperature":21}' },
          ]
          : rng.bool()
          ? _userText(rng, tools)
          : [{ role: "user", content: [{ type: "input_text", text: _userText(rng, tools) }] }],
        max_output_tokens: maxTokens,
        stream,
        ...(rng.bool(0.3) ? { instructions: "Be brief." } : {}),
        ...(tools
          ? {
            tools: [{
              type: "function",
              name: _weather.name,
              description: _weather.description,
              parameters: _weather.schema,
            }],
          }
          : {}),
      };
    case "messages":
    case "count_tokens":
      return {
        model,
        ...(route === "messages" ? { max_tokens: maxTokens, stream } : {}),
        messages: [
          {
            role: "user",
            content: rng.bool() ? _userText(rng, tools) : [{ type: "text", text: _userText(rng, tools) }],
          },
          ...(followUp
            ? [
              {
                role: "assistant",
                content: [{
                  type: "tool_use",
                  id: "toolu_f1",
                  name: _weather.name,
                  input: { city: "Paris" },
                }],
              },
              { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_f1", content: "21 C" }] },
            ]
            : []),
        ],
        ...(rng.bool(0.3) ? { system: "You are terse." } : {}),
        ...(tools
          ? {
            tools: [{
              name: _weather.name,
              description: _weather.description,
              input_schema: _weather.schema,
            }],
          }
          : {}),
      };
    case "models":
      return {};
  }
}

// Every path to a value inside `root` (objects and arrays), the root included.
function _allPaths(root: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(prefix);
  if (Array.isArray(root)) root.forEach((v, i) => _allPaths(v, [...prefix, i], out));
  else if (typeof root === "object" && root !== null) {
    for (const [k, v] of Object.entries(root)) _allPaths(v, [...prefix, k], out);
  }
  return out;
}

type _Node = Record<string | number, unknown>;

const _maxRepeatBytes = 6_000_000;

function _mutate(rng: FuzzRng, body: Record<string, unknown>): unknown {
  let root: unknown = structuredClone(body);
  for (let n = rng.int(1, 3); n > 0; n--) {
    const path = rng.pick(_allPaths(root));
    if (path.length === 0) {
      if (rng.bool(0.1)) root = rng.bool() ? [root] : _value(rng);
      continue;
    }
    const parent = path.slice(0, -1).reduce((v: unknown, k) => (v as _Node)[k], root) as _Node;
    const key = path[path.length - 1];
    switch (rng.int(0, 3)) {
      case 0: // delete
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key];
        break;
      case 1: // replace with a random value
        parent[key] = _value(rng);
        break;
      case 2: { // add a key or element
        const at = Array.isArray(parent)
          ? parent.length
          : rng.pick(["stream", "tools", "tool_choice", "n", "stop", _text(rng, 8)]);
        parent[at] = _value(rng);
        break;
      }
      default: { // repeat an array's element many times (a few MB at most)
        const target = parent[key];
        if (!Array.isArray(target) || target.length === 0) break;
        const size = JSON.stringify(target[0])?.length ?? 4;
        const count = Math.max(2, Math.min(rng.int(2, 400), Math.floor(_maxRepeatBytes / size)));
        // Copies, not one shared object: a later mutation inside one must not multiply.
        parent[key] = Array.from({ length: count }, () => structuredClone(target[0]));
      }
    }
  }
  return root;
}

function _brokenBytes(rng: FuzzRng, valid: string): Uint8Array {
  switch (rng.int(0, 5)) {
    case 0:
      return _enc.encode(valid.slice(0, rng.int(0, valid.length - 1))); // truncated
    case 1: {
      const at = rng.int(0, valid.length);
      return _enc.encode(
        valid.slice(0, at) + rng.pick(["\u0000", "}", "{", ",", '"', "\\", "\ud800"]) + valid.slice(at),
      );
    }
    case 2:
      return Uint8Array.from({ length: rng.int(0, 200) }, () => rng.int(0, 255)); // random bytes
    case 3: {
      const depth = rng.int(100, 20_000); // deep nesting
      return _enc.encode(`{"model":${"[".repeat(depth)}${"]".repeat(depth)}}`);
    }
    case 4:
      return new Uint8Array(0);
    default:
      return _enc.encode(rng.pick(["null", "[]", "1", '"s"', "true", "{}", '{"model":null}']));
  }
}

/** `count` requests from `seed`, the routes in turn; `models` are the ids valid bodies name. */
export function* fuzzRequests(
  seed: number,
  count: number,
  models: readonly string[],
): Generator<FuzzRequest> {
  const rng = new FuzzRng(seed);
  for (let i = 0; i < count; i++) {
    const route = FUZZ_ROUTES[i % FUZZ_ROUTES.length];
    if (route === "models") {
      const id = rng.pick([
        "",
        `/${rng.pick(models)}`,
        `/${encodeURIComponent(_text(rng, 12).toWellFormed())}`,
        "/%E0%A4%A",
        "/..%2F..%2Fetc%2Fpasswd",
        `/${"a".repeat(rng.int(1, 5000))}`,
      ]);
      yield { route, method: "GET", path: `${_paths.models}${id}`, body: null, kind: "valid" };
      continue;
    }
    const valid = _validBody(rng, route, models);
    const roll = rng.next();
    const kind = roll < 0.3 ? "valid" : roll < 0.85 ? "mutated" : "bytes";
    const body = kind === "valid"
      ? _enc.encode(JSON.stringify(valid))
      : kind === "mutated"
      ? _enc.encode(JSON.stringify(_mutate(rng, valid)) ?? "null")
      : _brokenBytes(rng, JSON.stringify(valid));
    yield { route, method: "POST", path: _paths[route], body, kind };
  }
}
