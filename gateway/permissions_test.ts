import assert from "node:assert/strict";
import { parseCortexConfig } from "@cortex/core/config";
import { listenerUrl, parseListenAddress } from "./listen.ts";
import { gatewayPermissionFlags } from "./permissions.ts";

Deno.test("permission flags name exactly the listeners, the neurons, the two config files and token_env", () => {
  const config = parseCortexConfig(
    [
      "[gateway]",
      'listen = "0.0.0.0:8080"',
      'metrics_listen = "127.0.0.1:0"',
      "[[neurons]]",
      'name = "a"',
      'endpoint = "http://10.0.0.5:13131"',
      "[[neurons]]",
      'name = "b"',
      'endpoint = "https://gpu.example"',
      'token_env = "CORTEX_NEURON_B_TOKEN"',
    ].join("\n"),
  );
  const flags = gatewayPermissionFlags(config, {
    configPath: "/etc/cortex/cortex.toml",
    modelsPath: "/etc/cortex/models.toml",
  });
  assert.deepEqual(flags, [
    "--allow-net=0.0.0.0:8080,127.0.0.1,10.0.0.5:13131,gpu.example:443",
    "--allow-read=/etc/cortex/cortex.toml,/etc/cortex/models.toml",
    "--allow-env=CORTEX_NEURON_B_TOKEN",
    "--unstable-no-legacy-abort",
    "--no-prompt",
  ]);
  assert.ok(!flags.some((f) => f === "-A" || f.startsWith("--allow-all") || f === "--allow-net"));
});

Deno.test("listen addresses parse, IPv6 included, and map to reachable URLs", () => {
  assert.deepEqual(parseListenAddress("0.0.0.0:31313"), { hostname: "0.0.0.0", port: 31313 });
  assert.deepEqual(parseListenAddress("[::1]:80"), { hostname: "::1", port: 80 });
  assert.throws(() => parseListenAddress("nohost"));
  assert.throws(() => parseListenAddress("h:99999"));
  assert.equal(listenerUrl("0.0.0.0", 5), "http://127.0.0.1:5");
  assert.equal(listenerUrl("::1", 5), "http://[::1]:5");
});
