/**
 * `host:port` listen addresses from `cortex.toml`, split for `Deno.serve` and for the
 * `--allow-net` permission list.
 *
 * @module
 */

/** A parsed listen address. */
export interface ListenAddress {
  /** Host name or IP (IPv6 without brackets). */
  hostname: string;
  /** Port (0: any free port). */
  port: number;
}

/**
 * Parses `host:port` or `[v6]:port`.
 *
 * @example
 * ```ts
 * import { parseListenAddress } from "./listen.ts";
 * parseListenAddress("0.0.0.0:31313"); // { hostname: "0.0.0.0", port: 31313 }
 * parseListenAddress("[::1]:8080"); // { hostname: "::1", port: 8080 }
 * ```
 */
export function parseListenAddress(address: string): ListenAddress {
  const colon = address.lastIndexOf(":");
  if (colon <= 0) throw new Error(`listen address must be "host:port", got ${JSON.stringify(address)}`);
  const host = address.slice(0, colon);
  const port = Number(address.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`listen address ${JSON.stringify(address)} has an invalid port`);
  }
  return { hostname: host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host, port };
}

/** A URL a local client can reach a listener at (`0.0.0.0` and `::` become loopback). */
export function listenerUrl(hostname: string, port: number): string {
  const host = hostname === "0.0.0.0"
    ? "127.0.0.1"
    : hostname === "::"
    ? "[::1]"
    : hostname.includes(":")
    ? `[${hostname}]`
    : hostname;
  return `http://${host}:${port}`;
}
