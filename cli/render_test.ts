// The pure renderers: tables, the status and models views, the load phase, the progress
// line and the chat reply renderer, on terminals (colours, redraws) and off them.
import assert from "node:assert/strict";
import type { AdminFleet, AdminFleetModel, AdminFleetNode } from "@cortex/core/fleet";
import type { ModelList } from "@cortex/core/openai";
import { ReplyRenderer } from "./chat_stream.ts";
import { loadPhase } from "./commands/load.ts";
import { renderModels } from "./commands/models.ts";
import { renderStatus } from "./commands/status.ts";
import { ProgressLine } from "./progress_line.ts";
import { formatBytes, formatMb, formatMs, formatSeconds, renderTable } from "./table.ts";
import { makeStyle, memoryOutput, stripAnsi } from "./terminal.ts";

const plain = makeStyle(false);
const colour = makeStyle(true);

// A model of the fleet document: `fields` over idle defaults.
function _model(fields: Pick<AdminFleetModel, "id" | "status"> & Partial<AdminFleetModel>): AdminFleetModel {
  return {
    devices: [],
    memory_mb: null,
    in_flight: 0,
    gateway_in_flight: 0,
    queue_depth: 0,
    decode_tok_s: null,
    class: 0,
    last_used_s_ago: null,
    keep_alive_s: null,
    loaded_s_ago: null,
    progress: null,
    error: null,
    ...fields,
  };
}

// A node of the fleet document with what the status table does not show.
const _nodeDefaults = {
  consecutive_poll_failures: 0,
  last_poll_ms_ago: 100,
  hostname: null,
  uptime_s: null,
  cycles_since_defrag: 0,
} satisfies Partial<AdminFleetNode>;

function _fleet(
  models: (Pick<AdminFleetModel, "id" | "status"> & Partial<AdminFleetModel>)[],
  extra: Partial<AdminFleet> = {},
): AdminFleet {
  return {
    strategy: "lru",
    min_residency_s: 0,
    loading: [],
    nodes: [{
      ..._nodeDefaults,
      name: "a",
      endpoint: "http://10.0.0.5:13131",
      healthy: true,
      draining: false,
      last_error: null,
      backend: "cuda",
      devices: [{ index: 0, name: "H100", total_mb: 81920, free_mb: 61440 }, {
        index: 1,
        name: "H100",
        total_mb: 81920,
        free_mb: 81920,
      }],
      models: models.map(_model),
    }, {
      ..._nodeDefaults,
      name: "b",
      endpoint: "http://10.0.0.6:13131",
      healthy: false,
      draining: false,
      last_error: "connection refused",
      backend: null,
      devices: [],
      models: [_model({ id: "old", status: "loaded", in_flight: 3 })],
    }],
    ...extra,
  };
}

Deno.test("renderTable: columns align on visible width, colour codes do not shift them", () => {
  const rows = [["tiny", colour.green("local")], ["a-much-longer-name", "b"]];
  const text = renderTable(["MODEL", "NODE"], rows, colour);
  const lines = stripAnsi(text).split("\n");
  assert.deepEqual(lines, ["MODEL               NODE", "tiny                local", "a-much-longer-name  b"]);
  assert.ok(text.startsWith("\x1b[1m"), "header is bold on a terminal");
  assert.equal(renderTable(["A"], [["x"]], plain), "A\nx");
});

Deno.test("unit formatting", () => {
  assert.equal(formatMb(512), "512 MB");
  assert.equal(formatMb(24105), "23.5 GB");
  assert.equal(formatMb(null), "—");
  assert.equal(formatBytes(3 * 2 ** 20), "3.0 MB");
  assert.equal(formatSeconds(2.25), "2.3s");
  assert.equal(formatSeconds(65), "1m05s");
  assert.equal(formatMs(20), "20 ms");
  assert.equal(formatMs(1500), "1.5s");
});

Deno.test("renderStatus: header, one row per node with memory, models and in-flight, errors of unhealthy nodes", () => {
  const fleet = _fleet([
    { id: "qwen", status: "loaded", in_flight: 2 },
    {
      id: "big",
      status: "loading",
      in_flight: 0,
      progress: { phase: "loading", done_bytes: 50, total_bytes: 200, files_done: 0, files_total: null },
    },
    { id: "idle", status: "available", in_flight: 0 },
  ], { loading: ["big"] });
  const text = renderStatus(
    "http://gw:31313",
    { status: "impaired", nodes: { healthy: 1, total: 2 } },
    fleet,
    plain,
  );
  assert.deepEqual(
    text.split("\n"),
    [
      "gateway http://gw:31313: impaired, 1/2 node(s) healthy, loading big",
      "NODE  HEALTH       BACKEND  DEVICES  MEMORY              MODELS                   IN-FLIGHT",
      "a     healthy      cuda     2        20.0 GB / 160.0 GB  qwen, big (loading 25%)  2",
      "b     unreachable  —        —        —                   last seen: old           —",
      "b (http://10.0.0.6:13131): connection refused",
    ],
  );
});

Deno.test("renderModels: where loaded, where feasible, context and capabilities; aliases point at targets", () => {
  const list: ModelList = {
    object: "list",
    data: [
      {
        id: "qwen",
        object: "model",
        created: 0,
        owned_by: "cortex",
        loaded: true,
        feasible_on: ["a", "b"],
        locations: [{ node: "a", status: "loaded", memory_mb: 1200 }, {
          node: "b",
          status: "loading",
          memory_mb: null,
        }],
        capabilities: ["text"],
        tool_call: true,
        reasoning: true,
        limit: { context: 32768, output: 8192 },
      },
      { id: "small", object: "model", created: 0, owned_by: "cortex", alias_of: "qwen", feasible_on: [] },
    ],
  };
  assert.deepEqual(renderModels(list, plain).split("\n"), [
    "MODEL         LOADED ON       FEASIBLE ON  CONTEXT  CAPABILITIES",
    "qwen          a, b (loading)  a, b         32768    text, tools, reasoning",
    "small → qwen  —               —            —        —",
  ]);
  assert.match(renderModels({ object: "list", data: [] }, plain), /^no models/);
});

Deno.test("loadPhase: downloading, loading weights, evicting, placing, requesting", () => {
  const downloading = _fleet([{
    id: "m",
    status: "loading",
    in_flight: 0,
    progress: {
      phase: "downloading",
      done_bytes: 10 * 2 ** 20,
      total_bytes: 40 * 2 ** 20,
      files_done: 1,
      files_total: 4,
    },
  }]);
  assert.equal(loadPhase(downloading, "m", undefined), "downloading m on a: 10.0 MB/40.0 MB (1/4 files)");
  assert.equal(loadPhase(downloading, "m", "b"), "requesting m on b", "--node filters the nodes");
  const weights = _fleet([{
    id: "m",
    status: "loading",
    in_flight: 0,
    progress: { phase: "loading", done_bytes: 3, total_bytes: 4, files_done: 0, files_total: null },
  }]);
  assert.equal(loadPhase(weights, "m", undefined), "loading m on a: weights to devices 75%");
  const evicting = _fleet([{ id: "old", status: "unloading", in_flight: 0 }], { loading: ["m"] });
  assert.equal(loadPhase(evicting, "m", undefined), "evicting old on a to make room for m");
  assert.equal(loadPhase(_fleet([], { loading: ["m"] }), "m", undefined), "placing m");
  assert.equal(loadPhase(_fleet([]), "m", undefined), "requesting m");
});

Deno.test("ProgressLine off a terminal: one plain line per phase change, no carriage returns", () => {
  const out = memoryOutput();
  const line = new ProgressLine(out);
  line.set("placing m");
  line.set("placing m");
  line.set("loading m");
  line.finish("done");
  line.set("ignored after finish");
  assert.match(out.text(), /^placing m \(\d+\.\ds\)\nloading m \(\d+\.\ds\)\ndone\n$/);
});

Deno.test("ProgressLine on a terminal: redrawn in place and clipped to the width, cleared at the end", async () => {
  const out = memoryOutput({ isTerminal: true, colour: true });
  const line = new ProgressLine(out, { intervalMs: 5, columns: 30 });
  line.set("downloading a-model-with-a-very-long-name on node-a: 10.0 MB/40.0 MB");
  await new Promise((resolve) => setTimeout(resolve, 40));
  line.clear();
  const text = out.text();
  const frames = text.split("\r\x1b[2K").filter(Boolean);
  assert.ok(frames.length >= 3, "redrawn several times");
  for (const frame of frames) {
    assert.ok(stripAnsi(frame).length <= 29, `fits in 30 columns: ${JSON.stringify(stripAnsi(frame))}`);
    assert.match(stripAnsi(frame), /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] downloading a-model.*… \d+\.\ds$/);
  }
  assert.ok(text.endsWith("\r\x1b[2K"), "the live line is erased");
  assert.equal(text.includes("\n"), false);
});

Deno.test("ReplyRenderer: reasoning dimmed, a line break before the answer, leading blanks dropped", () => {
  const tty = memoryOutput({ isTerminal: true, colour: true });
  const r = new ReplyRenderer(tty);
  r.reasoningDelta("\n  Let me");
  r.reasoningDelta(" think.");
  r.contentDelta("\n\n");
  r.contentDelta("Hello");
  r.contentDelta(" world");
  r.reasoningDelta("late reasoning is ignored");
  r.note("[max tokens reached]");
  r.end();
  assert.equal(
    tty.text(),
    "\x1b[2mLet me\x1b[22m\x1b[2m think.\x1b[22m\nHello world \x1b[2m[max tokens reached]\x1b[22m\n",
  );
  assert.equal(r.content, "Hello world");
  assert.equal(r.reasoning, "Let me think.");

  const piped = memoryOutput();
  const p = new ReplyRenderer(piped);
  p.contentDelta(" Hi\n");
  p.note("[stopped]");
  p.end();
  assert.equal(piped.text(), "Hi\n", "notes only on a terminal; no doubled newline");
  const empty = memoryOutput();
  new ReplyRenderer(empty).end();
  assert.equal(empty.text(), "\n");
});

Deno.test("renderModels: a model that fits nowhere says so, and why under the table", () => {
  const list: ModelList = {
    object: "list",
    data: [{
      id: "huge",
      object: "model",
      created: 0,
      owned_by: "cortex",
      feasible_on: [],
      unavailable: "a: its largest device has 1000 MB in all",
    }],
  };
  assert.deepEqual(renderModels(list, plain).split("\n"), [
    "MODEL  LOADED ON  FEASIBLE ON  CONTEXT  CAPABILITIES",
    "huge   —          nowhere      —        —",
    "huge: a: its largest device has 1000 MB in all",
  ]);
});
