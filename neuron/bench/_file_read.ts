/**
 * The yardstick the engine bench holds a model load against: the seconds it takes to read the
 * model's files end to end, as `cat file > /dev/null` does (one 8 MiB buffer, reused).
 * @module
 */

const CHUNK = 8 << 20;

/** The files of a model: the `.gguf` file itself, or a folder's `*.safetensors`, sorted. */
export function modelFiles(path: string): string[] {
  if (path.endsWith(".gguf")) return [path];
  return [...Deno.readDirSync(path)]
    .filter((entry) => entry.isFile && entry.name.endsWith(".safetensors"))
    .map((entry) => `${path}/${entry.name}`)
    .sort();
}

/** Reads every file once and returns the seconds it took and the bytes read. */
export async function readFiles(files: string[]): Promise<{ seconds: number; bytes: number }> {
  const buffer = new Uint8Array(CHUNK);
  let bytes = 0;
  const start = performance.now();
  for (const file of files) {
    using handle = await Deno.open(file, { read: true });
    for (;;) {
      const n = await handle.read(buffer);
      if (n === null) break;
      bytes += n;
    }
  }
  return { seconds: (performance.now() - start) / 1000, bytes };
}

/** Drops the kernel's clean page cache (needs root; Deno grants writes under /proc/sys only with
 * --allow-all, so a shell does it); false where that is not permitted. */
export async function dropPageCache(): Promise<boolean> {
  try {
    const done = await new Deno.Command("sh", {
      args: ["-c", "sync && echo 1 > /proc/sys/vm/drop_caches"],
      stdout: "null",
      stderr: "null",
    }).output();
    return done.success;
  } catch {
    return false;
  }
}
