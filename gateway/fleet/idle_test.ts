import assert from "node:assert/strict";
import { effectiveTtlS, idleDecision, type IdleResident } from "./idle.ts";

Deno.test("ttl: the request's keep_alive, else the profile's ttl_s, else the default; pinned never", () => {
  const ttl = (
    keepAliveS: number | null,
    profileTtlS: number | null,
    defaultTtlS: number | null,
    pinned = false,
  ) => effectiveTtlS({ keepAliveS, profileTtlS, defaultTtlS, pinned });
  assert.equal(ttl(null, null, null), Infinity, "nothing set: never");
  assert.equal(ttl(null, null, 300), 300);
  assert.equal(ttl(null, 5, 300), 5);
  assert.equal(ttl(0, 5, 300), 0);
  assert.equal(ttl(Infinity, 5, 300), Infinity);
  assert.equal(ttl(null, -1, 300), Infinity, "a negative ttl_s keeps the model");
  assert.equal(ttl(0, 5, 300, true), Infinity, "pinned: never, whatever the request asks");
});

Deno.test("idle decision: due once idle past the ttl; busy and kept models never; next deadline", () => {
  const resident = (modelId: string, over: Partial<IdleResident>): IdleResident => ({
    node: "a",
    modelId,
    inFlight: 0,
    idleSinceMs: 1_000,
    ttlS: 5,
    ...over,
  });
  const residents = [
    resident("expired", {}),
    resident("fresh", { idleSinceMs: 4_000 }),
    resident("busy", { inFlight: 1, idleSinceMs: 0, ttlS: 0 }),
    resident("kept", { ttlS: Infinity, idleSinceMs: 0 }),
    resident("now", { ttlS: 0, idleSinceMs: 6_000 }),
  ];
  const decision = idleDecision(residents, 6_000);
  assert.deepEqual(decision.due.map((r) => r.modelId), ["expired", "now"]);
  assert.equal(decision.nextDeadlineMs, 9_000);
  assert.equal(idleDecision([resident("kept", { ttlS: Infinity })], 0).nextDeadlineMs, Infinity);
});
