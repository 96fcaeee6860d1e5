// HTTP-level tests of GGUF model sources that the neuron settles before the engine is asked:
// a models_dir folder of several GGUFs picks by quant (quant_not_found lists the offer), a
// GGUF-only hub repo downloads only the file quant chooses, and broken GGUF files (truncated,
// bad magic, unknown architecture, unsupported tensor type) are 422s naming the problem while
// the neuron stays healthy with its device memory unchanged.
import assert from "node:assert/strict";
import { ggufFixturesAvailable, ggufFixturesRealPath } from "./devices/_gguf_fixtures.ts";
import { GgufValueType } from "./sources/gguf/types.ts";
import { encodeGguf } from "./sources/gguf/write.ts";
import { startHubTestDouble } from "./testing/hub_test_double.ts";
import { modelEntry, postForJson } from "./testing/http.ts";
import { spawnNeuron } from "./testing/spawn_neuron.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const FIXTURES = ggufFixturesRealPath();
const haveFixtures = ggufFixturesAvailable();

interface _Error {
  error: { code: string; message: string; offered?: string[]; nearest?: string };
}

async function deviceMemory(url: string): Promise<number[]> {
  const health = await (await fetch(`${url}/health`)).json();
  assert.equal(health.status, "ok");
  return (health.devices as { memory_used_mb: number }[]).map((d) => d.memory_used_mb);
}

Deno.test({
  name: "gguf sources over HTTP: broken files are 422s naming the problem; the neuron stays healthy",
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "neuron-bad-gguf-" });
    const meta = (arch: string) =>
      new Map([["general.architecture", { type: GgufValueType.STRING, itemType: null, value: arch }]]);
    const good = await encodeGguf(meta("qwen3"), [{
      name: "w",
      type: "Q8_0",
      dims: [1024],
      data: new Uint8Array(1088),
    }]);
    await Deno.writeFile(`${dir}/truncated.gguf`, good.subarray(0, good.length - 200));
    await Deno.writeFile(`${dir}/header-cut.gguf`, good.subarray(0, 30));
    await Deno.writeFile(`${dir}/magic.gguf`, new TextEncoder().encode("PK\x03\x04 this is a zip"));
    const v7 = good.slice();
    new DataView(v7.buffer).setUint32(4, 7, true);
    await Deno.writeFile(`${dir}/version.gguf`, v7);
    await Deno.writeFile(`${dir}/mamba.gguf`, await encodeGguf(meta("mamba"), []));
    await Deno.writeFile(
      `${dir}/iq2.gguf`,
      await encodeGguf(meta("qwen3"), [{
        name: "blk.0.ffn_up.weight",
        type: "Q2_K",
        dims: [256],
        data: new Uint8Array(84),
      }]),
    );
    const cases: [string, string, RegExp][] = [
      ["truncated", "bad_model_folder", /tensor 'w' .* runs past the end of the file/],
      ["header-cut", "bad_model_folder", /truncated/],
      ["magic", "bad_model_folder", /bad magic "PK\\x03\\x04"/],
      ["version", "bad_model_folder", /unknown GGUF version 7/],
      ["mamba", "unsupported_architecture", /architecture 'mamba' is not supported/],
      ["iq2", "bad_model_folder", /tensor 'blk\.0\.ffn_up\.weight' has type Q2_K/],
    ];
    const models = Object.fromEntries(cases.map(([name]) => [name, `${dir}/${name}.gguf`]));
    const neuron = await spawnNeuron({ models, defaultModels: [] });
    try {
      const baseline = await deviceMemory(neuron.url);
      for (const [name, code, pattern] of cases) {
        const load = await postForJson<_Error>(`${neuron.url}/models/load`, { model_id: name });
        assert.equal(load.status, 422, `${name}: ${JSON.stringify(load.body)}`);
        assert.equal(load.body.error.code, code, name);
        assert.match(load.body.error.message, pattern, `${name}: ${load.body.error.message}`);
        assert.ok(load.body.error.message.includes(`${name}.gguf`), `${name}: the message names the file`);
        assert.equal((await modelEntry(neuron.url, name))?.status, "failed");
      }
      assert.deepEqual(await deviceMemory(neuron.url), baseline, "device memory is back at its baseline");
    } finally {
      await neuron.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "gguf sources over HTTP: a models_dir folder of GGUFs answers a quant that matches none with the offer",
  ignore: !haveFixtures,
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "neuron-models-dir-" });
    await Deno.symlink(`${FIXTURES}qwen3-tiny`, `${dir}/qwen3-tiny`);
    const neuron = await spawnNeuron({ modelsDir: dir, allowRead: [FIXTURES], defaultModels: [] });
    try {
      const listed = await modelEntry(neuron.url, "qwen3-tiny");
      assert.equal(listed?.status, "available", "a folder holding .gguf files is offered");
      const load = await postForJson<_Error>(`${neuron.url}/models/load`, {
        model_id: "qwen3-tiny",
        quant: "q5_k_m",
      });
      assert.equal(load.status, 422, JSON.stringify(load.body));
      assert.equal(load.body.error.code, "quant_not_found");
      assert.match(load.body.error.message, /quant 'q5_k_m' matches no \.gguf file/);
      assert.ok(load.body.error.offered?.includes("qwen3-tiny-q8_0.gguf"), JSON.stringify(load.body.error));
      assert.equal(load.body.error.nearest, "qwen3-tiny-q4_k_m.gguf");
      assert.equal((await (await fetch(`${neuron.url}/health`)).json()).status, "ok");
    } finally {
      await neuron.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "gguf sources over HTTP: a GGUF-only hub repo downloads only the file quant chooses",
  ignore: !haveFixtures,
  ...opts,
  fn: async () => {
    const cacheDir = await Deno.makeTempDir({ prefix: "neuron-hub-gguf-" });
    const q8 = await Deno.readFile(`${FIXTURES}qwen3-tiny/qwen3-tiny-q8_0.gguf`);
    const q4km = await Deno.readFile(`${FIXTURES}qwen3-tiny/qwen3-tiny-q4_k_m.gguf`);
    const hub = await startHubTestDouble({
      repos: {
        "org/qwen3-tiny-GGUF": {
          files: { "README.md": "# GGUF", "qwen3-tiny-Q4_K_M.gguf": q4km, "qwen3-tiny-Q8_0.gguf": q8 },
        },
      },
    });
    const neuron = await spawnNeuron({ hub: { endpoint: hub.url, cache_dir: cacheDir }, defaultModels: [] });
    try {
      const missing = await postForJson<_Error>(`${neuron.url}/models/load`, {
        model_id: "org/qwen3-tiny-GGUF",
        quant: "q6_k",
      });
      assert.equal(missing.status, 422);
      assert.equal(missing.body.error.code, "quant_not_found");
      assert.match(missing.body.error.message, /it offers qwen3-tiny-Q4_K_M\.gguf, qwen3-tiny-Q8_0\.gguf/);
      assert.ok(
        !hub.requests.some((r) => r.path.includes("/resolve/")),
        "nothing is downloaded for a bad quant",
      );
      await postForJson(`${neuron.url}/models/load`, { model_id: "org/qwen3-tiny-GGUF", quant: "q8_0" });
      const downloads = hub.requests.filter((r) => r.path.includes("/resolve/")).map((r) =>
        r.path.split("/").pop()
      );
      assert.deepEqual([...new Set(downloads)], ["qwen3-tiny-Q8_0.gguf"], "only the chosen quant is fetched");
    } finally {
      await neuron.stop();
      await hub.close();
      await Deno.remove(cacheDir, { recursive: true });
    }
  },
});
