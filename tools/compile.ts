/**
 * `deno task compile`: builds standalone `cortex-gateway`, `cortex-neuron` and `cortex` binaries into
 * `dist/` with `deno compile`, each with the permissions its process needs baked in (never `-A`).
 *
 * `deno compile` embeds the `denort` runtime, which it downloads from dl.deno.land unless
 * `DENORT_BIN` names a local copy of the denort binary for this Deno version (2.9.6). Our build
 * machines cannot reach that host, and pointing `DENORT_BIN` at the full `deno` binary produces a
 * REPL instead of the program, so this task fails there with a clear message; on a machine with
 * network access (or a downloaded `denort`) it produces the binaries.
 * @module
 */

interface Target {
  name: string;
  entry: string;
  permissions: string[];
  /** Modules loaded at run time that the entry does not import (workers). */
  include?: string[];
}

const targets: Target[] = [
  {
    name: "cortex-gateway",
    entry: "gateway/main.ts",
    permissions: ["--allow-net", "--allow-read", "--allow-env", "--allow-sys=hostname"],
  },
  {
    name: "cortex-neuron",
    entry: "neuron/main.ts",
    include: ["neuron/prompts/_worker.ts"],
    permissions: [
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      "--allow-ffi",
    ],
  },
  {
    name: "cortex",
    entry: "cli/main.ts",
    permissions: ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-run"],
  },
];

async function compile(target: Target): Promise<boolean> {
  const args = [
    "compile",
    ...target.permissions,
    "--include",
    "cuda_plugin/build/libcortex_plugin.so",
    ...(target.include ?? []).flatMap((path) => ["--include", path]),
    "--output",
    `dist/${target.name}`,
    target.entry,
  ];
  console.log(`deno ${args.join(" ")}`);
  const { success } = await new Deno.Command(Deno.execPath(), { args, stdout: "inherit", stderr: "inherit" })
    .output();
  return success;
}

if (import.meta.main) {
  if (!Deno.env.get("DENORT_BIN")) {
    console.warn(
      "compile: DENORT_BIN is not set, so deno compile will try to download the denort runtime " +
        "(unreachable from cortex build machines). Set DENORT_BIN to a denort 2.9.6 binary to build offline.",
    );
  }
  await Deno.mkdir("dist", { recursive: true });
  for (const target of targets) {
    if (!await compile(target)) {
      console.error(`compile: ${target.name} failed; see the message above (DENORT_BIN, network).`);
      Deno.exit(1);
    }
  }
}
