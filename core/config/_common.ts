// Private schema pieces shared by the three config files.
import { z } from "zod";

/** `host:port` (IPv4, name, or `[v6]`), port 0–65535. */
export const _listenAddress: z.ZodString = z.string().refine(
  (s) => {
    const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(s);
    return match !== null && Number(match[2]) <= 65535;
  },
  { message: 'expected "host:port" with a port from 0 to 65535' },
);

/** An absolute http(s) URL. */
export const _httpUrl: z.ZodString = z.string().refine((s) => {
  try {
    const url = new URL(s);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}, { message: "expected an http(s) URL" });

/** Joins a relative path onto a base directory (POSIX and Windows-drive absolute paths are kept). */
export function _resolvePath(baseDir: string | undefined, path: string): string {
  if (!baseDir || path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path)) return path;
  const parts = `${baseDir.replace(/[\\/]+$/, "")}/${path}`.split("/");
  const out: string[] = [];
  for (const part of parts) {
    if (part === "." || (part === "" && out.length > 0)) continue;
    if (part === ".." && out.length > 0 && out[out.length - 1] !== ".." && out[out.length - 1] !== "") {
      out.pop();
    } else out.push(part);
  }
  return out.join("/") || ".";
}

/** The directory part of a path (`.` when none). */
export function _dirname(path: string): string {
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  if (slash === -1) return ".";
  return slash === 0 ? "/" : path.slice(0, slash);
}

/** Adds a "duplicate" issue for every repeated value (secrets are not echoed). */
export function _checkUnique(
  values: string[],
  at: (string | number)[],
  field: string,
  ctx: z.RefinementCtx,
  secret = false,
): void {
  const seen = new Map<string, number>();
  values.forEach((value, i) => {
    const first = seen.get(value);
    if (first === undefined) seen.set(value, i);
    else {
      ctx.addIssue({
        code: "custom",
        path: [...at, i, field],
        message: secret
          ? `duplicate ${field} (same as ${at.join(".")}[${first}])`
          : `duplicate ${field} ${JSON.stringify(value)} (also ${at.join(".")}[${first}])`,
      });
    }
  });
}

/** `[log]` of `cortex.toml` and `neuron.toml`, defaults applied (see `log_config.ts`). */
export const _logSection = z.strictObject({
  format: z.enum(["json", "text"]).default("text"),
  level: z.enum(["debug", "info", "warn", "error"]).default("info"),
  prompts: z.boolean().default(false),
}).prefault({});
