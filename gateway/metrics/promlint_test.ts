import assert from "node:assert/strict";
import { fleetOf, info, polledNode } from "../fleet/_test_fleet.ts";
import { GatewayMetrics } from "./gateway_metrics.ts";
import { lintExposition } from "./promlint.ts";

const _family = (name: string, type: string, sample = `${name} 1`, help = "Help."): string =>
  `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${sample}\n`;

Deno.test("promlint: each rule finds its problem", () => {
  const cases: [string, string][] = [
    [`# TYPE a_things gauge\na_things 1\n`, "no help text"],
    [_family("a_memory_mb", "gauge"), "metric names should not contain abbreviated units"],
    [_family("a_latency_ms", "histogram", 'a_latency_ms_bucket{le="1"} 1'), "abbreviated units"],
    [_family("a_uptime_minutes", "gauge"), 'use base unit "seconds" instead of "minutes"'],
    [_family("a_size_kilobytes", "gauge"), 'use base unit "bytes" instead of "kilobytes"'],
    [_family("a_requests", "counter"), 'counter metrics should have "_total" suffix'],
    [_family("a_queue_total", "gauge"), 'non-counter metrics should not have "_total" suffix'],
    [_family("a_things_bucket", "gauge"), 'non-histogram metrics should not have "_bucket" suffix'],
    [_family("a_things_count", "gauge"), '"_count" suffix'],
    [_family("a_things_sum", "gauge"), '"_sum" suffix'],
    [_family("a_things", "gauge", 'a_things{le="1"} 1'), 'non-histogram metrics should not have "le" label'],
    [_family("a_things", "gauge", 'a_things{quantile="1"} 1'), '"quantile" label'],
    [_family("a_requests_counter_total", "counter"), "metric name should not include type 'counter'"],
    [_family("a:things", "gauge"), "metric names should not contain ':'"],
    [_family("a_fooBar", "gauge"), "'snake_case' not 'camelCase'"],
    [
      _family("a_things", "gauge", 'a_things{nodeName="x"} 1'),
      "label names should be written in 'snake_case'",
    ],
    [_family("a_things", "gauge") + _family("a_things", "gauge"), "second TYPE line"],
    [_family("a_things", "gauge", "a_things one"), "parse error: invalid value one"],
  ];
  for (const [text, expected] of cases) {
    const problems = lintExposition(text);
    assert.ok(
      problems.some((p) => p.text.includes(expected)),
      `${expected}: got ${JSON.stringify(problems)}`,
    );
  }
});

Deno.test("promlint: well-named families pass, histogram samples belong to their family", () => {
  const text = _family("a_requests_total", "counter", 'a_requests_total{model="x",status="200"} 3') +
    _family(
      "a_duration_seconds",
      "histogram",
      'a_duration_seconds_bucket{le="0.1"} 1\na_duration_seconds_bucket{le="+Inf"} 2\n' +
        "a_duration_seconds_sum 0.3\na_duration_seconds_count 2",
    ) + _family("a_memory_free_bytes", "gauge", 'a_memory_free_bytes{device="0"} 1.5e+09') +
    _family("a_decode_tokens_per_second", "gauge", "a_decode_tokens_per_second NaN");
  assert.deepEqual(lintExposition(text), []);
});

Deno.test("promlint: the gateway's own exposition is clean, fleet gauges included; memory is in bytes", async () => {
  const node = polledNode("n", [info("m", { status: "loaded", devices: [0], memory_used_mb: 10 })]);
  const metrics = new GatewayMetrics(fleetOf([node]));
  metrics.requests.inc({ model: "m", node: "n", dialect: "chat", status: "200" });
  metrics.ttft.observe({ model: "m", node: "n", start: "warm" }, 0.2);
  const text = await metrics.registry.metrics();
  assert.deepEqual(lintExposition(text), []);
  assert.match(text, /^cortex_device_memory_total_bytes\{node="n",device="0"\} 1048576000$/m);
  assert.doesNotMatch(text, /_mb\b/);
});
