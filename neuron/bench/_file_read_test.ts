import assert from "node:assert/strict";
import { modelFiles, readFiles } from "./_file_read.ts";

Deno.test("readFiles reads every byte of a folder's safetensors files and nothing else", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/b.safetensors`, new Uint8Array(3 << 20));
    await Deno.writeFile(`${dir}/a.safetensors`, new Uint8Array(9 << 20));
    await Deno.writeTextFile(`${dir}/config.json`, "{}");
    const files = modelFiles(dir);
    assert.deepEqual(files, [`${dir}/a.safetensors`, `${dir}/b.safetensors`]);
    const read = await readFiles(files);
    assert.equal(read.bytes, 12 << 20);
    assert.ok(read.seconds >= 0);
    assert.deepEqual(modelFiles(`${dir}/m.gguf`), [`${dir}/m.gguf`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
