/**
 * The gateway's HTTP client for one neuron's control API (`/discovery`, `/health`,
 * `/models`, `/models/load`, `/models/unload`, `/tokenize`): bearer token, per-call
 * timeouts, answers validated with the `@cortex/core` fleet schemas, failures as
 * {@linkcode CortexError} values.
 *
 * @module
 */
import { CortexError, fromOpenAIErrorBody } from "@cortex/core/errors";
import {
  type LoadModelRequest,
  type LoadModelResult,
  LoadModelResultSchema,
  NEURON_ROUTES,
  type NeuronDiscovery,
  NeuronDiscoverySchema,
  type NeuronHealth,
  NeuronHealthSchema,
  type NeuronModelInfo,
  NeuronModelListSchema,
  type Schema,
  type TokenizeRequest,
  type TokenizeResponse,
  TokenizeResponseSchema,
  type UnloadModelRequest,
  type UnloadModelResult,
  UnloadModelResultSchema,
} from "@cortex/core/fleet";

/** How to reach one neuron. */
export interface NeuronClientOptions {
  /** Node name (for messages). */
  name: string;
  /** Base URL, e.g. `http://127.0.0.1:13131`. */
  endpoint: string;
  /** Bearer token the neuron requires, or null. */
  token: string | null;
  /** Timeout of poll-type calls in ms. */
  timeoutMs: number;
}

/** A typed client of the neuron control API. */
export class NeuronClient {
  /** Node name. */
  readonly name: string;
  /** Base URL without a trailing slash. */
  readonly endpoint: string;
  readonly #token: string | null;
  readonly #timeoutMs: number;

  /** Builds a client; nothing is fetched yet. */
  constructor(options: NeuronClientOptions) {
    this.name = options.name;
    this.endpoint = options.endpoint.replace(/\/+$/, "");
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs;
  }

  /** Headers every call to this neuron carries (authorization when a token is configured). */
  authHeaders(): Record<string, string> {
    return this.#token ? { authorization: `Bearer ${this.#token}` } : {};
  }

  /** `GET /discovery`. */
  discovery(signal?: AbortSignal): Promise<NeuronDiscovery> {
    return this.#call("GET", NEURON_ROUTES.discovery, undefined, NeuronDiscoverySchema, signal);
  }

  /** `GET /health`. */
  health(signal?: AbortSignal): Promise<NeuronHealth> {
    return this.#call("GET", NEURON_ROUTES.health, undefined, NeuronHealthSchema, signal);
  }

  /** `GET /models`: available and loaded models. */
  models(signal?: AbortSignal): Promise<NeuronModelInfo[]> {
    return this.#call("GET", NEURON_ROUTES.models, undefined, NeuronModelListSchema, signal);
  }

  /** `POST /models/load`, waiting up to `timeoutMs` for the weights to be resident. */
  load(body: LoadModelRequest, timeoutMs: number, signal?: AbortSignal): Promise<LoadModelResult> {
    return this.#call("POST", NEURON_ROUTES.load, body, LoadModelResultSchema, signal, timeoutMs);
  }

  /** `POST /models/unload`. */
  unload(body: UnloadModelRequest, timeoutMs?: number): Promise<UnloadModelResult> {
    return this.#call("POST", NEURON_ROUTES.unload, body, UnloadModelResultSchema, undefined, timeoutMs);
  }

  /** `POST /tokenize`: the exact prompt token count. */
  tokenize(body: TokenizeRequest, signal?: AbortSignal): Promise<TokenizeResponse> {
    return this.#call("POST", NEURON_ROUTES.tokenize, body, TokenizeResponseSchema, signal);
  }

  async #call<T>(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    schema: Schema<T>,
    signal?: AbortSignal,
    timeoutMs: number = this.#timeoutMs,
  ): Promise<T> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await fetch(`${this.endpoint}${path}`, {
        method,
        headers: {
          ...this.authHeaders(),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: combined,
      });
    } catch (cause) {
      if (signal?.aborted) throw _aborted(cause);
      throw this.#transportError(method, path, cause, timeout.aborted ? timeoutMs : null);
    }
    let payload: unknown;
    try {
      const text = await response.text();
      payload = text.length > 0 ? JSON.parse(text) : null;
    } catch (cause) {
      if (timeout.aborted) throw this.#transportError(method, path, cause, timeoutMs);
      throw new CortexError(`neuron '${this.name}' answered ${method} ${path} with a body that is not JSON`, {
        code: "upstream_malformed_response",
        status: 502,
        cause,
      });
    }
    if (!response.ok) {
      const retry = Number(response.headers.get("retry-after"));
      const error = fromOpenAIErrorBody(
        response.status,
        payload,
        Number.isFinite(retry) && retry > 0 ? retry : null,
      );
      throw new CortexError(`neuron '${this.name}': ${error.message}`, {
        code: error.code,
        status: error.status,
        type: error.type,
        extras: error.extras,
        retryAfter: error.retryAfter,
        cause: payload,
      });
    }
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      throw new CortexError(
        `neuron '${this.name}' answered ${method} ${path} with an unexpected shape: ${
          parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join(
            "; ",
          )
        }`,
        { code: "upstream_malformed_response", status: 502 },
      );
    }
    return parsed.data;
  }

  #transportError(method: string, path: string, cause: unknown, timedOutAfterMs: number | null): CortexError {
    if (timedOutAfterMs !== null) {
      return new CortexError(
        `neuron '${this.name}' did not answer ${method} ${path} within ${
          Math.round(timedOutAfterMs / 1000)
        } s`,
        { code: "upstream_timeout", status: 504, retryAfter: 5, cause },
      );
    }
    return new CortexError(
      `neuron '${this.name}' is unreachable: ${transportDetail(cause)}`,
      {
        code: "upstream_connection_error",
        status: 502,
        retryAfter: 3,
        cause,
      },
    );
  }
}

function _aborted(cause: unknown): CortexError {
  return new CortexError("the request was cancelled", { code: "client_closed_request", status: 499, cause });
}

/**
 * The most specific text of a fetch failure (Deno puts the socket error in `cause`), with
 * every URL and `host:port` taken out: these texts reach clients, neuron addresses stay in the log.
 */
export function transportDetail(error: unknown): string {
  if (!(error instanceof Error)) return withoutAddresses(String(error));
  const cause = error.cause instanceof Error ? error.cause.message : null;
  const text = cause ?? error.message;
  const refused = /Connection refused/i.test(text);
  return refused ? "connection refused" : withoutAddresses(text);
}

/** `text` with URLs, `ip:port`, `[v6]:port` and `host:port` replaced by `<address>`. */
export function withoutAddresses(text: string): string {
  return text
    .replace(/^error sending request for url \([^)]*\): /, "")
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s)]+/gi, "<address>")
    .replace(/\[[0-9a-f]*:[0-9a-f:.]*\](:\d+)?/gi, "<address>")
    .replace(/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, "<address>")
    .replace(/\b[a-z0-9-]+(\.[a-z0-9-]+)*:\d{2,5}\b/gi, "<address>");
}
