import assert from "node:assert/strict";
import { Activity, type RecentRequest } from "./activity.ts";

function request(at_ms: number, extra: Partial<RecentRequest> = {}): RecentRequest {
  return {
    at_ms,
    model: "m",
    node: "a",
    dialect: "chat",
    status: 200,
    duration_ms: 50,
    ttft_ms: 10,
    cold: false,
    decode_tok_s: 40,
    prompt_tokens: 5,
    completion_tokens: 20,
    ...extra,
  };
}

Deno.test("Activity keeps the last requests, newest first", () => {
  const activity = new Activity({ recent: 3, now: () => 0 });
  for (let i = 1; i <= 5; i++) activity.add(request(i, { model: `m${i}` }));
  assert.deepEqual(activity.recent().map((r) => r.model), ["m5", "m4", "m3"]);
});

Deno.test("Activity samples tok/s and mean TTFT per interval, quiet intervals as zeros", () => {
  let now = 0;
  const activity = new Activity({ intervalMs: 10_000, samples: 4, now: () => now });
  activity.add(request(1_000, { completion_tokens: 30, ttft_ms: 100 }));
  activity.add(request(9_000, { completion_tokens: 10, ttft_ms: 300 }));
  activity.add(request(25_000, { completion_tokens: 5, ttft_ms: null }));
  now = 31_000;
  assert.deepEqual(activity.series(), [
    { t_ms: 0, requests: 2, tok_s: 4, ttft_ms: 200 },
    { t_ms: 10_000, requests: 0, tok_s: 0, ttft_ms: null },
    { t_ms: 20_000, requests: 1, tok_s: 0.5, ttft_ms: null },
    { t_ms: 30_000, requests: 0, tok_s: 0, ttft_ms: null },
  ]);
  now = 61_000; // the window has moved past every request
  assert.ok(activity.series().every((s) => s.requests === 0));
  assert.equal(activity.series().length, 4);
});

Deno.test("Activity drops buckets past the sample limit", () => {
  const activity = new Activity({ intervalMs: 1_000, samples: 2, now: () => 5_500 });
  for (const at of [500, 1_500, 2_500, 3_500, 4_500, 5_500]) activity.add(request(at));
  assert.deepEqual(activity.series().map((s) => s.requests), [1, 1]);
  assert.equal(activity.intervalSeconds, 1);
});
