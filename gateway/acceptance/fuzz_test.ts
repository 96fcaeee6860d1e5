// Acceptance: a smaller run of the gateway fuzz (`deno task bench:fuzz` runs 10,000 bodies) against
// a real gateway and a real neuron: valid, mutated and broken bodies across the six client routes.
// Nothing hangs or crashes, every 5xx is a documented overload answer, every stream keeps its
// dialect's grammar as a client checks it, and the gateway's stream guard counts no violation.
import assert from "node:assert/strict";
import { FUZZ_ROUTES, fuzzReport, fuzzRequests, runFuzz } from "../bench/_fuzz.ts";
import { startFuzzTarget } from "../bench/_fuzz_target.ts";
import { havePlugin } from "./_fixtures.ts";

Deno.test({
  name: "acceptance: 600 fuzzed bodies across the six routes: no crash, hang, stray 5xx or stream violation",
  ignore: !havePlugin(),
  async fn() {
    const target = await startFuzzTarget();
    try {
      const verdicts = await runFuzz(target.url, fuzzRequests(1818, 600, target.models), {
        concurrency: 6,
        timeoutMs: 60_000,
      });
      const report = fuzzReport(verdicts);
      const context = JSON.stringify(report);
      assert.equal(report.requests, 600);
      assert.equal(report.hangs, 0, context);
      assert.equal(report.connection_errors, 0, context);
      assert.deepEqual(report.unexpected_5xx, {}, context);
      assert.deepEqual(report.client_problem_samples, [], context);
      assert.deepEqual(await target.violations(), { total: 0, series: {} });
      assert.deepEqual(await target.exited(), []);
      for (const route of FUZZ_ROUTES) {
        const statuses = report.by_route[route].statuses;
        assert.ok((statuses["200"] ?? 0) > 0, `${route}: some answers succeed (${JSON.stringify(statuses)})`);
        assert.ok(Object.keys(statuses).some((s) => s.startsWith("4")), `${route}: some are refused`);
        if (!["count_tokens", "models"].includes(route)) {
          assert.ok(report.by_route[route].streams > 0, `${route}: some answers are streams`);
        }
      }
    } finally {
      await target.stop();
    }
  },
});
