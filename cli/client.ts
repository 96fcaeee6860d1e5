/**
 * The CLI's HTTP client for the gateway: JSON GET/POST with the API key, and every failure
 * turned into a {@linkcode CliError} that says what to do (start the gateway, set
 * `CORTEX_API_KEY`, pick a model from `cortex models`).
 *
 * @module
 */
import { CliError, CONTEXT_HINT } from "./cli_error.ts";

/** Default gateway when neither `--gateway` nor `CORTEX_URL` is given. */
export const DEFAULT_GATEWAY_URL = "http://localhost:31313";

/**
 * Normalises a gateway URL: adds `http://` when no scheme is given, drops trailing slashes.
 *
 * @example
 * ```ts
 * import { normaliseGatewayUrl } from "./client.ts";
 * normaliseGatewayUrl("10.0.0.2:31313/"); // "http://10.0.0.2:31313"
 * ```
 */
export function normaliseGatewayUrl(raw: string): string {
  const text = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new CliError(
      "usage",
      `--gateway: "${raw}" is not a URL`,
      "use e.g. --gateway http://10.0.0.2:31313",
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CliError("usage", `--gateway: expected an http(s) URL, got "${raw}"`);
  }
  return url.href.replace(/\/+$/, "");
}

/** Why fetch failed, in a few words (Deno's messages are long). */
function _networkReason(error: unknown): string {
  const text = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);
  if (/refused/i.test(text)) return "connection refused";
  if (/dns|lookup|not known|name resolution/i.test(text)) return "host not found";
  if (/timed? ?out/i.test(text)) return "timed out";
  if (/reset|closed|broken pipe|incomplete/i.test(text)) return "connection closed";
  if (/certificate|tls|ssl/i.test(text)) return "TLS error";
  if (/port \d+ (are|is) blocked/i.test(text)) return "fetch refuses that port; pick another";
  return text.split("\n")[0].slice(0, 160).trim();
}

/** Talks to one gateway. */
export class GatewayClient {
  /** Base URL without trailing slash. */
  readonly baseUrl: string;
  readonly #apiKey: string | null;

  /** A client for `baseUrl`, sending `apiKey` as a bearer token when set. */
  constructor(baseUrl: string, apiKey: string | null) {
    this.baseUrl = baseUrl;
    this.#apiKey = apiKey;
  }

  /** Request headers (JSON, auth). */
  headers(): Record<string, string> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "application/json",
    };
    if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`;
    return headers;
  }

  /** `GET path` → JSON (10 s timeout unless `signal` is given). */
  async getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
    const response = await this.request("GET", path, undefined, signal ?? AbortSignal.timeout(10_000));
    return await response.json() as T;
  }

  /** `POST path` with a JSON body → JSON (no timeout unless `signal` is given: loads can take minutes). */
  async postJson<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const response = await this.request("POST", path, body, signal);
    return await response.json() as T;
  }

  /** Sends a request; resolves with a 2xx response, else throws a {@linkcode CliError}. */
  async request(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: this.headers(),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal,
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") throw error;
      if (error instanceof DOMException && error.name === "TimeoutError") {
        throw new CliError(
          "timeout",
          `the gateway at ${this.baseUrl} did not answer ${method} ${path} in time`,
          "check that it is running and not overloaded",
        );
      }
      throw new CliError(
        "gateway_unreachable",
        `cannot reach the gateway at ${this.baseUrl} (${_networkReason(error)})`,
        "start one with `cortex up` or `cortex serve`, or point --gateway / CORTEX_URL at a running gateway",
      );
    }
    if (response.ok) return response;
    throw await gatewayError(response, `${method} ${path}`);
  }
}

/** Turns a non-2xx gateway response (OpenAI error envelope) into a {@linkcode CliError}. */
export async function gatewayError(response: Response, what: string): Promise<CliError> {
  const text = await response.text().catch(() => "");
  let message = text.trim().slice(0, 300) || response.statusText;
  let code: string | null = null;
  try {
    const body = JSON.parse(text);
    const error = body?.error;
    if (typeof error?.message === "string") message = error.message;
    if (typeof error?.code === "string") code = error.code;
    else if (typeof error?.type === "string") code = error.type;
  } catch {
    // not JSON: keep the text
  }
  const detail = `${what}: ${response.status}${code ? ` ${code}` : ""}: ${message}`;
  if (response.status === 401) {
    return new CliError(
      "unauthorized",
      detail,
      "set CORTEX_API_KEY to a key listed in the gateway's cortex.toml",
    );
  }
  if (response.status === 403) {
    return new CliError("forbidden", detail, "this needs an admin key (admin = true) in CORTEX_API_KEY");
  }
  if (code === "model_not_found" || (response.status === 404 && /model/i.test(message))) {
    return new CliError("model_not_found", detail, "`cortex models` lists the models the fleet offers");
  }
  if (response.status === 404) {
    return new CliError("gateway_error", detail, "is --gateway / CORTEX_URL pointing at a cortex gateway?");
  }
  if (code === "context_length_exceeded") return new CliError("gateway_error", detail, CONTEXT_HINT);
  return new CliError(
    "gateway_error",
    detail,
    response.status >= 500 ? "see the gateway's log for details" : "",
  );
}
