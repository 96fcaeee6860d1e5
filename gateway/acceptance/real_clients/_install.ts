// Pinned real coding-agent clients, installed from npm once into a cache outside the
// repository and reused across runs; a test skips, with the reason printed, when npm or the
// registry is not there.

/** A client package pinned to one version, and the command it installs. */
export interface PinnedClient {
  /** npm package name. */
  pkg: string;
  /** Exact version. */
  version: string;
  /** The executable in `node_modules/.bin`. */
  bin: string;
}

/** Claude Code (`claude -p`). */
export const CLAUDE_CODE: PinnedClient = {
  pkg: "@anthropic-ai/claude-code",
  version: "2.1.332",
  bin: "claude",
};
/** OpenAI Codex CLI (`codex exec`). */
export const CODEX: PinnedClient = { pkg: "@openai/codex", version: "0.171.0", bin: "codex" };
/** opencode (`opencode run`). */
export const OPENCODE: PinnedClient = { pkg: "opencode-ai", version: "1.18.33", bin: "opencode" };

/** An installed client's executable, or why there is none. */
export type Installed = { path: string; skip?: undefined } | { path?: undefined; skip: string };

/**
 * The folder holding installed clients: `$CORTEX_CLIENTS_CACHE`, else
 * `$XDG_CACHE_HOME/cortex-clients`, else `$HOME/.cache/cortex-clients`.
 */
export function clientsCacheDir(): string {
  const explicit = Deno.env.get("CORTEX_CLIENTS_CACHE");
  if (explicit) return explicit;
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  return `${xdg || `${Deno.env.get("HOME") ?? "/tmp"}/.cache`}/cortex-clients`;
}

/**
 * Installs `client` (once; later calls reuse the cache) and returns its executable. Set
 * `CORTEX_REAL_CLIENTS=0` to skip without trying.
 */
export async function installClient(client: PinnedClient): Promise<Installed> {
  const name = `${client.pkg}@${client.version}`;
  if (Deno.env.get("CORTEX_REAL_CLIENTS") === "0") return { skip: `${name}: CORTEX_REAL_CLIENTS=0` };
  const root = clientsCacheDir();
  const dir = `${root}/${name.replaceAll("/", "+")}`;
  const bin = `${dir}/node_modules/.bin/${client.bin}`;
  if (await _isFile(bin)) return { path: bin };
  await Deno.mkdir(root, { recursive: true });
  // Installed into a fresh folder, then renamed into place: a cut-off install never looks cached.
  const staging = await Deno.makeTempDir({ dir: root, prefix: ".installing-" });
  try {
    const out = await new Deno.Command("npm", {
      args: [
        "install",
        "--prefix",
        staging,
        "--no-save",
        "--no-package-lock",
        "--no-audit",
        "--no-fund",
        "--fetch-timeout=30000",
        "--fetch-retries=1",
        name,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(300_000),
    }).output();
    if (!out.success) {
      return { skip: `${name}: npm install failed: ${_npmReason(new TextDecoder().decode(out.stderr))}` };
    }
    if (!(await _isFile(`${staging}/node_modules/.bin/${client.bin}`))) {
      return { skip: `${name}: npm installed no '${client.bin}' executable` };
    }
    try {
      await Deno.rename(staging, dir);
    } catch (error) {
      // Another run installed it meanwhile: use theirs.
      if (!(await _isFile(bin))) throw error;
    }
    return { path: bin };
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "npm is not installed"
      : error instanceof Error
      ? error.message
      : String(error);
    return { skip: `${name}: ${why}` };
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}

// npm's first error lines ("code E404", "FetchError: request to … failed, reason: …"), not its stack.
function _npmReason(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.replace(/^npm (error|ERR!) ?/, "").trim());
  const useful = lines.filter((l) => /^(code |[A-Za-z]*Error|404|.*reason:)/.test(l)).slice(0, 2);
  return (useful.length > 0 ? useful : lines.filter((l) => l !== "").slice(0, 2)).join("; ");
}

async function _isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}
