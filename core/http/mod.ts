/**
 * HTTP plumbing shared by the gateway and the neuron: one request-body reader that counts bytes
 * as they stream and stops at the limit, and one listener that closes connections which trickle
 * their headers or body, idle too long, or come in too many from one client.
 *
 * @example
 * ```ts
 * import { parseJsonBytes, readBody } from "@cortex/core/http";
 * const request = new Request("http://x/", { method: "POST", body: '{"model":"m"}' });
 * parseJsonBytes(await readBody(request, { limitBytes: 1 << 20 })); // { model: "m" }
 * ```
 * @module
 */
export * from "./read_body.ts";
export * from "./serve_guarded.ts";
