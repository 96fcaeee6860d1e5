import assert from "node:assert/strict";
import { ConfigError } from "./config_error.ts";
import { coldLoadTimeoutMs } from "./cortex_config.ts";
import {
  loadCortexConfig,
  loadModelsConfig,
  loadNeuronConfig,
  parseCortexConfig,
  parseModelsConfig,
  parseNeuronConfig,
} from "./load.ts";
import { effectiveResidencyPriority, resolveAlias } from "./models_config.ts";

const repoRoot = new URL("../../", import.meta.url);
const here = new URL("./", import.meta.url);

Deno.test("the example cortex.toml, models.example.toml and neuron.example.toml parse", async () => {
  const cortex = await loadCortexConfig(new URL("cortex.toml", repoRoot).pathname);
  assert.equal(cortex.gateway.listen, "0.0.0.0:31313");
  assert.equal(cortex.gateway.metrics_listen, "0.0.0.0:31314");
  assert.equal(cortex.eviction.strategy, "lru");
  assert.deepEqual(cortex.neurons, [{
    name: "local",
    endpoint: "http://127.0.0.1:13131",
    token: null,
    token_env: null,
  }]);
  assert.ok(cortex.models_config.endsWith("/models.example.toml"));
  const models = await loadModelsConfig(cortex.models_config);
  assert.ok(models.models.length >= 4);
  const byId = new Map(models.models.map((m) => [m.id, m]));
  assert.equal(byId.get("Qwen/Qwen3-8B")?.residency_priority, 1000, "pinned → 1000");
  assert.equal(byId.get("Qwen/Qwen3-32B")?.residency_priority, 300, "explicit wins");
  assert.equal(byId.get("Qwen/Qwen3-1.7B")?.residency_priority, 100, "default 100");
  assert.equal(byId.get("Qwen/Qwen3-1.7B")?.cost?.cache_read, 0.01);
  assert.equal(byId.get("Qwen/Qwen3-1.7B")?.cost?.cache_write, undefined);
  assert.equal(byId.get("Qwen/Qwen3-8B")?.cost, null, "absent cost stays distinct from free");
  assert.equal(resolveAlias(models, "helexa/small"), "Qwen/Qwen3-1.7B");
  assert.equal(resolveAlias(models, "tiny"), "stories260K");
  assert.equal(resolveAlias(models, "Qwen/Qwen3-8B"), "Qwen/Qwen3-8B");
  const neuron = await loadNeuronConfig(new URL("neuron.example.toml", repoRoot).pathname);
  assert.equal(neuron.listen, "0.0.0.0:13131");
  assert.equal(neuron.devices.cpu_memory_budget_mb, 2048);
  assert.deepEqual(neuron.default_models, [{ model_id: "stories260K" }]);
  const stories = neuron.models.find((m) => m.id === "stories260K");
  assert.ok(stories?.path?.endsWith("/shared/fixtures/stories260K/hf"), stories?.path ?? "no path");
  assert.ok(!stories?.path?.includes(".."), "relative path resolved against the file's folder");
  assert.equal(neuron.models.find((m) => m.id === "Qwen/Qwen3-0.6B")?.source, "Qwen/Qwen3-0.6B");
});

Deno.test("empty files get every default from the schemas", () => {
  const cortex = parseCortexConfig("");
  assert.deepEqual(cortex, {
    models_config: "models.toml",
    gateway: {
      listen: "0.0.0.0:31313",
      metrics_listen: "0.0.0.0:31314",
      body_limit_mb: 32,
      upstream_idle_timeout_s: 300,
      upstream_header_timeout_s: 60,
      upstream_total_timeout_s: 600,
      upstream_max_connections: 32,
      keys: [],
    },
    eviction: { strategy: "lru", defrag_after_cycles: 0, min_residency_s: 60, max_wait_s: 30, ttl_s: null },
    poller: { interval_s: 10, timeout_s: 5, unhealthy_after: 2 },
    cold_load: { base_s: 60, per_gb_s: 30, max_s: 1800 },
    neurons: [],
    connections: {
      header_timeout_s: 60,
      body_timeout_s: 60,
      idle_timeout_s: 75,
      send_timeout_s: 60,
      max_per_client: 256,
    },
    log: { format: "text", level: "info", prompts: false },
  });
  assert.deepEqual(parseModelsConfig(""), { models: [], aliases: {}, allow_unlisted: false });
  const neuron = parseNeuronConfig("");
  assert.equal(neuron.listen, "0.0.0.0:13131");
  assert.deepEqual(neuron.devices, {
    cpu_devices: 1,
    cpu_memory_budget_mb: null,
    cpu_threads: null,
    cuda: "all",
  });
  assert.deepEqual(neuron.admission, { max_in_flight: 4, max_queue: 16, max_wait_s: 30 });
  assert.deepEqual(neuron.prefix_cache, { enabled: true, budget_mb: 1024 });
  assert.equal(neuron.connections.max_per_client, 4096);
  assert.equal(neuron.connections.header_timeout_s, 60);
  assert.deepEqual(neuron.log, { format: "text", level: "info", prompts: false });
  assert.equal(neuron.failed_load_ttl_s, 60);
  assert.deepEqual(neuron.hub, {
    endpoint: "https://huggingface.co",
    cache_dir: null,
    token_env: "HF_TOKEN",
    offline: false,
  });
  assert.equal(neuron.token, null);
});

Deno.test("unknown keys are errors naming each key, so a typo never silently falls back to a default", () => {
  assert.throws(
    () => parseCortexConfig('future_knob = 1\n[gateway]\nlisten = "127.0.0.1:1"\nshiny = true\n'),
    (error: unknown) =>
      error instanceof ConfigError && /unknown key "future_knob"/.test(error.message) &&
      /gateway: unknown key "shiny"/.test(error.message),
  );
});

Deno.test("a profile's defaults and residency rules match the original", () => {
  const config = parseModelsConfig(`
[[models]]
id = "a"
[[models]]
id = "b"
pinned_on = ["n1"]
[[models]]
id = "c"
pinned_on = ["n1"]
residency_priority = 50
`);
  const [a, b, c] = config.models;
  assert.deepEqual(a, {
    id: "a",
    aliases: [],
    harness: "native",
    quant: null,
    vram_mb: null,
    min_devices: 1,
    min_device_vram_mb: null,
    pinned_on: [],
    residency_priority: 100,
    limit: null,
    cost: null,
    capabilities: [],
    source: null,
    ttl_s: null,
  });
  assert.equal(b.residency_priority, 1000);
  assert.equal(c.residency_priority, 50);
  assert.equal(effectiveResidencyPriority(undefined), 100, "uncatalogued models rank 100");
});

const badConfigs: { name: string; parse: (text: string) => unknown; text: string; message: string }[] = [
  {
    name: "unknown eviction strategy",
    parse: parseCortexConfig,
    text: '[eviction]\nstrategy = "lfu"\n',
    message: 'cortex.toml: eviction.strategy: expected "lru" | "priority", got "lfu"',
  },
  {
    name: "misspelt key",
    parse: parseCortexConfig,
    text: '[eviction]\nstrateggy = "priority"\n',
    message: 'cortex.toml: eviction: unknown key "strateggy"',
  },
  {
    name: "misspelt profile key",
    parse: parseModelsConfig,
    text: '[[models]]\nid = "m"\nvram_gb = 3\n',
    message: 'models.toml: models[0]: unknown key "vram_gb"',
  },
  {
    name: "listen is a number",
    parse: parseCortexConfig,
    text: "[gateway]\nlisten = 31313\n",
    message: "cortex.toml: gateway.listen: expected string, got 31313",
  },
  {
    name: "listen without port",
    parse: parseCortexConfig,
    text: '[gateway]\nmetrics_listen = "localhost"\n',
    message:
      'cortex.toml: gateway.metrics_listen: expected "host:port" with a port from 0 to 65535, got "localhost"',
  },
  {
    name: "neuron endpoint is not http",
    parse: parseCortexConfig,
    text: '[[neurons]]\nname = "a"\nendpoint = "ftp://a"\n',
    message: 'cortex.toml: neurons[0].endpoint: expected an http(s) URL, got "ftp://a"',
  },
  {
    name: "neuron without endpoint",
    parse: parseCortexConfig,
    text: '[[neurons]]\nname = "a"\n',
    message: "cortex.toml: neurons[0].endpoint: expected string, got nothing",
  },
  {
    name: "neuron with both token and token_env",
    parse: parseCortexConfig,
    text: '[[neurons]]\nname = "a"\nendpoint = "http://a:1"\ntoken = "t"\ntoken_env = "A_TOKEN"\n',
    message: "cortex.toml: neurons[0].token_env: expected `token` or `token_env`, got both",
  },
  {
    name: "duplicate neuron names",
    parse: parseCortexConfig,
    text:
      '[[neurons]]\nname = "a"\nendpoint = "http://a:1"\n[[neurons]]\nname = "a"\nendpoint = "http://b:1"\n',
    message: 'cortex.toml: neurons[1].name: duplicate name "a" (also neurons[0])',
  },
  {
    name: "negative defrag cycles",
    parse: parseCortexConfig,
    text: "[eviction]\ndefrag_after_cycles = -1\n",
    message: "cortex.toml: eviction.defrag_after_cycles: expected a number >= 0, got -1",
  },
  {
    name: "negative swap budget",
    parse: parseCortexConfig,
    text: '[[gateway.keys]]\nname = "a"\nkey = "sk-12345678"\nmax_swaps_per_hour = -1\n',
    message: "cortex.toml: gateway.keys[0].max_swaps_per_hour: expected a number >= 0, got -1",
  },
  {
    name: "negative max wait",
    parse: parseCortexConfig,
    text: "[eviction]\nmax_wait_s = -5\n",
    message: "cortex.toml: eviction.max_wait_s: expected a number >= 0, got -5",
  },
  {
    name: "neurons is a table",
    parse: parseCortexConfig,
    text: '[neurons]\nname = "a"\n',
    message: "cortex.toml: neurons: expected array, got object",
  },
  {
    name: "TOML syntax error",
    parse: parseCortexConfig,
    text: "[gateway]\nlisten = \n",
    message: "cortex.toml: invalid TOML at line 2, column 10: invalid value",
  },
  {
    name: "profile without id",
    parse: parseModelsConfig,
    text: "[[models]]\nvram_mb = 10\n",
    message: "models.toml: models[0].id: expected string, got nothing",
  },
  {
    name: "vram_mb as a string",
    parse: parseModelsConfig,
    text: '[[models]]\nid = "a"\nvram_mb = "24G"\n',
    message: 'models.toml: models[0].vram_mb: expected number, got "24G"',
  },
  {
    name: "min_devices zero",
    parse: parseModelsConfig,
    text: '[[models]]\nid = "a"\nmin_devices = 0\n',
    message: "models.toml: models[0].min_devices: expected a number >= 1, got 0",
  },
  {
    name: "output limit above context",
    parse: parseModelsConfig,
    text: '[[models]]\nid = "a"\nlimit = { context = 100, output = 200 }\n',
    message: "models.toml: models[0].limit.output: expected at most limit.context (100), got 200",
  },
  {
    name: "duplicate model id",
    parse: parseModelsConfig,
    text: '[[models]]\nid = "a"\n[[models]]\nid = "a"\n',
    message: 'models.toml: models[1].id: duplicate id "a" (also models[0])',
  },
  {
    name: "alias shadows a model id",
    parse: parseModelsConfig,
    text: '[[models]]\nid = "a/b"\n[[models]]\nid = "c"\n[aliases]\n"a/b" = "c"\n',
    message: 'models.toml: aliases["a/b"]: alias shadows the model id a/b',
  },
  {
    name: "pinned_on is a string",
    parse: parseModelsConfig,
    text: '[[models]]\nid = "a"\npinned_on = "benjy"\n',
    message: 'models.toml: models[0].pinned_on: expected array, got "benjy"',
  },
  {
    name: "neuron model with neither path nor source",
    parse: parseNeuronConfig,
    text: '[[models]]\nid = "a"\n',
    message:
      "neuron.toml: models[0]: expected one of `path` (a local folder) or `source` (a hub id), got neither",
  },
  {
    name: "neuron model with a malformed hub id",
    parse: parseNeuronConfig,
    text: '[[models]]\nid = "a"\nsource = "just-a-name"\n',
    message: 'neuron.toml: models[0].source: expected a hub id "[scheme:]org/name", got "just-a-name"',
  },
  {
    name: "cuda selection is a word",
    parse: parseNeuronConfig,
    text: '[devices]\ncuda = "some"\n',
    message: 'neuron.toml: devices.cuda: expected "all" | "none" | array, got "some"',
  },
  {
    name: "no devices at all",
    parse: parseNeuronConfig,
    text: '[devices]\ncpu_devices = 0\ncuda = "none"\n',
    message: 'neuron.toml: devices: expected at least one device, got cpu_devices = 0 and cuda = "none"',
  },
  {
    name: "admission max_in_flight zero",
    parse: parseNeuronConfig,
    text: "[admission]\nmax_in_flight = 0\n",
    message: "neuron.toml: admission.max_in_flight: expected a number >= 1, got 0",
  },
  {
    name: "log format is json or text",
    parse: parseCortexConfig,
    text: '[log]\nformat = "yaml"\n',
    message: 'cortex.toml: log.format: expected "json" | "text", got "yaml"',
  },
  {
    name: "neuron log level is a known level",
    parse: parseNeuronConfig,
    text: '[log]\nlevel = "trace"\n',
    message: 'neuron.toml: log.level: expected "debug" | "info" | "warn" | "error", got "trace"',
  },
  {
    name: "default model of the wrong type",
    parse: parseNeuronConfig,
    text: "default_models = [3]\n",
    message: "neuron.toml: default_models[0]: expected string | object, got 3",
  },
];

for (const bad of badConfigs) {
  Deno.test(`bad config gives the exact message: ${bad.name}`, () => {
    let thrown: unknown = null;
    try {
      bad.parse(bad.text);
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown instanceof ConfigError, "expected a ConfigError");
    assert.equal(thrown.message, bad.message);
    assert.equal(thrown.code, bad.name === "TOML syntax error" ? "config_syntax" : "config_invalid");
  });
}

Deno.test("keep-alive and unlisted loads: ttl_s per profile, a default in [eviction], allow_unlisted", () => {
  const models = parseModelsConfig(
    'allow_unlisted = true\n[[models]]\nid = "a"\nttl_s = 5\n[[models]]\nid = "b"\n',
  );
  assert.equal(models.allow_unlisted, true);
  assert.deepEqual(models.models.map((m) => m.ttl_s), [5, null]);
  assert.equal(parseCortexConfig("[eviction]\nttl_s = 300\n").eviction.ttl_s, 300);
  assert.throws(
    () => parseModelsConfig('allow_unlisted = "yes"\n'),
    /allow_unlisted: expected boolean/,
  );
});

Deno.test("loaders name the file they read", async () => {
  const path = new URL("testdata/bad_strategy.toml", here).pathname;
  await assert.rejects(
    () => loadCortexConfig(path),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.message === `${path}: eviction.strategy: expected "lru" | "priority", got "lfu"`,
  );
  const missing = new URL("testdata/does_not_exist.toml", here).pathname;
  await assert.rejects(
    () => loadCortexConfig(missing),
    (error: unknown) =>
      error instanceof ConfigError && error.code === "config_not_found" && error.message.startsWith(missing),
  );
  assert.deepEqual(await loadModelsConfig(missing, { missingOk: true }), {
    models: [],
    aliases: {},
    allow_unlisted: false,
  });
});

Deno.test("neuron.toml relative paths resolve against the file's folder", async () => {
  const config = await loadNeuronConfig(new URL("testdata/neuron_relative.toml", here).pathname);
  const dir = new URL("testdata", here).pathname;
  assert.equal(config.models_dir, `${dir}/models`);
  assert.equal(config.plugin, "/opt/cortex/libcortex_plugin.so");
  assert.equal(config.models[0].path, new URL("a", here).pathname);
});

Deno.test("a key's swap budget is absent (no limit) unless set", () => {
  const config = parseCortexConfig(
    '[[gateway.keys]]\nname = "a"\nkey = "sk-12345678"\n[[gateway.keys]]\nname = "b"\nkey = "sk-87654321"\n' +
      "max_swaps_per_hour = 6\n",
  );
  assert.deepEqual(config.gateway.keys.map((k) => k.max_swaps_per_hour), [null, 6]);
});

Deno.test("cold-load timeout scales with model size and is capped", () => {
  const section = { base_s: 60, per_gb_s: 30, max_s: 1800 };
  assert.equal(coldLoadTimeoutMs(section, null), 60_000);
  assert.equal(coldLoadTimeoutMs(section, 2048), 120_000);
  assert.equal(coldLoadTimeoutMs(section, 1_000_000), 1_800_000);
});

Deno.test("neuron.toml: quant on [[models]] and default_models tables", () => {
  const neuron = parseNeuronConfig(`
default_models = [{ model_id = "g", quant = "q6k" }]
[[models]]
id = "g"
path = "/m/qwen-gguf"
quant = "q8_0"
[[models]]
id = "plain"
path = "/m/plain"
`);
  assert.deepEqual(neuron.default_models, [{ model_id: "g", quant: "q6k" }]);
  assert.deepEqual(neuron.models.map((m) => m.quant), ["q8_0", null]);
});
