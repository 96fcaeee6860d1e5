// The engine bench's command line, llama-bench's JSON and the documents the bench prints, without
// running a benchmark (no timings are asserted).
import assert from "node:assert/strict";
import type { CortexPass } from "./_cortex_run.ts";
import { parseBenchFlags } from "./_flags.ts";
import { type LlamaBenchTest, llamaPassArgs, parseLlamaBenchJson } from "./_llama_bench.ts";
import { cortexReport, type CortexReportInput, sideBySideReport } from "./_report.ts";

/** One row as llama-bench (build 9749) printed it with `-o json` for a BF16 file, trimmed of nothing. */
const LLAMA_ROW = {
  build_commit: "unknown",
  build_number: 0,
  cpu_info: "Intel(R) Xeon(R) Processor",
  gpu_info: "",
  backends: "CPU",
  model_filename: "/tmp/tinyq-bf16.gguf",
  model_type: "qwen3 ?B BF16",
  model_size: 2889728,
  model_n_params: 1443328,
  n_batch: 2048,
  n_ubatch: 512,
  n_threads: 1,
  cpu_mask: "0x0",
  cpu_strict: false,
  poll: 50,
  type_k: "f16",
  type_v: "f16",
  n_gpu_layers: -1,
  n_cpu_moe: 0,
  split_mode: "layer",
  main_gpu: 0,
  no_kv_offload: false,
  flash_attn: -1,
  devices: "auto",
  tensor_split: "0.00",
  tensor_buft_overrides: "none",
  load_mode: "mmap",
  embeddings: false,
  no_op_offload: 0,
  no_host: false,
  fit_target: 0,
  fit_min_ctx: 0,
  n_prompt: 16,
  n_gen: 0,
  n_depth: 0,
  test_time: "2026-12-06T05:15:34Z",
  avg_ns: 969492,
  stddev_ns: 0,
  avg_ts: 16503.488425,
  stddev_ts: 0.0,
  samples_ns: [969492],
  samples_ts: [16503.5],
};

Deno.test("parseBenchFlags: defaults, every flag, and the combinations it refuses", () => {
  assert.deepEqual(parseBenchFlags([]), {
    prompt: 512,
    steps: 24,
    rounds: 5,
    isa: "auto",
    llamaArgs: [],
    alternate: 1,
    ggufType: "bf16",
    arch: "qwen3",
    layers: 4,
    cold: "auto",
    repack: "background",
  });
  assert.equal(parseBenchFlags(["--cold", "no"]).cold, "no");
  assert.equal(parseBenchFlags(["--repack", "never"]).repack, "never");
  const side = parseBenchFlags([
    "--gguf",
    "m.gguf",
    "--llama-bench",
    "/opt/llama-bench",
    "--llama-args",
    " --no-warmup  -fa on ",
    "--threads",
    "2",
    "--alternate",
    "3",
    "--rounds",
    "4",
  ]);
  assert.equal(side.gguf, "m.gguf");
  assert.equal(side.llamaBench, "/opt/llama-bench");
  assert.deepEqual(side.llamaArgs, ["--no-warmup", "-fa", "on"]);
  assert.equal(side.threads, 2);
  assert.equal(side.alternate, 3);
  assert.equal(side.rounds, 4);
  assert.equal(parseBenchFlags(["--quant", "q4_k_m"]).quant, "q4_k_m");
  assert.deepEqual(
    parseBenchFlags(["--write-gguf", "/tmp/b.gguf", "--gguf-type", "f32"]),
    { ...parseBenchFlags([]), writeGguf: "/tmp/b.gguf", ggufType: "f32" },
  );
  assert.deepEqual(
    parseBenchFlags(["--write-gguf", "/tmp/m.gguf", "--arch", "qwen3_moe", "--layers", "2"]),
    { ...parseBenchFlags([]), writeGguf: "/tmp/m.gguf", arch: "qwen3_moe", layers: 2 },
  );
  assert.equal(
    parseBenchFlags(["--arch", "qwen3_next", "--llama-bench", "b", "--llama-gguf", "n.gguf"]).llamaGguf,
    "n.gguf",
  );
  const refusals: [string[], RegExp][] = [
    [["--quant", "q3_k"], /--quant must be one of q8_0, q4_0, q4_k, q5_k, q6_k, q4_k_m, got "q3_k"/],
    [["--llama-bench", "x"], /--llama-bench needs --gguf/],
    [["--gguf", "m.gguf", "--quant", "q8_0"], /a GGUF file carries its own tensor types/],
    [["--llama-args", "-fa on"], /--llama-args needs --llama-bench/],
    [["--gguf-type", "f32"], /--gguf-type needs --write-gguf/],
    [["--write-gguf", "x.gguf", "--threads", "2"], /takes only --gguf-type, --arch and --layers/],
    [["--gguf", "x.gguf", "--arch", "qwen3_moe"], /cannot go with --gguf/],
    [["--llama-gguf", "x.gguf", "--llama-bench", "b"], /--llama-gguf goes with --arch and --llama-bench/],
    [["--gguf-type", "f16", "--write-gguf", "x"], /--gguf-type must be one of f32, bf16/],
    [["--threads", "0"], /--threads must be an integer ≥ 1/],
    [["--alternate", "1.5"], /--alternate must be an integer ≥ 1/],
    [["--isa", "neon"], /--isa must be one of auto, amx, avx512, avx2, scalar/],
    [["--cold", "yes"], /--cold must be one of auto, no, got "yes"/],
    [["--repack", "later"], /--repack must be one of background, load, never, got "later"/],
    [["--steps"], /flag --steps needs a value/],
    [["--steps", "2", "--steps", "3"], /flag --steps given twice/],
    [["--fast", "1"], /unknown flag --fast/],
  ];
  for (const [args, pattern] of refusals) assert.throws(() => parseBenchFlags(args), pattern, args.join(" "));
});

Deno.test("parseLlamaBenchJson: reads llama-bench's rows and names a missing field", () => {
  const [row] = parseLlamaBenchJson(JSON.stringify([LLAMA_ROW]));
  assert.equal(row.tokensPerSecond, 16503.488425);
  assert.deepEqual(row.samplesTokensPerSecond, [16503.5]);
  assert.equal(row.threads, 1);
  assert.equal(row.nPrompt, 16);
  assert.equal(row.modelType, "qwen3 ?B BF16");
  assert.equal(row.modelSizeBytes, 2889728);
  const { avg_ts: _, ...withoutAverage } = LLAMA_ROW;
  assert.throws(
    () => parseLlamaBenchJson(JSON.stringify([withoutAverage])),
    /field avg_ts is undefined, not a number/,
  );
  assert.throws(() => parseLlamaBenchJson("| model | size |"), /llama-bench printed no JSON array/);
  assert.throws(() => parseLlamaBenchJson("{}"), /not an array of tests/);
});

Deno.test("llamaPassArgs: prefill from an empty context, decode at the prompt's depth, same threads", () => {
  const args = llamaPassArgs({
    binary: "llama-bench",
    gguf: "m.gguf",
    threads: 2,
    prompt: 512,
    steps: 24,
    repetitions: 5,
    extraArgs: ["--no-warmup"],
  });
  assert.deepEqual(args.prefill, [
    "-m",
    "m.gguf",
    "-t",
    "2",
    "-r",
    "5",
    "-o",
    "json",
    "-p",
    "512",
    "-n",
    "0",
    "--no-warmup",
  ]);
  assert.deepEqual(args.decode, [
    "-m",
    "m.gguf",
    "-t",
    "2",
    "-r",
    "5",
    "-o",
    "json",
    "-p",
    "0",
    "-n",
    "24",
    "-d",
    "512",
    "--no-warmup",
  ]);
});

function cortexPass(prefill: number, decodes: number[]): CortexPass {
  return {
    prefillSeconds: 512 / prefill,
    prefillTokensPerSecond: prefill,
    peakRssBytes: 1e9,
    rounds: decodes.map((d) => ({
      memoryReadBandwidthBytesPerSecond: 3e10,
      decodeTokensPerSecond: d,
      decodeFractionOfBandwidthBound: d / 50,
    })),
    decodeBatch1TokensPerSecond: decodes[Math.floor(decodes.length / 2)],
    decodeFractionOfBandwidthBound: decodes[Math.floor(decodes.length / 2)] / 50,
  };
}

function llamaTest(nPrompt: number, nGen: number, samples: number[]): LlamaBenchTest {
  return {
    ...parseLlamaBenchJson(JSON.stringify([LLAMA_ROW]))[0],
    nPrompt,
    nGen,
    nDepth: nGen > 0 ? 512 : 0,
    tokensPerSecond: samples.reduce((a, b) => a + b) / samples.length,
    samplesTokensPerSecond: samples,
  };
}

function cortexInput(passes: CortexPass[]): CortexReportInput {
  return {
    model: "test",
    modelFolder: null,
    modelFile: "m.gguf",
    modelFileBytes: 640e6,
    modelGenerated: false,
    modelGenerateSeconds: 0,
    quant: null,
    weightDtype: "q8_0",
    embeddingDtype: "q8_0",
    weightBytes: 600e6,
    kvCacheBytes: 50e6,
    bytesPerToken: 6e8,
    device: { name: "cpu", threads: 2, kernels: "avx512" },
    loadSeconds: 0.5,
    firstStepSeconds: 0.1,
    promptTokens: 512,
    decodeBatch8TokensPerSecond: 100,
    passes,
  };
}

Deno.test("cortexReport: today's keys plus quant, weight bytes and bytes per token; passes only when several", () => {
  const one = cortexReport(cortexInput([cortexPass(400, [40, 44, 42])]));
  for (
    const key of [
      "model",
      "modelGenerated",
      "loadSeconds",
      "firstStepSeconds",
      "prefillSeconds",
      "prefillTokensPerSecond",
      "decodeBatch1TokensPerSecond",
      "decodeBatch1ContextTokens",
      "decodeBatch8TokensPerSecond",
      "peakRssBytes",
      "memoryReadBandwidthBytesPerSecond",
      "decodeBoundTokensPerSecond",
      "decodeFractionOfBandwidthBound",
      "decodeBatch1Rounds",
      "quant",
      "weightDtype",
      "embeddingDtype",
      "weightBytes",
      "bytesPerToken",
    ]
  ) {
    assert.ok(key in one, key);
  }
  assert.equal(one.decodeBatch1TokensPerSecond, 42);
  assert.equal("load" in one, false);
  const split = cortexReport({
    ...cortexInput([cortexPass(400, [40])]),
    loadBreakdown: { seconds: 0.45, read: 0.1, allocate: 0.2, repack: 0.1 },
    repack: { when: "background", deferredBytes: 600, readySeconds: 1.2, deviceSeconds: 0.8, failed: false },
    fileReadSeconds: 0.25,
    coldLoad: {
      fileReadSeconds: 1.5,
      loadSeconds: 2,
      passes: [{ fileReadSeconds: 1.5, loadSeconds: 2 }, { fileReadSeconds: 1.2345, loadSeconds: 2.5 }],
    },
  });
  assert.deepEqual(split.coldLoad, {
    fileReadSeconds: 1.5,
    loadSeconds: 2,
    diskRateFraction: 0.75,
    passes: [{ fileReadSeconds: 1.5, loadSeconds: 2 }, { fileReadSeconds: 1.235, loadSeconds: 2.5 }],
  });
  assert.equal("coldLoad" in one, false);
  assert.deepEqual(split.load, { seconds: 0.45, read: 0.1, allocate: 0.2, repack: 0.1, other: 0.05 });
  assert.equal(split.fileReadSeconds, 0.25);
  assert.deepEqual(split.repack, {
    when: "background",
    deferredBytes: 600,
    readySeconds: 1.2,
    deviceSeconds: 0.8,
    failed: false,
  });
  assert.equal("repack" in one, false);
  assert.equal(split.loadOverFileRead, 2);
  assert.equal(one.decodeBoundTokensPerSecond, 50);
  assert.equal(one.modelFile, "m.gguf");
  assert.equal("modelFolder" in one, false);
  assert.equal("passes" in one, false);
  const three = cortexReport(
    cortexInput([cortexPass(400, [40]), cortexPass(300, [30]), cortexPass(500, [50])]),
  );
  assert.equal(three.prefillTokensPerSecond, 400);
  assert.equal((three.passes as unknown[]).length, 3);
  assert.deepEqual((three.decodeBatch1Rounds as { pass: number }[]).map((r) => r.pass), [1, 2, 3]);
});

Deno.test("sideBySideReport: {cortex, llama_cpp, ratio, passes}, ratios of the medians and of every pass", () => {
  const document = sideBySideReport(
    cortexInput([cortexPass(400, [44]), cortexPass(200, [33])]),
    {
      binary: "llama-bench",
      gguf: "m.gguf",
      args: { prefill: ["-p", "512"], decode: ["-n", "24"] },
      passes: [
        { prefill: llamaTest(512, 0, [500, 500]), decode: llamaTest(0, 24, [40, 40]) },
        { prefill: llamaTest(512, 0, [250, 250]), decode: llamaTest(0, 24, [30, 30]) },
      ],
    },
  );
  assert.deepEqual(Object.keys(document), ["cortex", "llama_cpp", "ratio", "passes"]);
  const llama = document.llama_cpp as Record<string, unknown>;
  assert.equal(llama.prefillTokensPerSecond, 375);
  assert.equal(llama.decodeTokensPerSecond, 35);
  assert.equal(llama.decodeContextTokens, 512);
  assert.deepEqual(document.ratio, { decode: 1.1, prefill: 0.8 });
  const passes = document.passes as { ratio: { decode: number; prefill: number } }[];
  assert.deepEqual(passes.map((p) => p.ratio), [{ decode: 1.1, prefill: 0.8 }, {
    decode: 1.1,
    prefill: 0.8,
  }]);
  assert.throws(
    () =>
      sideBySideReport(cortexInput([cortexPass(400, [44])]), {
        binary: "b",
        gguf: "m",
        args: { prefill: [], decode: [] },
        passes: [],
      }),
    /1 cortex passes but 0 llama.cpp passes/,
  );
});
