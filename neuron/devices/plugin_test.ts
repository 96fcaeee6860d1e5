import assert from "node:assert/strict";

const pluginPath = new URL("../../cuda_plugin/build/libcortex_plugin.so", import.meta.url).pathname;

Deno.test("plugin exports the ABI version it was built with", () => {
  const lib = Deno.dlopen(pluginPath, { cx_abi_version: { parameters: [], result: "i32" } });
  try {
    assert.equal(lib.symbols.cx_abi_version(), 1);
  } finally {
    lib.close();
  }
});
