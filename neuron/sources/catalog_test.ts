import assert from "node:assert/strict";
import { parseNeuronConfig } from "@cortex/core/config";
import { ModelCatalog } from "./catalog.ts";

async function _withModelsDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/alpha`);
    await Deno.writeTextFile(`${dir}/alpha/config.json`, "{}");
    await Deno.mkdir(`${dir}/configured`);
    await Deno.writeTextFile(`${dir}/configured/config.json`, "{}");
    await Deno.mkdir(`${dir}/empty`);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("catalog: configured models, then models_dir folders with a config.json", async () => {
  await _withModelsDir(async (dir) => {
    const config = parseNeuronConfig(`
models_dir = "${dir}"
[[models]]
id = "configured"
path = "/somewhere/else"
context_length = 128
[[models]]
id = "hubbed"
source = "hf:Qwen/Qwen3-0.6B"
`);
    const catalog = new ModelCatalog(config);
    const list = await catalog.list();
    assert.deepEqual(list.map((e) => e.id), ["configured", "hubbed", "alpha"]);
    assert.deepEqual(
      list[0].source,
      { kind: "folder", path: "/somewhere/else" },
      "a configured id shadows a folder",
    );
    assert.equal(list[0].contextLength, 128);
    assert.deepEqual(list[1].source, { kind: "hub", id: "hf:Qwen/Qwen3-0.6B", repo: "Qwen/Qwen3-0.6B" });
    assert.deepEqual((await catalog.resolve("alpha"))?.source, { kind: "folder", path: `${dir}/alpha` });
    assert.equal(await catalog.resolve("empty"), null);
  });
});

Deno.test("catalog: any [hf:|huggingface:]org/name resolves to the hub; other schemes and shapes do not", async () => {
  const catalog = new ModelCatalog(parseNeuronConfig(""));
  for (const id of ["org/name", "hf:org/name", "huggingface:org/name"]) {
    assert.deepEqual((await catalog.resolve(id))?.source, { kind: "hub", id, repo: "org/name" }, id);
  }
  for (const id of ["ftp:org/name", "plain", "a/b/c", ""]) assert.equal(await catalog.resolve(id), null, id);
});

Deno.test("catalog: offline with nothing cached is a 404 naming the cache", async () => {
  const cache = await Deno.makeTempDir();
  try {
    const catalog = new ModelCatalog(parseNeuronConfig(`[hub]\noffline = true\ncache_dir = "${cache}"\n`));
    const entry = (await catalog.resolve("org/name"))!;
    await assert.rejects(catalog.materialize(entry), (error: unknown) => {
      assert.equal((error as { status: number }).status, 404);
      assert.match((error as Error).message, /not in the hub cache .* hub\.offline is set/);
      return true;
    });
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("catalog: models_dir offers folders of .gguf files and top-level .gguf files; [[models]] carry quant", async () => {
  await _withModelsDir(async (dir) => {
    await Deno.mkdir(`${dir}/qwen-gguf`);
    await Deno.writeTextFile(`${dir}/qwen-gguf/m-Q8_0.gguf`, "");
    await Deno.writeTextFile(`${dir}/solo-Q4_K_M.gguf`, "");
    await Deno.writeTextFile(`${dir}/big-00001-of-00002.gguf`, "");
    await Deno.writeTextFile(`${dir}/big-00002-of-00002.gguf`, "");
    const config = parseNeuronConfig(`
models_dir = "${dir}"
[[models]]
id = "configured"
path = "${dir}/qwen-gguf"
quant = "q8_0"
`);
    const catalog = new ModelCatalog(config);
    const list = await catalog.list();
    assert.deepEqual(list.map((e) => e.id), ["configured", "alpha", "big", "qwen-gguf", "solo-Q4_K_M"]);
    assert.equal(list[0].quant, "q8_0");
    assert.deepEqual((await catalog.resolve("solo-Q4_K_M"))?.source, {
      kind: "folder",
      path: `${dir}/solo-Q4_K_M.gguf`,
    });
    assert.deepEqual((await catalog.resolve("big"))?.source, {
      kind: "folder",
      path: `${dir}/big-00001-of-00002.gguf`,
    });
    assert.equal(await catalog.resolve("big-00002-of-00002"), null, "later shards are not models");
  });
});
