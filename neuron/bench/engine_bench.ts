/**
 * `deno task bench:engine`: the native engine on a Qwen3-0.6B-shaped random bf16 model (written
 * once into `.cache/bench-model/` by `bench_model.ts`), optionally quantized at load (`--quant`), or
 * on a GGUF file (`--gguf`), optionally side by side with llama.cpp's `llama-bench` on that file.
 * Prints one JSON document: load time (split into reading the file, allocating and repacking, and
 * against the seconds it takes to read the model's files with the page cache warm), prefill tok/s for a 512-token prompt, decode tok/s at batch 1
 * (continuing that prompt, so attention reads 512+ cached positions per layer) and at batch 8 (short
 * prompts), peak RSS, the weight type and bytes, the weight bytes one decode token reads
 * (`bytesPerToken`: every matrix incl. the lm_head, one embedding row), the read bandwidth the
 * device measures with its own threads, and decode's fraction of the bandwidth bound
 * (bytesPerToken ÷ bandwidth).
 *
 * Peak RSS is read after the load, batch 8 and the first prefill, before the bandwidth probes (their
 * 1 GiB buffers are not the engine's; the decode rounds after it add ~30 MB of KV positions).
 *
 * Batch 1 is measured in rounds, each a bandwidth probe followed at once by a run of decode steps,
 * and each round's fraction compares the two figures taken together. On a shared machine the
 * bandwidth a probe sees swings with the neighbours (here 26–51 GB/s, sometimes within one run), so a probe
 * taken minutes away from the decode it judges says little about it. The report gives every round
 * and the medians.
 *
 * Flags: `--threads N` (compute threads, default all cores), `--prompt N` (default 512),
 * `--steps N` (decode steps per round, default 24), `--rounds N` (batch-1 rounds per pass, default 5),
 * `--isa auto|amx|avx512|avx2|scalar`, `--quant q8_0|q4_0|q4_k|q5_k|q6_k|q4_k_m` (quantize the bench
 * model at load), `--gguf PATH` (bench that file instead), `--llama-bench PATH` (with `--gguf`: also
 * run llama.cpp's llama-bench binary on the file with the same thread count and print
 * `{cortex, llama_cpp, ratio, passes}`), `--llama-args "..."` (extra llama-bench arguments),
 * `--llama-gguf PATH` (with `--arch` and `--llama-bench`: llama.cpp runs that GGUF, the generated
 * model written by `--write-gguf --arch`, while cortex loads its safetensors folder; both engines
 * then hold the model at once, so it must fit twice in RAM), `--alternate N` (N passes, each cortex
 * then llama.cpp; every pass printed, top-level figures are
 * medians), `--write-gguf PATH [--gguf-type f32|bf16] [--arch qwen3_moe|qwen3_next [--layers N]]`
 * (write the bench model, or the generated MoE / hybrid one as llama.cpp's `qwen3moe` / `qwen3next`,
 * as GGUF and exit; a MoE file's `bytesPerToken` counts the used experts' share of the stacks),
 * `--arch qwen3_moe [--layers N]` (bench_moe_model.ts: Qwen3-30B-A3B's 128 experts, top-8, hidden
 * 2048, in N layers, default 4; bytesPerToken counts the active experts only), `--cold auto|no` (auto,
 * the default: before the warm load, three times drop the page cache and time reading the files, drop
 * it again and time a load: `coldLoad` gives every pass and the medians, and `diskRateFraction` is the
 * median read's seconds ÷ the median load's; skipped, and said,
 * where /proc/sys/vm/drop_caches is not writable); `--arch qwen3_next
 * [--layers N]` (bench_next_model.ts: Qwen3-Next-80B-A3B's DeltaNet / gated-attention layers, 512
 * experts top-10 plus the shared expert, in N layers, default 4); `--repack background|load|never`
 * (LoadOptions.repack, default background: the load returns serving the mapped file, the bench then
 * waits for the background repack — `repack` reports its device seconds and when every copy served —
 * so that the first step runs on the file's layout and every pass on the repacked one).
 * See neuron/devices/README.md for the commands that make quantized GGUF files with llama-quantize.
 * @module
 */

import { ggufBytesPerToken, tiedBytesPerToken } from "./_bytes_per_token.ts";
import { CortexBench, type CortexPass } from "./_cortex_run.ts";
import { type BenchFlags, parseBenchFlags } from "./_flags.ts";
import { type GgufHeader, metaNumber, metaString, readGgufHeader } from "../sources/gguf/mod.ts";
import { type LlamaPass, llamaPassArgs, runLlamaPass } from "./_llama_bench.ts";
import { cortexReport, type CortexReportInput, sideBySideReport } from "./_report.ts";
import { ensureBenchModel, QWEN3_0_6B_SHAPE } from "./bench_model.ts";
import { ensureMoeBenchModel, moeBytesPerToken } from "./bench_moe_model.ts";
import { ensureNextBenchModel, nextBytesPerToken } from "./bench_next_model.ts";
import { writeQwen3Gguf } from "./qwen3_gguf.ts";
import { writeQwen3NextGguf } from "./qwen3next_gguf.ts";

const REPO_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const MODEL_DIR = `${REPO_ROOT}/.cache/bench-model`;

const log = (line: string): void => console.error(`bench:engine: ${line}`);

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await work();
  return [value, (performance.now() - start) / 1000];
}

/** `--write-gguf`: the bench model as a GGUF file, for llama-quantize and llama-bench. */
async function writeBenchGguf(flags: BenchFlags & { writeGguf: string }): Promise<void> {
  const moe = flags.arch === "qwen3_moe";
  const next = flags.arch === "qwen3_next";
  const folder = moe
    ? `${MODEL_DIR}-moe-${flags.layers}`
    : next
    ? `${MODEL_DIR}-next-${flags.layers}`
    : MODEL_DIR;
  if (moe) await ensureMoeBenchModel(folder, flags.layers, log);
  else if (next) await ensureNextBenchModel(folder, flags.layers, log);
  else await ensureBenchModel(MODEL_DIR, log);
  const parent = flags.writeGguf.replace(/\/[^/]*$/, "");
  if (parent !== flags.writeGguf && parent !== "") await Deno.mkdir(parent, { recursive: true });
  const [result, writeSeconds] = await timed(async () =>
    next
      ? {
        path: flags.writeGguf,
        bytes: await writeQwen3NextGguf(folder, flags.writeGguf),
        tensors: 0,
        type: "bf16",
      }
      : await writeQwen3Gguf(folder, flags.writeGguf, flags.ggufType)
  );
  log(`wrote ${(result.bytes / 2 ** 30).toFixed(2)} GiB to ${result.path}`);
  const header = await readGgufHeader(result.path);
  console.log(JSON.stringify(
    {
      ggufFile: result.path,
      type: result.type,
      bytes: result.bytes,
      tensors: header.tensors.length,
      bytesPerToken: ggufBytesPerToken(header.tensors, ggufExperts(header)),
      writeSeconds: Math.round(writeSeconds * 100) / 100,
    },
    null,
    2,
  ));
}

/** A MoE GGUF's used and total expert counts (`<arch>.expert_used_count`, `<arch>.expert_count`); none for dense files. */
function ggufExperts(header: GgufHeader): { used: number; count: number } | undefined {
  const arch = metaString(header, "general.architecture");
  const used = metaNumber(header, `${arch}.expert_used_count`);
  const count = metaNumber(header, `${arch}.expert_count`);
  return used !== null && count !== null && count > 0 ? { used, count } : undefined;
}

async function main(): Promise<void> {
  const flags = parseBenchFlags(Deno.args);
  if (flags.writeGguf !== undefined) return await writeBenchGguf({ ...flags, writeGguf: flags.writeGguf });

  let header: GgufHeader | null = null;
  let generated = false;
  let generateSeconds = 0;
  const moe = flags.arch === "qwen3_moe";
  const next = flags.arch === "qwen3_next";
  const modelDir = moe
    ? `${MODEL_DIR}-moe-${flags.layers}`
    : next
    ? `${MODEL_DIR}-next-${flags.layers}`
    : MODEL_DIR;
  if (flags.gguf !== undefined) header = await readGgufHeader(flags.gguf);
  else if (moe) {
    [generated, generateSeconds] = await timed(() => ensureMoeBenchModel(modelDir, flags.layers, log));
  } else if (next) {
    [generated, generateSeconds] = await timed(() => ensureNextBenchModel(modelDir, flags.layers, log));
  } else [generated, generateSeconds] = await timed(() => ensureBenchModel(MODEL_DIR, log));

  const batch8Steps = Math.max(4, Math.floor(flags.steps / 2));
  const bench = await CortexBench.open({
    path: flags.gguf ?? modelDir,
    threads: flags.threads,
    isa: flags.isa,
    quant: flags.quant,
    cold: flags.cold === "auto",
    repack: flags.repack,
    // The longest sequence: a pass's (prompt, then rounds of one untimed + `steps` steps) or batch 8's
    // last (a 23-token prompt, one untimed + `batch8Steps` steps).
    contextLength: Math.max(flags.prompt + flags.rounds * (flags.steps + 1), 23 + 1 + batch8Steps) + 8,
  }, log);
  try {
    const info = bench.model.info;
    const bytesPerToken = header
      ? ggufBytesPerToken(header.tensors, ggufExperts(header))
      : moe
      ? moeBytesPerToken(info.weightBytes, info.dtype, flags.layers, flags.quant)
      : next
      ? nextBytesPerToken(info.weightBytes, info.dtype, flags.layers, flags.quant)
      : tiedBytesPerToken(info.weightBytes, info.dtype, QWEN3_0_6B_SHAPE.hidden_size);
    const decode8 = await bench.decodeBatch8(batch8Steps);
    log(`decode batch 8: ${decode8.toFixed(2)} tok/s`);

    const llamaOptions = flags.llamaBench === undefined ? null : {
      binary: flags.llamaBench,
      gguf: (flags.gguf ?? flags.llamaGguf)!,
      threads: bench.device.threads,
      prompt: flags.prompt,
      steps: flags.steps,
      repetitions: flags.rounds,
      extraArgs: flags.llamaArgs,
    };
    const passes: CortexPass[] = [];
    const llamaPasses: LlamaPass[] = [];
    for (let p = 0; p < flags.alternate; p++) {
      if (flags.alternate > 1) log(`pass ${p + 1} of ${flags.alternate}: cortex`);
      passes.push(await bench.pass(flags.prompt, flags.steps, flags.rounds, bytesPerToken, log));
      if (llamaOptions) {
        log(`pass ${p + 1} of ${flags.alternate}: llama-bench, ${llamaOptions.threads} threads`);
        const pass = await runLlamaPass(llamaOptions);
        log(
          `llama.cpp prefill ${pass.prefill.tokensPerSecond.toFixed(1)} tok/s, ` +
            `decode ${pass.decode.tokensPerSecond.toFixed(2)} tok/s`,
        );
        llamaPasses.push(pass);
      }
    }

    const input: CortexReportInput = {
      model: header
        ? `GGUF ${metaString(header, "general.architecture")} (${header.tensors.length} tensors)`
        : (moe
          ? `Qwen3-30B-A3B shape (128 experts, top-8) in ${flags.layers} layers, random bf16 weights`
          : next
          ? `Qwen3-Next-80B-A3B shape (DeltaNet + gated attention, 512 experts top-10 + shared) in ${flags.layers} layers, random bf16 weights`
          : "Qwen3-0.6B shape, random bf16 weights (tied embeddings)") +
          (flags.quant ? `, quantized to ${flags.quant} at load` : ""),
      modelFolder: header ? null : modelDir,
      modelFile: flags.gguf ?? null,
      modelFileBytes: header?.fileSize ?? null,
      modelGenerated: generated,
      modelGenerateSeconds: generateSeconds,
      quant: flags.quant ?? null,
      weightDtype: info.weightDtype,
      embeddingDtype: info.dtype,
      weightBytes: info.weightBytes,
      kvCacheBytes: info.kvCacheBytes,
      bytesPerToken,
      device: { name: bench.device.name, threads: bench.device.threads, kernels: bench.device.cpuIsa },
      loadSeconds: bench.loadSeconds,
      loadBreakdown: info.load,
      fileReadSeconds: bench.fileReadSeconds,
      coldLoad: bench.cold,
      repack: bench.repack,
      firstStepSeconds: bench.firstStepSeconds,
      promptTokens: flags.prompt,
      decodeBatch8TokensPerSecond: decode8,
      passes,
    };
    const document = llamaOptions
      ? sideBySideReport(input, {
        binary: llamaOptions.binary,
        gguf: llamaOptions.gguf,
        args: llamaPassArgs(llamaOptions),
        passes: llamaPasses,
      })
      : cortexReport(input);
    console.log(JSON.stringify(document, null, 2));
  } finally {
    await bench.close();
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    log((error as Error).message);
    Deno.exit(1);
  }
}
