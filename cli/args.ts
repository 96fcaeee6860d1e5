/**
 * A small, strict argument parser: `--name value`, `--name=value`, short aliases, boolean
 * switches, repeatable nothing, and `--` to end flags. Unknown flags and missing values are
 * usage errors that name the flag, so a typo never silently changes behaviour.
 *
 * @module
 */
import { CliError } from "./cli_error.ts";

/** How one flag is read. */
export interface FlagSpec {
  /** `string` takes a value, `boolean` is a switch. */
  type: "string" | "boolean";
  /** One-letter alias, without the dash. */
  short?: string;
  /** Shown in help. */
  description: string;
  /** Value placeholder in help, e.g. `URL`. */
  value?: string;
}

/** Flag name (without dashes) → spec. */
export type FlagSpecs = Record<string, FlagSpec>;

/** The parsed command line. */
export interface ParsedArgs {
  /** Arguments that are not flags, in order. */
  positionals: string[];
  /** Flag values by name: strings for `string` flags, `true` for switches that were given. */
  flags: Record<string, string | boolean>;
}

/**
 * Parses `args` against `specs`.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 * const parsed = parseArgs(["load", "tiny", "--node=a", "--json"], {
 *   node: { type: "string", description: "node" },
 *   json: { type: "boolean", description: "JSON" },
 * });
 * // { positionals: ["load", "tiny"], flags: { node: "a", json: true } }
 * ```
 */
export function parseArgs(args: readonly string[], specs: FlagSpecs): ParsedArgs {
  const out: ParsedArgs = { positionals: [], flags: {} };
  const byShort = new Map(
    Object.entries(specs).filter(([, s]) => s.short).map(([name, s]) => [s.short, name]),
  );
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      out.positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      out.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const written = eq === -1 ? arg : arg.slice(0, eq);
    const inline = eq === -1 ? null : arg.slice(eq + 1);
    const name = written.startsWith("--") ? written.slice(2) : byShort.get(written.slice(1));
    const spec = name === undefined ? undefined : specs[name];
    if (name === undefined || spec === undefined) {
      throw new CliError("usage", `unknown option ${written}`, "see --help for the options of this command");
    }
    if (spec.type === "boolean") {
      if (inline !== null && inline !== "true" && inline !== "false") {
        throw new CliError("usage", `${written} is a switch and takes no value, got "${inline}"`);
      }
      out.flags[name] = inline !== "false";
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined) {
      throw new CliError("usage", `${written} needs a value${spec.value ? ` (${spec.value})` : ""}`);
    }
    out.flags[name] = value;
  }
  return out;
}

/** A string flag's value, or undefined when absent. */
export function stringFlag(parsed: ParsedArgs, name: string): string | undefined {
  const value = parsed.flags[name];
  return typeof value === "string" ? value : undefined;
}

/** A numeric flag's value (checked against `min`/`max`), or undefined when absent. */
export function numberFlag(
  parsed: ParsedArgs,
  name: string,
  range: { min?: number; max?: number; integer?: boolean } = {},
): number | undefined {
  const raw = stringFlag(parsed, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  const bad = raw.trim() === "" || !Number.isFinite(value) || (range.integer && !Number.isInteger(value)) ||
    (range.min !== undefined && value < range.min) || (range.max !== undefined && value > range.max);
  if (bad) {
    const kind = range.integer ? "an integer" : "a number";
    const bounds = range.min !== undefined && range.max !== undefined
      ? ` in ${range.min}..${range.max}`
      : range.min !== undefined
      ? ` ≥ ${range.min}`
      : "";
    throw new CliError("usage", `--${name}: expected ${kind}${bounds}, got "${raw}"`);
  }
  return value;
}

/** Help lines for a flag table, aligned. */
export function describeFlags(specs: FlagSpecs): string[] {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : "    ";
    return [`${short}--${name}${spec.value ? ` ${spec.value}` : ""}`, spec.description];
  });
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}
