/**
 * `deno task bench:robustness`: what hostile or unlucky clients cost the others, against a real
 * neuron (tiny Qwen3, paced engine steps) and a real gateway in front of it. Three figures:
 *
 * - `event_loop`: a 30-token stream from the neuron, alone and then while a 10 MB chat request
 *   and a 100k-message chat request arrive (three runs of each, alternating); the added gap is
 *   the median loaded run's max inter-token gap minus the median alone run's.
 * - `oversized_body`: a 200 MB chunked body to the neuron: its status and the neuron's RSS growth
 *   (sampled with `ps` while the body is sent).
 * - `connections`: 100 slow-header (trickling) and 20 idle keep-alive connections to the gateway
 *   with short timeouts: when each was closed, and the latency of normal requests meanwhile.
 *
 * Prints one JSON document on stdout.
 *
 * @module
 */
import { SseParser } from "@cortex/core/sse";
import { spawnNeuron, TINY_QWEN3 } from "../../neuron/testing/spawn_neuron.ts";
import { spawnGateway } from "../testing/spawn_gateway.ts";

const HEADER_TIMEOUT_S = 2;
const IDLE_TIMEOUT_S = 2;
const STEP_DELAY_MS = 30;
const _RUNS = 3;
// The tiny model's end tokens, banned so the stream runs its 30 tokens.
const NO_EOS = { "1015": -100, "1017": -100 };

const _percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const _round = (x: number): number => Math.round(x * 10) / 10;

/** Arrival times (ms) of the content chunks of a 30-token completion stream. */
async function _streamArrivals(url: string, onToken?: (index: number) => void): Promise<number[]> {
  const res = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "tiny",
      prompt: "Once",
      max_tokens: 30,
      temperature: 0,
      stream: true,
      logit_bias: NO_EOS,
    }),
  });
  if (!res.ok) throw new Error(`stream: ${res.status} ${await res.text()}`);
  const arrivals: number[] = [];
  const parser = new SseParser();
  for await (const chunk of res.body!) {
    for (const event of parser.push(chunk)) {
      if (!event.data?.startsWith("{")) continue;
      const data = JSON.parse(event.data);
      if (data.choices?.[0]?.text) {
        arrivals.push(performance.now());
        onToken?.(arrivals.length);
      }
    }
  }
  return arrivals;
}

const _gaps = (arrivals: number[]): number[] => arrivals.slice(1).map((t, i) => t - arrivals[i]);

async function _eventLoop(neuronUrl: string): Promise<Record<string, unknown>> {
  const tenMb = JSON.stringify({
    model: "tiny",
    messages: [{ role: "user", content: "lorem ipsum dolor sit amet ".repeat(Math.ceil(10 * 2 ** 20 / 27)) }],
  });
  const manyMessages = JSON.stringify({
    model: "tiny",
    messages: Array.from({ length: 100_000 }, (_, i) => ({
      role: i % 2 === 0 ? "user" : "assistant",
      content: `message ${i}`,
    })),
  });
  await _streamArrivals(neuronUrl); // warm-up
  const heavy: Promise<{ status: number; ms: number; code: string | null }>[] = [];
  const send = (body: string) => {
    const t0 = performance.now();
    return fetch(`${neuronUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    }).then(async (res) => {
      const json = await res.json().catch(() => null);
      return { status: res.status, ms: _round(performance.now() - t0), code: json?.error?.code ?? null };
    });
  };
  // Alternating runs, the median of each kind's max gap: one run's max is at the mercy of the
  // machine's other load.
  const baselineMaxes: number[] = [];
  const loadedMaxes: number[] = [];
  let baseline: number[] = [];
  let loaded: number[] = [];
  let results: { status: number; ms: number; code: string | null }[] = [];
  for (let run = 0; run < _RUNS; run++) {
    baseline = _gaps(await _streamArrivals(neuronUrl));
    baselineMaxes.push(Math.max(...baseline));
    heavy.length = 0;
    loaded = _gaps(
      await _streamArrivals(neuronUrl, (index) => {
        if (index === 3) heavy.push(send(tenMb), send(manyMessages));
      }),
    );
    loadedMaxes.push(Math.max(...loaded));
    results = await Promise.all(heavy);
  }
  const [ten, many] = results;
  const baselineMax = _percentile(baselineMaxes, 50);
  const loadedMax = _percentile(loadedMaxes, 50);
  return {
    step_delay_ms: STEP_DELAY_MS,
    tokens: loaded.length + 1,
    runs: _RUNS,
    baseline_gap_ms: { p50: _round(_percentile(baseline, 50)), max_per_run: baselineMaxes.map(_round) },
    loaded_gap_ms: { p50: _round(_percentile(loaded, 50)), max_per_run: loadedMaxes.map(_round) },
    max_added_gap_ms: _round(Math.max(0, loadedMax - baselineMax)),
    request_10mb: { bytes: tenMb.length, ...ten },
    request_100k_messages: { bytes: manyMessages.length, ...many },
    pass: loadedMax - baselineMax <= 50,
  };
}

/** A process's resident set size in bytes (`ps`: reading /proc needs --allow-all in Deno). */
async function _rssBytes(pid: number): Promise<number> {
  const { stdout } = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
  return Number(new TextDecoder().decode(stdout).trim()) * 1024;
}

async function _oversizedBody(neuronUrl: string, pid: number): Promise<Record<string, unknown>> {
  const before = await _rssBytes(pid);
  let peak = before;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) peak = Math.max(peak, await _rssBytes(pid));
  })();
  const chunk = new Uint8Array(1 << 20).fill(0x20);
  let sentMb = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sentMb === 200) return controller.close();
      sentMb++;
      controller.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
  const t0 = performance.now();
  let status = 0;
  let code: string | null = null;
  try {
    const res = await fetch(`${neuronUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    status = res.status;
    code = (await res.json().catch(() => null))?.error?.code ?? null;
  } catch (error) {
    code = `client error: ${(error as Error).message}`;
  }
  const ms = performance.now() - t0;
  await new Promise((resolve) => setTimeout(resolve, 200));
  sampling = false;
  await sampler;
  peak = Math.max(peak, await _rssBytes(pid));
  const growth = peak - before;
  return {
    status,
    code,
    ms: _round(ms),
    client_sent_mb: sentMb,
    rss_before_mb: _round(before / 2 ** 20),
    rss_peak_mb: _round(peak / 2 ** 20),
    rss_growth_mb: _round(growth / 2 ** 20),
    pass: status === 413 && growth <= 40 * 2 ** 20,
  };
}

/** Opens a connection, runs `act` on it, and resolves with ms from `since()` to the server's close. */
async function _timeToClose(port: number, act: (conn: Deno.TcpConn) => Promise<number>): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const since = await act(conn);
  const sink = new Uint8Array(4096);
  try {
    while ((await conn.read(sink)) !== null) { /* drain */ }
  } catch { /* reset counts as closed */ }
  const ms = performance.now() - since;
  try {
    conn.close();
  } catch { /* closed */ }
  return ms;
}

async function _connections(gatewayUrl: string): Promise<Record<string, unknown>> {
  const port = Number(new URL(gatewayUrl).port);
  const encoder = new TextEncoder();
  const slow = Array.from({ length: 100 }, () =>
    _timeToClose(port, async (conn) => {
      const opened = performance.now();
      await conn.write(encoder.encode("GET /v1/models HTTP/1.1\r\nHost: x\r\n"));
      // Trickle a header line every 300 ms, never finishing the head (slowloris).
      const timer = setInterval(
        () => conn.write(encoder.encode("X-Slow: 1\r\n")).catch(() => clearInterval(timer)),
        300,
      );
      setTimeout(() => clearInterval(timer), (HEADER_TIMEOUT_S + 5) * 1000);
      return opened;
    }));
  const idle = Array.from({ length: 20 }, () =>
    _timeToClose(port, async (conn) => {
      await conn.write(encoder.encode("GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"));
      const buffer = new Uint8Array(65536);
      let text = "";
      while (!_responseComplete(text)) {
        const n = await conn.read(buffer);
        if (n === null) throw new Error("the gateway closed the connection before its answer was complete");
        text += new TextDecoder().decode(buffer.subarray(0, n));
      }
      return performance.now();
    }));
  const latencies: number[] = [];
  const deadline = performance.now() + (Math.max(HEADER_TIMEOUT_S, IDLE_TIMEOUT_S) + 1) * 1000;
  while (performance.now() < deadline) {
    const t0 = performance.now();
    const res = await fetch(`${gatewayUrl}/v1/models`);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`/v1/models: ${res.status}`);
    latencies.push(performance.now() - t0);
  }
  const slowClosed = await Promise.all(slow);
  const idleClosed = await Promise.all(idle);
  const slack = 500;
  return {
    header_timeout_s: HEADER_TIMEOUT_S,
    idle_timeout_s: IDLE_TIMEOUT_S,
    slow_header: {
      count: slowClosed.length,
      closed_after_ms_max: _round(Math.max(...slowClosed)),
      closed_after_ms_min: _round(Math.min(...slowClosed)),
    },
    idle: {
      count: idleClosed.length,
      closed_after_ms_max: _round(Math.max(...idleClosed)),
      closed_after_ms_min: _round(Math.min(...idleClosed)),
    },
    normal_requests: {
      count: latencies.length,
      p50_ms: _round(_percentile(latencies, 50)),
      p99_ms: _round(_percentile(latencies, 99)),
    },
    pass: Math.max(...slowClosed) <= HEADER_TIMEOUT_S * 1000 + slack &&
      Math.max(...idleClosed) <= IDLE_TIMEOUT_S * 1000 + slack && _percentile(latencies, 99) < 100,
  };
}

if (import.meta.main) {
  const neuron = await spawnNeuron({
    models: { tiny: TINY_QWEN3 },
    admission: { max_in_flight: 4, max_queue: 16 },
    testStepDelayMs: STEP_DELAY_MS,
  });
  const gateway = await spawnGateway({
    neurons: [{ name: "bench", endpoint: neuron.url }],
    models: [{ id: "tiny" }],
    poller: { interval_s: 5 },
    connections: { header_timeout_s: HEADER_TIMEOUT_S, idle_timeout_s: IDLE_TIMEOUT_S },
  });
  try {
    await gateway.waitFor(async () => (await gateway.fleet()).nodes[0].healthy);
    const eventLoop = await _eventLoop(neuron.url);
    const oversized = await _oversizedBody(neuron.url, neuron.process.pid);
    const connections = await _connections(gateway.url);
    console.log(JSON.stringify({ event_loop: eventLoop, oversized_body: oversized, connections }, null, 2));
  } finally {
    await gateway.stop();
    await neuron.stop();
  }
}

// Whether `text` holds one whole HTTP/1.1 response: its head and a body of `content-length` bytes, or
// a chunked body up to its last chunk.
function _responseComplete(text: string): boolean {
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) return false;
  const head = text.slice(0, end).toLowerCase();
  const body = text.slice(end + 4);
  const length = /\r\ncontent-length: *(\d+)/.exec(head);
  if (length) return new TextEncoder().encode(body).length >= Number(length[1]);
  if (/\r\ntransfer-encoding: *chunked/.test(head)) return /(^|\r\n)0\r\n\r\n$/.test(body);
  return false;
}
