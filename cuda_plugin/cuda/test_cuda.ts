/**
 * `deno task test:cuda`: builds the plugin for this machine's GPU only (CORTEX_NVCC_ARCHS from
 * `nvidia-smi --query-gpu=compute_cap`) and runs the engine parity suites on CUDA device 0
 * (CORTEX_TEST_DEVICE=cuda, read by `parityTargets()` in neuron/devices/_test_helpers.ts), within
 * 8 minutes. Without a GPU, driver or nvcc it exits 1 with one line saying which is missing.
 *
 * Arguments: test files to run instead of the default parity suites. CORTEX_TEST_DEVICE=cuda:N picks
 * the N-th CUDA device.
 * @module
 */
import { exists } from "../_native_tools.ts";

const repoRoot = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const startedAt = Date.now();
const budgetMs = 8 * 60_000 - 15_000; // the whole task, build included, with room to report
const decoder = new TextDecoder();

/** The parity suites that pick their devices through parityTargets(); absent ones are left out. */
const defaultSuites = ["neuron/devices/parity_test.ts", "neuron/devices/gguf_parity_test.ts"];

function fail(line: string): never {
  console.error(line);
  Deno.exit(1);
}

/** Compute capabilities of the GPUs nvidia-smi lists (e.g. ["9.0"]), or a "no CUDA device" failure. */
async function gpuComputeCapabilities(): Promise<{ name: string; capability: string }[]> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("nvidia-smi", {
      args: ["--query-gpu=name,compute_cap", "--format=csv,noheader"],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      fail("no CUDA device: nvidia-smi is not on PATH (no NVIDIA driver)");
    }
    throw error;
  }
  const text = decoder.decode(output.stdout).trim();
  if (!output.success) {
    const why = (decoder.decode(output.stderr).trim() || text).split("\n")[0];
    fail(`no CUDA device: nvidia-smi failed (exit ${output.code}): ${why}`);
  }
  const gpus = text.split("\n").map((line) => line.trim()).filter((line) => line !== "").map((line) => {
    const comma = line.lastIndexOf(",");
    return { name: line.slice(0, comma).trim(), capability: line.slice(comma + 1).trim() };
  });
  if (gpus.length === 0) fail("no CUDA device: nvidia-smi lists no GPU");
  return gpus;
}

/** nvcc's CUDA release ("13.0"), or null without nvcc. */
async function nvccRelease(): Promise<string | null> {
  try {
    const output = await new Deno.Command("nvcc", { args: ["--version"], stdout: "piped", stderr: "null" })
      .output();
    if (!output.success) return null;
    return decoder.decode(output.stdout).match(/release (\d+\.\d+)/)?.[1] ?? "unknown";
  } catch {
    return null;
  }
}

/** The newest CUDA the driver supports, from nvidia-smi's banner ("CUDA Version: 12.4"), or null. */
async function driverCudaVersion(): Promise<string | null> {
  try {
    const output = await new Deno.Command("nvidia-smi", { stdout: "piped", stderr: "null" }).output();
    return decoder.decode(output.stdout).match(/CUDA Version:\s*(\d+\.\d+)/)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Runs `deno <args>` in the repository root with extra environment; kills it past the deadline. */
async function deno(args: string[], env: Record<string, string>, what: string): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: repoRoot,
    env,
    stdout: "inherit",
    stderr: "inherit",
  })
    .spawn();
  const left = budgetMs - (Date.now() - startedAt);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, Math.max(left, 1_000));
  const { code } = await child.status;
  clearTimeout(timer);
  if (timedOut) fail(`test:cuda: ${what} ran past the 8-minute budget and was stopped`);
  return code;
}

async function main(): Promise<void> {
  const wanted = Deno.env.get("CORTEX_TEST_DEVICE") ?? "cuda";
  const match = wanted.match(/^cuda(?::(\d+))?$/);
  if (!match) fail(`test:cuda: CORTEX_TEST_DEVICE must be cuda or cuda:N, got ${JSON.stringify(wanted)}`);
  const ordinal = Number(match[1] ?? 0);

  const gpus = await gpuComputeCapabilities();
  const gpu = gpus[ordinal];
  if (!gpu) fail(`no CUDA device: CORTEX_TEST_DEVICE=${wanted} but nvidia-smi lists ${gpus.length} GPU(s)`);
  const arch = gpu.capability.replace(".", "");
  if (!/^\d+$/.test(arch)) {
    fail(`test:cuda: nvidia-smi gave compute capability "${gpu.capability}" for ${gpu.name}`);
  }
  if (Number(arch) < 80) {
    fail(
      `no CUDA device: ${gpu.name} has compute capability ${gpu.capability}; the CUDA backend needs sm_80 or newer`,
    );
  }
  const nvcc = await nvccRelease();
  if (nvcc === null) fail("test:cuda: nvcc is not on PATH, so the CUDA backend cannot be built");
  // cudart is linked statically: a toolkit newer (major) than the driver finds no devices at all.
  const driver = await driverCudaVersion();
  if (driver !== null && parseInt(nvcc) > parseInt(driver)) {
    fail(
      `no CUDA device: nvcc is CUDA ${nvcc} but the driver supports CUDA ${driver}; use a CUDA ${
        parseInt(driver)
      }.x nvcc`,
    );
  }

  const requested = Deno.args.length > 0
    ? Deno.args
    : defaultSuites.filter((file) => exists(`${repoRoot}/${file}`));
  for (const file of requested) {
    if (!exists(`${repoRoot}/${file}`)) fail(`test:cuda: ${file} does not exist`);
  }
  // A suite that opens its own CPU plugin would pass here without touching the GPU: it is not run, and
  // the task fails at the end (after the other suites ran, so one run still reports all it can).
  const blind = requested.filter((file) =>
    !Deno.readTextFileSync(`${repoRoot}/${file}`).includes("parityTargets(")
  );
  const suites = requested.filter((file) => !blind.includes(file));
  if (suites.length === 0) {
    fail(`test:cuda: no suite picks its devices through parityTargets(): ${requested.join(", ")}`);
  }
  console.log(
    `test:cuda: ${gpu.name} (sm_${arch}, driver CUDA ${
      driver ?? "?"
    }, nvcc ${nvcc}); building for sm_${arch} only`,
  );

  const buildCode = await deno(
    ["task", "build:plugin"],
    { CORTEX_NVCC_ARCHS: arch, CORTEX_CUDA: "1" },
    "the plugin build",
  );
  if (buildCode !== 0) fail(`test:cuda: the plugin build failed (exit ${buildCode})`);

  console.log(`test:cuda: running ${suites.join(", ")} on CUDA device ${ordinal}`);
  const testCode = await deno(
    [
      "test",
      "--allow-read",
      "--allow-write",
      "--allow-net=127.0.0.1,localhost",
      "--allow-env",
      "--allow-run",
      "--allow-sys",
      "--allow-ffi=cuda_plugin/build/libcortex_plugin.so",
      ...suites,
    ],
    { CORTEX_TEST_DEVICE: `cuda:${ordinal}` },
    "the parity suites",
  );
  const seconds = Math.round((Date.now() - startedAt) / 1000);
  if (testCode !== 0) fail(`test:cuda: parity suites failed on ${gpu.name} (exit ${testCode}, ${seconds} s)`);
  if (blind.length > 0) {
    fail(
      `test:cuda: ${suites.join(", ")} passed on ${gpu.name}, but ${blind.join(", ")} did not run: ` +
        `it does not pick its devices through parityTargets() (neuron/devices/_test_helpers.ts)`,
    );
  }
  console.log(`test:cuda: ${suites.join(", ")} passed on ${gpu.name} in ${seconds} s`);
}

if (import.meta.main) await main();
