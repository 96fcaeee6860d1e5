import assert from "node:assert/strict";
import { parseNeuronConfig } from "@cortex/core/config";
import {
  DEFAULT_PLUGIN_PATH,
  HUGGINGFACE_DOWNLOAD_HOSTS,
  listenNetEntry,
  NEURON_SOURCE_DIRS,
  neuronPermissionFlags,
} from "./neuron_permissions.ts";

const env = (vars: Record<string, string>) => (name: string): string | undefined => vars[name];

function _flag(flags: string[], name: string): string[] | null {
  const found = flags.find((f) => f.startsWith(`--${name}=`));
  return found === undefined ? null : found.slice(name.length + 3).split(",");
}

Deno.test("neuronPermissionFlags: an offline neuron gets its listener, its files and nothing to write", () => {
  const config = parseNeuronConfig(
    `listen = "127.0.0.1:14000"\nplugin = "lib/plugin.so"\nmodels_dir = "models"\ntoken_env = "NEURON_TOKEN"\n` +
      `[hub]\noffline = true\n[[models]]\nid = "a"\npath = "/data/a"\n[[models]]\nid = "b"\nsource = "org/b"\n`,
    { baseDir: "/etc/cortex" },
  );
  const flags = neuronPermissionFlags(config, "/etc/cortex/neuron.toml", env({ HOME: "/home/n" }));
  assert.deepEqual(_flag(flags, "allow-net"), ["127.0.0.1:14000", "127.0.0.1"]);
  assert.deepEqual(_flag(flags, "allow-read"), [
    "/etc/cortex/neuron.toml",
    "/etc/cortex/lib/plugin.so",
    "/home/n/.cache/huggingface/hub",
    "/data/a",
    "/etc/cortex/models",
    ...NEURON_SOURCE_DIRS,
  ]);
  assert.equal(_flag(flags, "allow-write"), null);
  assert.deepEqual(_flag(flags, "allow-ffi"), ["/etc/cortex/lib/plugin.so"]);
  assert.deepEqual(_flag(flags, "allow-env")?.sort(), [
    "CORTEX_GIT_DIRTY",
    "CORTEX_GIT_SHA",
    "HF_HOME",
    "HF_HUB_CACHE",
    "HF_TOKEN",
    "HOME",
    "NEURON_TOKEN",
  ]);
  assert.deepEqual(_flag(flags, "allow-sys"), ["hostname", "osRelease"]);
  assert.ok(flags.includes("--no-prompt"));
  assert.equal(
    flags.some((f) => f === "-A" || f.startsWith("--allow-all") || f.startsWith("--allow-run")),
    false,
  );
});

Deno.test("neuronPermissionFlags: an online neuron may reach the hub and its download hosts and write its cache", () => {
  const hf = neuronPermissionFlags(parseNeuronConfig(""), "/n.toml", env({ HF_HOME: "/srv/hf" }));
  assert.deepEqual(_flag(hf, "allow-net"), [
    "0.0.0.0:13131",
    "127.0.0.1",
    "huggingface.co:443",
    ...HUGGINGFACE_DOWNLOAD_HOSTS.map((h) => `${h}:443`),
  ]);
  assert.deepEqual(_flag(hf, "allow-write"), ["/srv/hf/hub"]);
  assert.deepEqual(_flag(hf, "allow-read"), [
    "/n.toml",
    DEFAULT_PLUGIN_PATH,
    "/srv/hf/hub",
    ...NEURON_SOURCE_DIRS,
  ]);

  const mirror = neuronPermissionFlags(
    parseNeuronConfig(
      `[hub]\nendpoint = "http://mirror.lan:8080"\ncache_dir = "/cache"\ntoken_env = "MIRROR_TOKEN"\n`,
    ),
    "/n.toml",
    env({}),
  );
  assert.deepEqual(_flag(mirror, "allow-net"), ["0.0.0.0:13131", "127.0.0.1", "mirror.lan:8080"]);
  assert.deepEqual(_flag(mirror, "allow-write"), ["/cache"]);
  assert.ok(_flag(mirror, "allow-env")?.includes("MIRROR_TOKEN"));
  assert.equal(_flag(mirror, "allow-env")?.includes("HF_TOKEN"), false);
});

Deno.test("listenNetEntry: port 0 allows the host on any port; IPv6 hosts keep their brackets", () => {
  assert.equal(listenNetEntry("127.0.0.1:0"), "127.0.0.1");
  assert.equal(listenNetEntry("0.0.0.0:13131"), "0.0.0.0:13131");
  assert.equal(listenNetEntry("[::1]:13131"), "[::1]:13131");
  assert.equal(listenNetEntry("[::]:0"), "[::]");
  assert.equal(listenNetEntry("node-a.lan:9000"), "node-a.lan:9000");
});
