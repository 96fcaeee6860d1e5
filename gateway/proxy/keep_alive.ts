/**
 * Per-request keep-alive, as Ollama spells it: the body field `keep_alive` or the header
 * `x-cortex-keep-alive`, on every dialect. A number is seconds, a string is a number of
 * seconds or a duration (`"30s"`, `"5m"`, `"1h30m"`); 0 unloads the model as soon as it is
 * idle, a negative value keeps it loaded. The gateway takes the field out of the body before
 * the request goes on (the neuron does not know it and would refuse it).
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";

/** The header that carries a keep-alive for clients that cannot add body fields. */
export const KEEP_ALIVE_HEADER = "x-cortex-keep-alive";

const _UNIT_S: Record<string, number> = {
  ns: 1e-9,
  us: 1e-6,
  "µs": 1e-6,
  "μs": 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};
const _DURATION = /^([+-]?)((?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/;
const _PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;
const _NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

/**
 * Seconds a keep-alive value asks for: a finite number ≥ 0, or `Infinity` (keep loaded) for
 * a negative one. Throws 400 `invalid_request_body` naming `param` for anything else.
 *
 * @example
 * ```ts
 * import { parseKeepAlive } from "./keep_alive.ts";
 * parseKeepAlive(300, "keep_alive"); // 300
 * parseKeepAlive("5m", "keep_alive"); // 300
 * parseKeepAlive("-1", "keep_alive"); // Infinity
 * ```
 */
export function parseKeepAlive(value: unknown, param: string): number {
  if (typeof value === "number" && Number.isFinite(value)) return value < 0 ? Infinity : value;
  if (typeof value === "string") {
    const text = value.trim();
    if (_NUMBER.test(text)) return _signed(Number(text));
    const match = _DURATION.exec(text);
    if (match) {
      let seconds = 0;
      for (const part of match[2].matchAll(_PART)) seconds += Number(part[1]) * _UNIT_S[part[2]];
      return _signed(match[1] === "-" ? -seconds : seconds);
    }
  }
  throw new CortexError(
    `\`${param}\` must be seconds (a number; negative keeps the model loaded) or a duration such as ` +
      `"30s", "5m" or "1h", got ${JSON.stringify(value)}`,
    { code: "invalid_request_body", status: 400, param },
  );
}

/**
 * The keep-alive a request asks for, or null when it names none: the body's `keep_alive`
 * (taken out of `json`) wins over the `x-cortex-keep-alive` header. `stripped` says whether
 * the body changed.
 */
export function takeKeepAlive(
  json: Record<string, unknown>,
  headers: Headers,
): { seconds: number | null; stripped: boolean } {
  const header = headers.get(KEEP_ALIVE_HEADER);
  if (!Object.hasOwn(json, "keep_alive")) {
    return { seconds: header === null ? null : parseKeepAlive(header, KEEP_ALIVE_HEADER), stripped: false };
  }
  const value = json.keep_alive;
  delete json.keep_alive;
  if (value === null) {
    return { seconds: header === null ? null : parseKeepAlive(header, KEEP_ALIVE_HEADER), stripped: true };
  }
  return { seconds: parseKeepAlive(value, "keep_alive"), stripped: true };
}

function _signed(seconds: number): number {
  return seconds < 0 ? Infinity : seconds === 0 ? 0 : seconds;
}
