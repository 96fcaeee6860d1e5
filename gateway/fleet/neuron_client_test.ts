import assert from "node:assert/strict";
import { ConnectFailure } from "../proxy/upstream.ts";
import { transportDetail, withoutAddresses } from "./neuron_client.ts";

Deno.test("transport texts reach clients without neuron addresses", () => {
  assert.equal(
    withoutAddresses("error sending request for url (http://10.0.0.5:13131/health): connection closed"),
    "connection closed",
  );
  assert.equal(withoutAddresses("dial 10.0.0.5:13131 failed"), "dial <address> failed");
  assert.equal(withoutAddresses("dial [fe80::1]:13131 failed"), "dial <address> failed");
  assert.equal(withoutAddresses("lookup gpu-box.lan:13131 failed"), "lookup <address> failed");
  assert.equal(withoutAddresses("see https://neuron.internal/x for more"), "see <address> for more");
  assert.equal(withoutAddresses("devices[0] has 2 slots"), "devices[0] has 2 slots");
  const refused = new TypeError("error sending request for url (http://127.0.0.1:9/v1/chat/completions)", {
    cause: new Error("tcp connect error: Connection refused (os error 111)"),
  });
  assert.equal(transportDetail(refused), "connection refused");
  assert.doesNotMatch(transportDetail(new TypeError("client error (Connect) to 192.168.1.2:80")), /192\.168/);
});

Deno.test("a refused proxied connection names the node, never its address", () => {
  const cause = new TypeError("error sending request for url (http://10.1.2.3:13131/v1/chat/completions)", {
    cause: new Error("tcp connect error: Connection refused (os error 111)"),
  });
  const failure = new ConnectFailure("gpu-a", cause);
  assert.equal(failure.message, "neuron 'gpu-a' is unreachable: connection refused");
  assert.equal(failure.status, 502);
});
