/**
 * The gateway's HTTP client for one neuron's control API (`/discovery`, `/health`,
 * `/models`, `/models/load`, `/models/unload`, `/tokenize`): bearer token, per-call
 * timeouts, answers validated with the `@cortex/core` fleet schemas, failures as
 * {@linkcode CortexError} values. It owns the node's keep-alive connection pool, which the
 * inference calls (`proxy/upstream.ts`) share under a cap ({@linkcode ConnectionSlots}).
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
import { ConnectionSlots } from "./connection_slots.ts";

const _POOL_IDLE_MS = 30_000;

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
  /**
   * Connections to keep at most (`[gateway] upstream_max_connections`): the client then owns a
   * keep-alive pool of that size, to be closed with {@linkcode NeuronClient.close}. Absent:
   * the process-wide fetch pool and no cap on inference calls.
   */
  maxConnections?: number;
}

/** A typed client of the neuron control API. */
export class NeuronClient {
  /** Node name. */
  readonly name: string;
  /** Base URL without a trailing slash. */
  readonly endpoint: string;
  /** The cap on inference calls in flight to this neuron (one connection each). */
  readonly slots: ConnectionSlots;
  readonly #token: string | null;
  readonly #timeoutMs: number;
  readonly #pool: Deno.HttpClient | undefined;

  /** Builds a client; nothing is fetched yet. */
  constructor(options: NeuronClientOptions) {
    this.name = options.name;
    this.endpoint = options.endpoint.replace(/\/+$/, "");
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs;
    const max = options.maxConnections;
    this.slots = new ConnectionSlots(max ?? Infinity);
    // Idle connections are kept up to the cap and reused; hyper's pool has no cap on busy
    // ones, which the slots provide for inference calls. An idle one is closed by the gateway
    // well before a server's keep-alive timeout would close it under a request being sent.
    this.#pool = max === undefined
      ? undefined
      : Deno.createHttpClient({ poolMaxIdlePerHost: max, poolIdleTimeout: _POOL_IDLE_MS });
  }

  /** `fetch` of a path on this neuron through its connection pool. */
  fetch(path: string, init: RequestInit): Promise<Response> {
    return fetch(`${this.endpoint}${path}`, { ...init, client: this.#pool });
  }

  /** Closes the connection pool (calls after this fail). */
  close(): void {
    this.#pool?.close();
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
      response = await this.fetch(path, {
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
