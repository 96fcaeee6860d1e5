/**
 * Test helpers for code that needs a real gateway process: {@linkcode spawnGateway}.
 *
 * @example
 * ```ts ignore
 * import { spawnGateway } from "@cortex/gateway/testing";
 * const gateway = await spawnGateway({ neurons: [{ name: "a", endpoint: "http://127.0.0.1:13131" }] });
 * await gateway.stop();
 * ```
 * @module
 */
export * from "./spawn_gateway.ts";
