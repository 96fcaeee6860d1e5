/**
 * `deno task bench:fuzz`: fuzzed requests across the gateway's six client routes
 * (`/v1/chat/completions`, `/v1/completions`, `/v1/responses`, `/v1/messages`,
 * `/v1/messages/count_tokens`, `GET /v1/models[/{id}]`) against a real gateway in front of a real
 * neuron, every stream passing the gateway's stream guard. Bodies are seeded: valid ones, valid
 * ones mutated as JSON (fields deleted, replaced by random values, added; arrays repeated), and
 * broken bytes (truncated, random, deeply nested, empty). Prints JSON: answers by route and
 * status, hangs, connection errors, 5xx that are not documented overload answers (503 with
 * Retry-After, or 429), client-side grammar check failures of every stream, the gateway's
 * `cortex_stream_violations_total`, and whether both processes are still running.
 *
 * Flags: `--bodies N` (default 10000), `--seed S` (default 18), `--concurrency C` (default 8),
 * `--timeout-s T` per request (default 60).
 * @module
 */
import { fuzzReport, fuzzRequests, runFuzz } from "./_fuzz.ts";
import { startFuzzTarget } from "./_fuzz_target.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const bodies = flag("bodies", 10_000);
const seed = flag("seed", 18);
const concurrency = flag("concurrency", 8);
const timeoutMs = flag("timeout-s", 60) * 1000;

const target = await startFuzzTarget();
try {
  const started = performance.now();
  const verdicts = await runFuzz(target.url, fuzzRequests(seed, bodies, target.models), {
    concurrency,
    timeoutMs,
  });
  const seconds = (performance.now() - started) / 1000;
  const health = await fetch(`${target.url}/health`).then((r) => r.status, () => 0);
  const report = fuzzReport(verdicts);
  console.log(JSON.stringify(
    {
      bench: "fuzz",
      seed,
      concurrency,
      models: target.models,
      seconds: Math.round(seconds * 10) / 10,
      requests_per_s: Math.round((bodies / seconds) * 10) / 10,
      ...report,
      unexpected_5xx_total: Object.values(report.unexpected_5xx).reduce((a, b) => a + b, 0),
      stream_violations_metric: await target.violations(),
      crashed: await target.exited(),
      health_after: health,
    },
    null,
    2,
  ));
} finally {
  await target.stop();
}
