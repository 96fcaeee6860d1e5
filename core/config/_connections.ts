// Private: the `[connections]` schema both config files embed (the public face is ConnectionsSection).
import { z } from "zod";
import type { ConnectionsSection } from "./connections.ts";

/**
 * The `[connections]` schema with its defaults; `maxPerClient` differs by server (a neuron's one
 * client, the gateway, opens a connection per concurrent request).
 */
export function _connectionsSchema(maxPerClient: number): z.ZodType<ConnectionsSection> {
  return z.strictObject({
    header_timeout_s: z.number().gt(0).default(60),
    body_timeout_s: z.number().gt(0).default(60),
    idle_timeout_s: z.number().gt(0).default(75),
    send_timeout_s: z.number().gt(0).default(60),
    max_per_client: z.number().int().min(1).default(maxPerClient),
  }).prefault({}) as unknown as z.ZodType<ConnectionsSection>;
}
