import assert from "node:assert/strict";
import { CortexError } from "@cortex/core/errors";
import type { LoadProgress } from "@cortex/core/fleet";
import { repoFromFolder, startHubTestDouble } from "../testing/hub_test_double.ts";
import { findCachedSnapshot, repoCacheDir, resolveHubCacheDir } from "./hub_cache.ts";
import { downloadSnapshot, isModelFile } from "./hub_download.ts";
import { inspectModelFolder } from "./model_folder.ts";

const tinyQwen = new URL("../testdata/models/tiny-qwen3-f32", import.meta.url).pathname;

async function _withCache(fn: (cacheDir: string) => Promise<void>): Promise<void> {
  const cacheDir = await Deno.makeTempDir({ prefix: "neuron-hub-" });
  try {
    await fn(cacheDir);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
}

Deno.test("hub cache dir precedence: configured, HF_HUB_CACHE, HF_HOME/hub, ~/.cache", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.equal(resolveHubCacheDir("/c", env({ HF_HUB_CACHE: "/x" })), "/c");
  assert.equal(resolveHubCacheDir(null, env({ HF_HUB_CACHE: "/x", HF_HOME: "/h" })), "/x");
  assert.equal(resolveHubCacheDir(null, env({ HF_HOME: "/h/" })), "/h/hub");
  assert.equal(resolveHubCacheDir(null, env({ HOME: "/home/n" })), "/home/n/.cache/huggingface/hub");
  assert.equal(repoCacheDir("/c/", "Qwen/Qwen3-0.6B"), "/c/models--Qwen--Qwen3-0.6B");
});

Deno.test("hub download: a model repo lands in the hub cache layout and loads as a folder", async () => {
  const repo = await repoFromFolder(tinyQwen);
  repo.files["pytorch_model.bin"] = "not wanted";
  const hub = await startHubTestDouble({ repos: { "org/tiny": repo } });
  try {
    await _withCache(async (cacheDir) => {
      const seen: LoadProgress[] = [];
      const folder = await downloadSnapshot({
        endpoint: hub.url,
        repo: "org/tiny",
        cacheDir,
        onProgress: (p) => seen.push(p),
      });
      const repoDir = repoCacheDir(cacheDir, "org/tiny");
      const commit = (await Deno.readTextFile(`${repoDir}/refs/main`)).trim();
      assert.equal(folder, `${repoDir}/snapshots/${commit}`);
      const link = await Deno.readLink(`${folder}/model.safetensors`);
      assert.match(link, /^\.\.\/\.\.\/blobs\/[0-9a-f]{64}$/);
      assert.deepEqual(
        await Deno.readFile(`${folder}/model.safetensors`),
        await Deno.readFile(`${tinyQwen}/model.safetensors`),
      );
      assert.equal(await _exists(`${folder}/pytorch_model.bin`), false);
      const info = await inspectModelFolder(folder);
      assert.equal(info.architecture, "Qwen3ForCausalLM");
      const last = seen[seen.length - 1];
      assert.equal(last.phase, "downloading");
      assert.equal(last.done_bytes, last.total_bytes);
      assert.equal(last.files_done, last.files_total);
      assert.ok(
        seen.some((p) => p.done_bytes > 0 && p.done_bytes < p.total_bytes!),
        "progress is reported mid-way",
      );
      assert.equal(await findCachedSnapshot(cacheDir, "org/tiny"), folder);
      // A second call only lists: every file is already in the snapshot.
      const before = hub.requests.length;
      assert.equal(await downloadSnapshot({ endpoint: hub.url, repo: "org/tiny", cacheDir }), folder);
      assert.deepEqual(hub.requests.slice(before).map((r) => r.path), ["/api/models/org/tiny/revision/main"]);
    });
  } finally {
    await hub.close();
  }
});

Deno.test("hub download: a dropped connection leaves a partial blob that the next call resumes", async () => {
  const weights = new Uint8Array(50_000).map((_, i) => (i * 7) % 251);
  const hub = await startHubTestDouble({
    repos: {
      "org/big": { files: { "config.json": "{}", "model.safetensors": weights, "tokenizer.json": "{}" } },
    },
    dropAfterBytes: 10_000,
  });
  try {
    await _withCache(async (cacheDir) => {
      await assert.rejects(
        downloadSnapshot({ endpoint: hub.url, repo: "org/big", cacheDir }),
        (error: unknown) => error instanceof Error && /model\.safetensors|dropped/.test(error.message),
      );
      const blobs = [...Deno.readDirSync(`${repoCacheDir(cacheDir, "org/big")}/blobs`)].map((e) => e.name);
      const partial = blobs.find((name) => name.endsWith(".incomplete"));
      assert.ok(partial, `a partial blob is kept: ${blobs}`);
      const folder = await downloadSnapshot({ endpoint: hub.url, repo: "org/big", cacheDir });
      const ranged = hub.requests.filter((r) => r.range !== null);
      assert.equal(ranged.length, 1);
      assert.equal(ranged[0].range, "bytes=10000-");
      assert.deepEqual(await Deno.readFile(`${folder}/model.safetensors`), weights);
    });
  } finally {
    await hub.close();
  }
});

Deno.test("hub download: the token is sent as a bearer header; without it the hub refuses", async () => {
  const hub = await startHubTestDouble({
    repos: { "org/private": { files: { "config.json": "{}" } } },
    token: "s3cret",
  });
  try {
    await _withCache(async (cacheDir) => {
      await assert.rejects(
        downloadSnapshot({ endpoint: hub.url, repo: "org/private", cacheDir }),
        (error: unknown) => {
          assert.ok(error instanceof CortexError);
          assert.equal(error.status, 403);
          assert.match(error.message, /refused access to org\/private \(HTTP 401\)/);
          return true;
        },
      );
      await downloadSnapshot({ endpoint: hub.url, repo: "org/private", cacheDir, token: "s3cret" });
      assert.ok(hub.requests.slice(1).every((r) => r.authorization === "Bearer s3cret"));
    });
  } finally {
    await hub.close();
  }
});

Deno.test("hub download: unknown repo is a 404; unreachable hub is a 502", async () => {
  const hub = await startHubTestDouble({ repos: {} });
  const url = hub.url;
  try {
    await _withCache(async (cacheDir) => {
      await assert.rejects(
        downloadSnapshot({ endpoint: url, repo: "org/none", cacheDir }),
        (error: unknown) =>
          error instanceof CortexError && error.status === 404 && error.code === "model_not_found",
      );
    });
  } finally {
    await hub.close();
  }
  await _withCache(async (cacheDir) => {
    await assert.rejects(
      downloadSnapshot({ endpoint: url, repo: "org/none", cacheDir }),
      (error: unknown) =>
        error instanceof CortexError && error.status === 502 && /unreachable/.test(error.message),
    );
  });
});

Deno.test("hub download: only model files are fetched", () => {
  assert.ok(isModelFile("config.json"));
  assert.ok(isModelFile("model-00001-of-00002.safetensors"));
  assert.ok(isModelFile("chat_template.jinja"));
  assert.ok(!isModelFile("pytorch_model.bin"));
  assert.ok(!isModelFile("model.gguf"));
  assert.ok(!isModelFile("original/consolidated.safetensors"));
});

Deno.test("model folder: missing pieces are 422s naming them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const expect = async (pattern: RegExp, path = dir) => {
      await assert.rejects(inspectModelFolder(path), (error: unknown) => {
        assert.ok(error instanceof CortexError);
        assert.equal(error.status, 422);
        assert.equal(error.code, "bad_model_folder");
        assert.match(error.message, pattern);
        return true;
      });
    };
    await expect(/does not exist/, `${dir}/nope`);
    await expect(/has no config\.json/);
    await Deno.writeTextFile(`${dir}/config.json`, "[1]");
    await expect(/config\.json is not a JSON object/);
    await Deno.writeTextFile(`${dir}/config.json`, '{"architectures":["LlamaForCausalLM"]}');
    await expect(/has no safetensors weights/);
    await Deno.writeTextFile(`${dir}/model.safetensors`, "x");
    await expect(/has no tokenizer\.json/);
    await Deno.writeTextFile(`${dir}/tokenizer.json`, "{}");
    assert.equal((await inspectModelFolder(dir)).architecture, "LlamaForCausalLM");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function _exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("hub download: a GGUF-only repo fetches only the .gguf that quant chooses, plus its small files", async () => {
  const gguf = (tag: string) => new TextEncoder().encode(`GGUF ${tag} `.repeat(100));
  const hub = await startHubTestDouble({
    repos: {
      "org/m-GGUF": {
        files: {
          "README.md": "# m",
          "tokenizer.json": "{}",
          "m-Q4_K_M.gguf": gguf("q4km"),
          "m-Q8_0.gguf": gguf("q8"),
          "m-BF16-00001-of-00002.gguf": gguf("a"),
          "m-BF16-00002-of-00002.gguf": gguf("b"),
        },
      },
    },
  });
  try {
    await _withCache(async (cacheDir) => {
      const folder = await downloadSnapshot({
        endpoint: hub.url,
        repo: "org/m-GGUF",
        cacheDir,
        quant: "q8_0",
      });
      const names: string[] = [];
      for await (const e of Deno.readDir(folder)) names.push(e.name);
      assert.deepEqual(names.sort(), ["m-Q8_0.gguf", "tokenizer.json"]);
      assert.ok(!hub.requests.some((r) => r.path.includes("Q4_K_M")), "the other quant is never requested");
      const split = await downloadSnapshot({
        endpoint: hub.url,
        repo: "org/m-GGUF",
        cacheDir,
        quant: "bf16",
      });
      assert.ok(
        await _exists(`${split}/m-BF16-00002-of-00002.gguf`),
        "every shard of a split file comes along",
      );
      await assert.rejects(
        downloadSnapshot({ endpoint: hub.url, repo: "org/m-GGUF", cacheDir, quant: "q6_k" }),
        (error: unknown) => {
          assert.ok(error instanceof CortexError);
          assert.equal(error.code, "quant_not_found");
          assert.match(
            error.message,
            /quant 'q6_k' matches no \.gguf file in org\/m-GGUF; it offers m-Q4_K_M\.gguf, m-Q8_0\.gguf, m-BF16-00001-of-00002\.gguf \(nearest: m-Q4_K_M\.gguf\)/,
          );
          return true;
        },
      );
    });
  } finally {
    await hub.close();
  }
});

Deno.test("hub download: onConfig sees config.json before any weight file, and a throw stops the download", async () => {
  const repo = await repoFromFolder(tinyQwen);
  // Listed after the weights: the download still fetches config.json first.
  const { "config.json": config, ...rest } = repo.files;
  repo.files = { ...rest, "config.json": config };
  const hub = await startHubTestDouble({ repos: { "org/tiny": repo } });
  try {
    await _withCache(async (cacheDir) => {
      const listing = await (await fetch(`${hub.url}/api/models/org/tiny/revision/main`)).json();
      assert.notEqual(listing.siblings[0].rfilename, "config.json");
      const refusal = new CortexError("too big", { code: "insufficient_memory", status: 507 });
      let seen: Record<string, unknown> | null = null;
      await assert.rejects(
        downloadSnapshot({
          endpoint: hub.url,
          repo: "org/tiny",
          cacheDir,
          onConfig: (parsed) => {
            seen = parsed;
            throw refusal;
          },
        }),
        (error: unknown) => error === refusal,
      );
      assert.deepEqual(seen, JSON.parse(await Deno.readTextFile(`${tinyQwen}/config.json`)));
      const fetched = hub.requests.filter((r) => r.path.includes("/resolve/")).map((r) => r.path);
      assert.deepEqual(fetched, ["/org/tiny/resolve/0123456789abcdef0123456789abcdef01234567/config.json"]);
      assert.equal(await findCachedSnapshot(cacheDir, "org/tiny"), null, "a refused snapshot is not cached");
      // A hook that lets it through: the whole model arrives.
      let calls = 0;
      const folder = await downloadSnapshot({
        endpoint: hub.url,
        repo: "org/tiny",
        cacheDir,
        onConfig: () => void calls++,
      });
      assert.equal(calls, 1);
      assert.equal((await inspectModelFolder(folder)).architecture, "Qwen3ForCausalLM");
    });
  } finally {
    await hub.close();
  }
});
