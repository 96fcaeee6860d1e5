import assert from "node:assert/strict";
import { formatLogLine, Logger } from "./logger.ts";

Deno.test("logger: json lines carry time, level, component, event and the fields; undefined is left out", () => {
  const lines: string[] = [];
  const log = new Logger({
    format: "json",
    level: "info",
    component: "gateway",
    write: (l) => lines.push(l),
  });
  log.info("request", { request_id: "r1", status: 200, error: null, prompt: undefined });
  assert.equal(lines.length, 1);
  const parsed = JSON.parse(lines[0]);
  assert.equal(parsed.level, "info");
  assert.equal(parsed.component, "gateway");
  assert.equal(parsed.event, "request");
  assert.equal(parsed.request_id, "r1");
  assert.equal(parsed.status, 200);
  assert.equal(parsed.error, null);
  assert.ok(!("prompt" in parsed));
  assert.ok(!Number.isNaN(Date.parse(parsed.time)));
});

Deno.test("logger: lines below the level are dropped; a silent logger writes nothing", () => {
  const lines: string[] = [];
  const log = new Logger({ format: "text", level: "warn", component: "neuron", write: (l) => lines.push(l) });
  log.debug("a");
  log.info("b");
  log.warn("c");
  log.error("d");
  log.always("info", "e");
  assert.deepEqual(lines.map((l) => l.split(" ")[3]), ["c", "d", "e"], "always() ignores the level");
  assert.equal(log.enabled("info"), false);
  assert.equal(Logger.silent().enabled("error"), false);
});

Deno.test("logger: text lines quote values with spaces, quotes or '=' and write null as '-'", () => {
  const line = formatLogLine(
    "text",
    { time: "2025-01-01T00:00:00.000Z", level: "warn", component: "gateway", event: "node_unhealthy" },
    { node: "a", reason: "connection refused", key: "x=y", empty: "", code: null, n: 3 },
  );
  assert.equal(
    line,
    '2025-01-01T00:00:00.000Z WARN gateway node_unhealthy node=a reason="connection refused" key="x=y" empty="" code=- n=3',
  );
});
