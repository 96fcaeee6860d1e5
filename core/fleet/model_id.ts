/**
 * Hub model ids of the form `[scheme:]org/name`, as used in load requests and
 * `neuron.toml` sources.
 *
 * @module
 */

/** A parsed hub model id. */
export interface HubModelId {
  /** Registry scheme (`huggingface`, or a configured one), or null for the default. */
  scheme: string | null;
  /** Organisation. */
  org: string;
  /** Repository name. */
  name: string;
  /** `org/name`, what the registry sees. */
  repo: string;
}

/**
 * Parses `[scheme:]org/name`: the scheme is split at the first `:` (non-empty, no `/`);
 * org and name are non-empty, name has no `:` or `/`. Returns null when malformed.
 *
 * @example
 * ```ts
 * import { parseHubModelId } from "@cortex/core/fleet";
 * parseHubModelId("hf:Qwen/Qwen3-0.6B"); // {scheme: "hf", org: "Qwen", name: "Qwen3-0.6B", repo: "Qwen/Qwen3-0.6B"}
 * parseHubModelId("not-an-id"); // null
 * ```
 */
export function parseHubModelId(id: string): HubModelId | null {
  let scheme: string | null = null;
  let rest = id;
  const colon = id.indexOf(":");
  const slash = id.indexOf("/");
  if (colon !== -1 && (slash === -1 || colon < slash)) {
    scheme = id.slice(0, colon);
    rest = id.slice(colon + 1);
    if (scheme.length === 0) return null;
  }
  const parts = rest.split("/");
  if (parts.length !== 2) return null;
  const [org, name] = parts;
  if (!org || !name || name.includes(":") || org.includes(":")) return null;
  if (/\s/.test(org) || /\s/.test(name)) return null;
  return { scheme, org, name, repo: `${org}/${name}` };
}
