/**
 * API keys from `[[gateway.keys]]`: read from `Authorization: Bearer` or `x-api-key`,
 * looked up by SHA-256 digest (the secrets are never compared byte by byte or logged), with
 * per-key model allow-lists and an admin flag.
 *
 * @module
 */
import type { GatewayKey } from "@cortex/core/config";

/** The key a request presents: `Authorization: Bearer <key>` first, then `x-api-key`. */
export function presentedKey(headers: Headers): string | null {
  const auth = headers.get("authorization");
  if (auth) {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (match) return match[1].trim();
  }
  const apiKey = headers.get("x-api-key");
  return apiKey ? apiKey.trim() : null;
}

/** The configured keys, indexed by digest. */
export class KeyRing {
  readonly #byDigest: Map<string, GatewayKey>;

  private constructor(byDigest: Map<string, GatewayKey>) {
    this.#byDigest = byDigest;
  }

  /** Indexes the keys of `[gateway].keys`. */
  static async create(keys: readonly GatewayKey[]): Promise<KeyRing> {
    const byDigest = new Map<string, GatewayKey>();
    for (const key of keys) byDigest.set(await _digest(key.key), key);
    return new KeyRing(byDigest);
  }

  /** Whether any key is configured (then every route but `/health` needs one). */
  get required(): boolean {
    return this.#byDigest.size > 0;
  }

  /** The key matching a presented secret, if any. */
  async lookup(secret: string): Promise<GatewayKey | undefined> {
    return this.#byDigest.get(await _digest(secret));
  }
}

async function _digest(secret: string): Promise<string> {
  const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret));
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
}
