/**
 * Builds the native inference plugin (`cuda_plugin/build/libcortex_plugin.so`) with g++, and
 * compiles the CUDA backend with nvcc when it can be used: nvcc on PATH and either a GPU that
 * answers (`nvidia-smi -L`) or `CORTEX_CUDA=1` (CI sets it, so CI compiles CUDA without a GPU).
 * `CORTEX_CUDA=0` never compiles it. Incremental: every object is keyed by a hash of its source,
 * every header and the flags, so a second run with nothing changed compiles nothing. Sources
 * compile in parallel, one per core, with a progress line per object.
 *
 * Run as `deno task build:plugin`. `CORTEX_NVCC_ARCHS` (e.g. `80,90`) narrows the CUDA targets.
 * @module
 */

const root = new URL(".", import.meta.url).pathname.replace(/\/$/, "");
const buildDir = `${root}/build`;
const objDir = `${buildDir}/obj`;
const libraryPath = `${buildDir}/libcortex_plugin.so`;

const defaultCudaArchs = ["80", "86", "89", "90"];

const cxxFlags = [
  "-std=c++17",
  "-O3",
  // A portable baseline: the hot loops (cpu/kernels_avx2.cpp, cpu/kernels_avx512.cpp) are compiled for
  // their ISA with target pragmas and picked at run time, so one .so runs on any x86-64-v2 CPU.
  "-march=x86-64-v2",
  "-mtune=native",
  "-fPIC",
  "-pthread",
  "-Wall",
  "-Wextra",
  "-Wshadow",
  "-fvisibility=hidden",
  `-I${root}/include`,
  `-I${root}/src`,
  `-I${root}/cuda`,
];

interface CompileUnit {
  source: string;
  object: string;
  command: string[];
}

async function listFiles(dir: string, extensions: string[]): Promise<string[]> {
  const files: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && extensions.some((ext) => entry.name.endsWith(ext))) {
        files.push(`${dir}/${entry.name}`);
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return files.sort();
}

async function sha256(parts: (string | Uint8Array)[]): Promise<string> {
  const encoder = new TextEncoder();
  const chunks = parts.map((part) => typeof part === "string" ? encoder.encode(part) : part);
  const total = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length + 1, 0));
  let offset = 0;
  for (const chunk of chunks) {
    total.set(chunk, offset);
    offset += chunk.length + 1;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", total));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function succeeds(name: string, args: string[]): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(name, { args, stdout: "null", stderr: "null" }).output();
    return success;
  } catch {
    return false;
  }
}

/** Whether to compile the CUDA backend, and why (printed). */
async function cudaWanted(): Promise<{ cuda: boolean; why: string }> {
  const asked = Deno.env.get("CORTEX_CUDA");
  if (asked === "0") return { cuda: false, why: "CORTEX_CUDA=0" };
  if (!await succeeds("nvcc", ["--version"])) {
    return { cuda: false, why: asked === "1" ? "CORTEX_CUDA=1 but nvcc is not on PATH" : "no nvcc on PATH" };
  }
  if (asked === "1") return { cuda: true, why: "CORTEX_CUDA=1" };
  if (await succeeds("nvidia-smi", ["-L"])) return { cuda: true, why: "a GPU answers nvidia-smi" };
  return { cuda: false, why: "nvcc found but no GPU answers nvidia-smi (CORTEX_CUDA=1 compiles it anyway)" };
}

async function readStamp(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return null;
  }
}

async function run(command: string[]): Promise<void> {
  const [program, ...args] = command;
  const { code, stderr } = await new Deno.Command(program, { args, stdout: "inherit", stderr: "piped" })
    .output();
  const diagnostics = new TextDecoder().decode(stderr);
  if (diagnostics.trim()) console.error(diagnostics);
  if (code !== 0) throw new Error(`${program} failed (exit ${code})`);
}

/** Compiles units whose stamp changed, at most `parallelism` at a time; returns how many compiled. */
async function compileChanged(units: CompileUnit[], headerDigest: string): Promise<number> {
  const stale: { unit: CompileUnit; stamp: string }[] = [];
  for (const unit of units) {
    const stamp = await sha256([await Deno.readFile(unit.source), headerDigest, unit.command.join(" ")]);
    const current = await readStamp(`${unit.object}.stamp`);
    const objectExists = await Deno.stat(unit.object).then(() => true, () => false);
    if (current !== stamp || !objectExists) stale.push({ unit, stamp });
  }
  const parallelism = Math.max(1, navigator.hardwareConcurrency);
  let next = 0;
  const workers = Array.from({ length: Math.min(parallelism, stale.length) }, async () => {
    while (next < stale.length) {
      const at = next++;
      const { unit, stamp } = stale[at];
      console.log(`compile [${at + 1}/${stale.length}] ${unit.source.slice(root.length + 1)}`);
      await run(unit.command);
      await Deno.writeTextFile(`${unit.object}.stamp`, stamp);
    }
  });
  await Promise.all(workers);
  return stale.length;
}

function objectPath(source: string): string {
  return `${objDir}/${source.slice(root.length + 1).replaceAll("/", "_")}.o`;
}

async function main(): Promise<void> {
  await Deno.mkdir(objDir, { recursive: true });
  const { cuda: withCuda, why } = await cudaWanted();
  console.log(`build:plugin: CPU backend${withCuda ? " + CUDA backend" : ""} (${why})`);
  const archs = (Deno.env.get("CORTEX_NVCC_ARCHS") ?? defaultCudaArchs.join(",")).split(",").map((a) =>
    a.trim()
  );

  // nvcc units never include cpu/ headers, so CPU kernel edits do not recompile the CUDA backend.
  const sharedHeaders = [
    ...await listFiles(`${root}/include`, [".h"]),
    ...await listFiles(`${root}/src`, [".h"]),
    ...await listFiles(`${root}/cuda`, [".h", ".cuh"]),
  ];
  const headerDigest = await digestFiles([...sharedHeaders, ...await listFiles(`${root}/cpu`, [".h"])]);
  const cudaHeaderDigest = await digestFiles(sharedHeaders);

  const defines = withCuda ? ["-DCORTEX_WITH_CUDA=1"] : [];
  const cxxSources = [
    ...await listFiles(`${root}/src`, [".cpp"]),
    ...await listFiles(`${root}/cpu`, [".cpp"]),
  ].filter((source) => !source.endsWith("_check.cpp")); // test programs (quant_check.cpp), built by their tests
  const units: CompileUnit[] = cxxSources.map((source) => ({
    source,
    object: objectPath(source),
    command: ["g++", ...cxxFlags, ...defines, "-c", source, "-o", objectPath(source)],
  }));
  if (withCuda) {
    for (const source of await listFiles(`${root}/cuda`, [".cu"])) {
      units.push({
        source,
        object: objectPath(source),
        command: [
          "nvcc",
          "-std=c++17",
          "-O3",
          "-Xcompiler=-fPIC,-Wall,-Wextra,-fvisibility=hidden",
          "-Werror=all-warnings",
          ...gencode(archs),
          `-I${root}/include`,
          `-I${root}/src`,
          ...defines,
          "-c",
          source,
          "-o",
          objectPath(source),
        ],
      });
    }
  }

  const cudaUnits = units.filter((unit) => unit.source.endsWith(".cu"));
  const compiled = await compileChanged(units.filter((unit) => !unit.source.endsWith(".cu")), headerDigest) +
    await compileChanged(cudaUnits, cudaHeaderDigest);
  const objects = units.map((unit) => unit.object);
  const linkCommand = withCuda
    ? [
      "nvcc",
      "-shared",
      "-cudart=static",
      ...gencode(archs),
      "-o",
      libraryPath,
      ...objects,
      "-lpthread",
      "-ldl",
      "-lrt",
    ]
    : ["g++", "-shared", "-pthread", "-o", libraryPath, ...objects, "-ldl"];
  const linkStamp = await sha256([
    ...await Promise.all(objects.map((o) => readStamp(`${o}.stamp`).then((s) => s ?? ""))),
    linkCommand.join(" "),
  ]);
  const libraryExists = await Deno.stat(libraryPath).then(() => true, () => false);
  if (compiled === 0 && libraryExists && await readStamp(`${libraryPath}.stamp`) === linkStamp) {
    console.log(`plugin up to date: ${libraryPath.slice(root.length + 1)} (nothing compiled)`);
    return;
  }
  console.log(
    `link ${libraryPath.slice(root.length + 1)}${withCuda ? ` (CUDA sm_${archs.join(",sm_")})` : ""}`,
  );
  await run(linkCommand);
  await Deno.writeTextFile(`${libraryPath}.stamp`, linkStamp);
}

async function digestFiles(paths: string[]): Promise<string> {
  return await sha256(
    await Promise.all(paths.map(async (path) => sha256([path, await Deno.readFile(path)]))),
  );
}

/** SASS for every architecture, plus PTX of the newest so later GPUs can JIT-compile it. */
function gencode(archs: string[]): string[] {
  const sass = archs.flatMap((arch) => ["-gencode", `arch=compute_${arch},code=sm_${arch}`]);
  const newest = archs.reduce((a, b) => (Number(b) > Number(a) ? b : a));
  return [...sass, "-gencode", `arch=compute_${newest},code=compute_${newest}`];
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(`build:plugin: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
