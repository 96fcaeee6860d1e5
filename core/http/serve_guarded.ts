/**
 * An HTTP listener that keeps connections bounded, which `Deno.serve` alone cannot: it has no
 * header, body or keep-alive timeouts and no per-client connection cap (a client trickling its
 * headers, or one holding an idle keep-alive connection, stays connected forever). The public
 * socket is a thin TCP relay in front of a `Deno.serve` bound to an ephemeral loopback port: HTTP
 * parsing stays with Deno's server, and the relay — told by the handler wrapper when a request's
 * head has arrived, when its body has been read and when its response has been sent — knows each
 * connection's phase and closes it when that phase outlasts its limit.
 *
 * @module
 */

/** Limits a {@linkcode serveGuarded} listener holds every connection to (times in milliseconds). */
export interface ConnectionLimits {
  /** From a connection's opening (or the first byte after an idle wait) to a complete request head. */
  headerTimeoutMs: number;
  /** Longest gap between two chunks of a request body while the handler reads it. */
  bodyTimeoutMs: number;
  /** Longest wait on an idle keep-alive connection for the next request. */
  idleTimeoutMs: number;
  /** Longest a write of response bytes to a client that does not read may block. */
  sendTimeoutMs: number;
  /** Open connections per client address; more are answered 429 and closed. */
  maxPerClient: number;
}

/** Defaults in the spirit of nginx: 60 s for headers, body gaps and sends, 75 s keep-alive. */
export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = Object.freeze({
  headerTimeoutMs: 60_000,
  bodyTimeoutMs: 60_000,
  idleTimeoutMs: 75_000,
  sendTimeoutMs: 60_000,
  maxPerClient: 256,
});

/** Why the listener closed a connection. */
export type ConnectionCloseReason = "header_timeout" | "body_timeout" | "idle_timeout" | "send_timeout";

/** Counters of a {@linkcode GuardedServer} (live values). */
export interface ConnectionStats {
  /** Connections open now. */
  open: number;
  /** Connections refused because their client already had `maxPerClient` open. */
  refused: number;
  /** Connections closed by a limit, by reason. */
  closed: Record<ConnectionCloseReason, number>;
}

/** Options of {@linkcode serveGuarded}. */
export interface ServeGuardedOptions {
  /** Interface to listen on. */
  hostname: string;
  /** Port (0: any free port). */
  port: number;
  /** Limits (each absent one takes its {@linkcode DEFAULT_CONNECTION_LIMITS} value). */
  limits?: Partial<ConnectionLimits>;
}

/** A running {@linkcode serveGuarded} listener. */
export interface GuardedServer {
  /** The public address (its `port` is the one picked when 0 was asked). */
  readonly addr: Deno.NetAddr;
  /** Live counters. */
  readonly stats: ConnectionStats;
  /** Stops accepting, lets running requests finish (as `Deno.serve`'s shutdown), closes the rest. */
  shutdown(): Promise<void>;
}

/**
 * Serves `handler` on `hostname:port` with every connection held to `limits`. The handler sees
 * the client's own address in `info.remoteAddr`. Needs net permission for the listen address and
 * for `127.0.0.1` (the inner listener on an ephemeral port).
 *
 * @example
 * ```ts ignore
 * import { serveGuarded } from "@cortex/core/http";
 * const server = serveGuarded(
 *   { hostname: "0.0.0.0", port: 31313, limits: { headerTimeoutMs: 10_000 } },
 *   () => new Response("ok"),
 * );
 * console.log(server.addr.port);
 * await server.shutdown();
 * ```
 */
export function serveGuarded(options: ServeGuardedOptions, handler: Deno.ServeHandler): GuardedServer {
  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };
  const stats: ConnectionStats = {
    open: 0,
    refused: 0,
    closed: { header_timeout: 0, body_timeout: 0, idle_timeout: 0, send_timeout: 0 },
  };
  const byInnerPort = new Map<number, _Relay>();
  const inner = Deno.serve(
    { hostname: _LOOPBACK, port: 0, onListen() {} },
    (request, info) => {
      const relay = byInnerPort.get((info.remoteAddr as Deno.NetAddr).port);
      if (!relay) return new Response("connect through the public listener\n", { status: 403 });
      relay.requestStarted();
      info.completed.then(() => relay.requestEnded(), () => relay.requestEnded());
      return handler(_watchBody(request, relay), { ...info, remoteAddr: relay.client.remoteAddr });
    },
  );
  const innerPort = inner.addr.port;
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: options.hostname, port: options.port });
  } catch (error) {
    void inner.shutdown();
    throw listenError(error, options.hostname, options.port);
  }
  const perClient = new Map<string, number>();
  const relays = new Map<_Relay, Promise<void>>();

  async function serveClient(client: Deno.TcpConn): Promise<void> {
    const key = client.remoteAddr.hostname;
    const count = perClient.get(key) ?? 0;
    if (count >= limits.maxPerClient) {
      stats.refused++;
      await _refuse(client, limits.maxPerClient);
      return;
    }
    perClient.set(key, count + 1);
    stats.open++;
    let relay: _Relay | null = null;
    try {
      const upstream = await Deno.connect({ hostname: _LOOPBACK, port: innerPort });
      relay = new _Relay(client, upstream, limits, (reason) => stats.closed[reason]++);
      const port = upstream.localAddr.port;
      byInnerPort.set(port, relay);
      const running = relay.run();
      relays.set(relay, running);
      await running;
      byInnerPort.delete(port);
    } catch {
      // The inner listener is gone (shutting down): nothing to relay to.
    } finally {
      if (relay) relays.delete(relay);
      else _close(client);
      stats.open--;
      const left = (perClient.get(key) ?? 1) - 1;
      if (left === 0) perClient.delete(key);
      else perClient.set(key, left);
    }
  }

  const accepting = (async () => {
    try {
      for await (const client of listener) void serveClient(client);
    } catch {
      // Closed by shutdown.
    }
  })();

  let stopping: Promise<void> | null = null;
  return {
    addr: listener.addr as Deno.NetAddr,
    stats,
    shutdown(): Promise<void> {
      stopping ??= (async () => {
        try {
          listener.close();
        } catch {
          // Already closed.
        }
        await accepting;
        await inner.shutdown();
        // The inner server has sent its last bytes and closes its side; let the relays pass them on.
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          Promise.all(relays.values()),
          new Promise((resolve) => (timer = setTimeout(resolve, _DRAIN_MS))),
        ]);
        clearTimeout(timer);
        for (const relay of relays.keys()) relay.close();
      })();
      return stopping;
    },
  };
}

const _LOOPBACK = "127.0.0.1";
const _BUFFER_BYTES = 32 * 1024;
/** How long shutdown waits for relays to pass on the inner server's last bytes. */
const _DRAIN_MS = 2_000;

type _Phase = "head" | "body" | "response" | "idle";

/** What the handler wrapper reports to a connection's relay. */
interface _BodyEvents {
  bodyProgress(): void;
  bodyDone(): void;
}

/** One client connection relayed to the inner server, with the timer of its current phase. */
class _Relay implements _BodyEvents {
  readonly client: Deno.TcpConn;
  readonly #upstream: Deno.TcpConn;
  readonly #limits: ConnectionLimits;
  readonly #onLimit: (reason: ConnectionCloseReason) => void;
  #phase: _Phase = "head";
  #active = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(
    client: Deno.TcpConn,
    upstream: Deno.TcpConn,
    limits: ConnectionLimits,
    onLimit: (reason: ConnectionCloseReason) => void,
  ) {
    this.client = client;
    this.#upstream = upstream;
    this.#limits = limits;
    this.#onLimit = onLimit;
    for (const conn of [client, upstream]) {
      try {
        conn.setNoDelay(true);
      } catch {
        // Not fatal: only latency.
      }
    }
  }

  /** Relays both directions until either side ends or a limit closes the connection. */
  async run(): Promise<void> {
    this.#arm("header_timeout", this.#limits.headerTimeoutMs);
    await Promise.all([this.#fromClient(), this.#toClient()]);
    this.close();
  }

  /** The handler got a request head on this connection. */
  requestStarted(): void {
    this.#active++;
    this.#phase = "body";
    this.#arm("body_timeout", this.#limits.bodyTimeoutMs);
  }

  /** A response on this connection was sent (or failed). */
  requestEnded(): void {
    this.#active = Math.max(0, this.#active - 1);
    if (this.#active > 0 || this.#closed) return;
    this.#phase = "idle";
    this.#arm("idle_timeout", this.#limits.idleTimeoutMs);
  }

  bodyProgress(): void {
    if (this.#phase === "body") this.#arm("body_timeout", this.#limits.bodyTimeoutMs);
  }

  bodyDone(): void {
    if (this.#phase !== "body") return;
    this.#phase = "response";
    this.#disarm();
  }

  /** Closes both sockets (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#disarm();
    _close(this.client);
    _close(this.#upstream);
  }

  async #fromClient(): Promise<void> {
    const buffer = new Uint8Array(_BUFFER_BYTES);
    try {
      while (true) {
        const n = await this.client.read(buffer);
        if (n === null) break;
        this.#clientSent();
        await _writeAll(this.#upstream, buffer.subarray(0, n));
      }
      // The client is done sending: let a response in flight finish, then the inner server closes.
      await this.#upstream.closeWrite();
    } catch {
      this.close();
    }
  }

  async #toClient(): Promise<void> {
    const buffer = new Uint8Array(_BUFFER_BYTES);
    try {
      while (true) {
        const n = await this.#upstream.read(buffer);
        if (n === null) break;
        const timer = setTimeout(() => this.#limitReached("send_timeout"), this.#limits.sendTimeoutMs);
        try {
          await _writeAll(this.client, buffer.subarray(0, n));
        } finally {
          clearTimeout(timer);
        }
      }
    } catch {
      // Either side went away.
    }
    this.close();
  }

  #clientSent(): void {
    if (this.#phase === "idle") {
      this.#phase = "head";
      this.#arm("header_timeout", this.#limits.headerTimeoutMs);
    } else if (this.#phase === "body") {
      this.#arm("body_timeout", this.#limits.bodyTimeoutMs);
    }
  }

  #arm(reason: ConnectionCloseReason, ms: number): void {
    this.#disarm();
    if (this.#closed) return;
    this.#timer = setTimeout(() => this.#limitReached(reason), ms);
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #limitReached(reason: ConnectionCloseReason): void {
    if (this.#closed) return;
    this.#onLimit(reason);
    this.close();
  }
}

/**
 * The request as the handler sees it: its body read through a pass-through that tells the relay of
 * each chunk and of the end (or of the handler giving up on it).
 */
function _watchBody(request: Request, events: _BodyEvents): Request {
  if (request.body === null) {
    events.bodyDone();
    return request;
  }
  const reader = request.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller): Promise<void> {
      const { done, value } = await reader.read();
      if (done) {
        events.bodyDone();
        controller.close();
        return;
      }
      events.bodyProgress();
      controller.enqueue(value);
    },
    cancel(reason): Promise<void> {
      events.bodyDone();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return new Request(request.url, {
    method: request.method,
    headers: request.headers,
    body,
    signal: request.signal,
    duplex: "half",
  } as RequestInit);
}

/** Answers a connection over the per-client cap with a 429 and closes it. */
async function _refuse(client: Deno.TcpConn, max: number): Promise<void> {
  const body = JSON.stringify({
    error: {
      message: `too many open connections from this client (the limit is ${max}); close idle ones and retry`,
      type: "rate_limit_error",
      code: "too_many_connections",
      param: null,
    },
  });
  const head = "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nretry-after: 1\r\n" +
    `connection: close\r\ncontent-length: ${new TextEncoder().encode(body).byteLength}\r\n\r\n`;
  const timer = setTimeout(() => _close(client), 1_000);
  try {
    await _writeAll(client, new TextEncoder().encode(head + body));
    await client.closeWrite();
    // Drain what the client sends until it closes, so it reads the answer rather than a reset.
    const sink = new Uint8Array(4096);
    while ((await client.read(sink)) !== null) { /* discard */ }
  } catch {
    // Gone already.
  } finally {
    clearTimeout(timer);
    _close(client);
  }
}

async function _writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) offset += await conn.write(bytes.subarray(offset));
}

function _close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/**
 * A listen failure that names the address: `Deno.listen`'s "Address already in use" says neither
 * which address nor what to do.
 *
 * @example
 * ```ts
 * import { listenError } from "@cortex/core/http";
 * listenError(new Deno.errors.AddrInUse("Address already in use"), "127.0.0.1", 31313).message;
 * // "cannot listen on 127.0.0.1:31313: the address is already in use (another cortex, or another program, holds it; choose another port)"
 * ```
 */
export function listenError(error: unknown, hostname: string, port: number): Error {
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  if (error instanceof Deno.errors.AddrInUse) {
    return new Error(
      `cannot listen on ${host}:${port}: the address is already in use (another cortex, or another program, ` +
        "holds it; choose another port)",
      { cause: error },
    );
  }
  return new Error(`cannot listen on ${host}:${port}: ${error instanceof Error ? error.message : error}`, {
    cause: error,
  });
}
