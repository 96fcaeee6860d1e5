import assert from "node:assert/strict";
import { readGgufHeader } from "../sources/gguf/mod.ts";
import { readModelAssets } from "./loaded_model.ts";

const FIXTURES = new URL("../../../shared/fixtures/gguf/", import.meta.url).pathname;
const haveFixtures = await Deno.stat(FIXTURES).then(() => true, () => false);
if (!haveFixtures) console.warn(`skipping GGUF asset tests: ${FIXTURES} is absent`);

Deno.test({
  name: "model assets: a lone .gguf serves its own tokenizer and chat template",
  ignore: !haveFixtures,
  fn: async () => {
    const path = `${FIXTURES}qwen3-tiny/qwen3-tiny-q8_0.gguf`;
    const assets = await readModelAssets(path, await readGgufHeader(path));
    const hf = await readModelAssets(`${FIXTURES}qwen3-tiny/hf`);
    assert.equal(assets.template.source, "gguf");
    const messages = [{ role: "user" as const, content: "Hi there" }];
    assert.equal(assets.template.render(messages), hf.template.render(messages));
    const prompt = assets.template.render(messages);
    assert.deepEqual(assets.tokenizer.encode(prompt), hf.tokenizer.encode(prompt));
    assert.equal(assets.tokenizer.eosToken, "<|im_end|>");
    const llama = `${FIXTURES}llama31-tiny/llama31-tiny-q8_0.gguf`;
    const llamaAssets = await readModelAssets(llama, await readGgufHeader(llama));
    assert.equal(llamaAssets.template.source, "chatml", "no tokenizer.chat_template: ChatML");
    assert.deepEqual(llamaAssets.tokenizer.encode("Hello", { addSpecialTokens: true }).slice(0, 1), [1]);
  },
});

Deno.test({
  name: "model assets: a tokenizer.json beside the .gguf wins over the metadata",
  ignore: !haveFixtures,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/model.gguf`;
      await Deno.symlink(`${FIXTURES}qwen3-tiny/qwen3-tiny-q8_0.gguf`, path);
      for (const file of ["tokenizer.json", "tokenizer_config.json"]) {
        await Deno.symlink(`${FIXTURES}qwen3-tiny/hf/${file}`, `${dir}/${file}`);
      }
      const assets = await readModelAssets(path, await readGgufHeader(path));
      assert.equal(assets.template.source, "tokenizer_config.json");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
