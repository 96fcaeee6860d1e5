import assert from "node:assert/strict";
import type { Catalogue } from "./catalogue.ts";
import { CatalogueReloader } from "./catalogue_reloader.ts";

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

Deno.test("catalogue reload: a valid file is applied, a broken one is refused with the reason", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cortex-reload-" });
  const path = `${dir}/models.toml`;
  await Deno.writeTextFile(path, '[[models]]\nid = "a"\n');
  const applied: Catalogue[] = [];
  const lines: string[] = [];
  const outcomes: string[] = [];
  const reloader = new CatalogueReloader(path, {
    apply: (c) => applied.push(c),
    log: (line) => lines.push(line),
    onOutcome: (o) => outcomes.push(o),
  });
  try {
    const first = await reloader.reload("test");
    assert.equal(first.status, "applied");
    assert.deepEqual(applied[0].profiles.map((p) => p.id), ["a"]);
    assert.equal((await reloader.reload("test")).status, "unchanged", "same text: nothing to do");
    assert.equal((await reloader.reload("SIGHUP", true)).status, "applied", "forced: applied again");

    await Deno.writeTextFile(path, '[[models]]\nid = "a"\nvram_mb = "lots"\n');
    const bad = await reloader.reload("test");
    assert.equal(bad.status, "rejected");
    assert.equal(applied.length, 2, "a broken file installs nothing");
    assert.match(
      lines.at(-1)!,
      /not reloaded \(test\); the previous catalogue keeps serving: .*models\[0\]\.vram_mb/,
    );

    await Deno.writeTextFile(path, "[[models]\n");
    assert.equal((await reloader.reload("test")).status, "rejected");
    assert.match(lines.at(-1)!, /invalid TOML at line 1/);

    await Deno.remove(path);
    assert.equal((await reloader.reload("test")).status, "rejected");
    assert.match(lines.at(-1)!, /the file is gone/);
    assert.deepEqual(outcomes, ["applied", "applied", "rejected", "rejected", "rejected"]);
  } finally {
    await reloader.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("catalogue reload: the watch applies edits in place and files renamed over it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cortex-watch-" });
  const path = `${dir}/models.toml`;
  await Deno.writeTextFile(path, '[[models]]\nid = "a"\n');
  let current: string[] = ["a"];
  const lines: string[] = [];
  const reloader = new CatalogueReloader(path, {
    apply: (c) => (current = c.profiles.map((p) => p.id)),
    log: (line) => lines.push(line),
    debounceMs: 50,
  });
  try {
    reloader.watch();
    // The watch is armed asynchronously; write until it has seen an edit.
    for (let i = 0; i < 100 && !current.includes("b"); i++) {
      await Deno.writeTextFile(path, `[[models]]\nid = "a"\n[[models]]\nid = "b"\n# ${i}\n`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(current, ["a", "b"], "an in-place edit is applied");
    await Deno.writeTextFile(`${dir}/models.toml.tmp`, '[[models]]\nid = "c"\n');
    await Deno.rename(`${dir}/models.toml.tmp`, path);
    await until(() => current.join() === "c", "a file renamed over models.toml to be applied");
    await Deno.writeTextFile(path, "models = 3\n");
    await until(
      () => lines.some((l) => /not reloaded.*models: expected array/.test(l)),
      "a broken edit to be refused",
    );
    assert.deepEqual(current, ["c"], "the previous catalogue stays");
    await Deno.writeTextFile(path, '[[models]]\nid = "d"\n');
    await until(() => current.join() === "d", "the fixed file to be applied after the rename");
  } finally {
    await reloader.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("catalogue reload: a missing file is waited for, picked up when it appears, and close() ends the wait", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cortex-missing-" });
  const path = `${dir}/models.toml`;
  let current: string[] = [];
  const reloader = new CatalogueReloader(path, {
    apply: (c) => (current = c.profiles.map((p) => p.id)),
    log: null,
    debounceMs: 20,
  });
  try {
    reloader.watch();
    await new Promise((r) => setTimeout(r, 100));
    await Deno.writeTextFile(path, '[[models]]\nid = "late"\n');
    await until(() => current.join() === "late", "the file that appeared to be applied");
    await Deno.remove(path);
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    await reloader.close(); // resolves although the watch is waiting for the file to come back
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual(current, ["late"], "the catalogue stays when the file goes away");
});
