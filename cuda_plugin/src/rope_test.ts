// The RoPE frequency math, checked natively: rope_check.cpp is compiled with g++ together with
// rope.cpp and run against testdata/rope_frequencies.json (inv_freq and attention scaling computed by
// transformers for llama3, yarn, linear, default and partial-rotary configs, in both spellings), and
// against the configs that must be refused naming their key.
import assert from "node:assert/strict";

const srcDir = new URL(".", import.meta.url).pathname;
const pluginDir = new URL("..", import.meta.url).pathname;

function hasGpp(): boolean {
  try {
    return new Deno.Command("g++", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

async function run(program: string, args: string[]): Promise<{ code: number; text: string }> {
  const { code, stdout, stderr } = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" })
    .output();
  const decoder = new TextDecoder();
  return { code, text: decoder.decode(stdout) + decoder.decode(stderr) };
}

const gpp = hasGpp();
if (!gpp) console.warn("rope_test: g++ not found; skipping the native RoPE checks");

Deno.test({
  name:
    "RoPE inv_freq and attention scaling equal transformers'; unsupported RoPE configs are refused by key",
  ignore: !gpp,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "cx_rope_" });
    try {
      const binary = `${dir}/rope_check`;
      const sources = ["rope_check.cpp", "rope.cpp", "json.cpp", "error.cpp"].map((file) =>
        `${srcDir}${file}`
      );
      const build = await run("g++", [
        "-std=c++17",
        "-O2",
        "-march=x86-64-v2",
        "-Wall",
        "-Wextra",
        `-I${srcDir}`,
        `-I${pluginDir}include`,
        ...sources,
        "-o",
        binary,
      ]);
      assert.equal(build.code, 0, `g++ failed:\n${build.text}`);
      assert.doesNotMatch(build.text, /warning/, `g++ warned:\n${build.text}`);
      const result = await run(binary, [`${srcDir}testdata/rope_frequencies.json`]);
      assert.equal(result.code, 0, `RoPE checks failed:\n${result.text}`);
      const summary = result.text.match(/(\d+) checks, (\d+) failed/);
      assert.ok(summary, `no summary line in:\n${result.text}`);
      assert.equal(Number(summary[2]), 0);
      // 10 transformers tables (3 checks each) and 14 refusals.
      assert.ok(Number(summary[1]) >= 40, `only ${summary[1]} checks ran`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
