/**
 * `deno task bench:gateway`: the gateway's own overhead. A real neuron (tiny Qwen3 on a CPU
 * device) is called directly and through a real gateway, interleaved request by request:
 * added latency (p50/p99 of the per-pair difference) for non-streamed requests, added
 * time-to-first-token for streamed ones, and requests/s at concurrency 1, 16 and 64. When
 * `nginx` is on PATH, the same figures for an nginx reverse proxy in front of the same
 * neuron, as the floor; and for a bare Deno fetch proxy (`_bare_deno_proxy.ts`), what the runtime
 * alone costs per hop. Prints one JSON document on stdout.
 *
 * Flags: `--requests N` (latency pairs, default 300), `--seconds S` (per throughput run,
 * default 3).
 *
 * @module
 */
import { spawnNeuron } from "../../neuron/testing/spawn_neuron.ts";
import { TINY } from "../acceptance/_fixtures.ts";
import { spawnGateway } from "../testing/spawn_gateway.ts";

interface _Target {
  name: string;
  url: string;
}

const _body = JSON.stringify({
  model: "tiny",
  messages: [{ role: "user", content: "Hi" }],
  max_tokens: 1,
  temperature: 0,
});
const _streamBody = JSON.stringify({
  model: "tiny",
  messages: [{ role: "user", content: "Hi" }],
  max_tokens: 1,
  temperature: 0,
  stream: true,
});

function _arg(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

/** Milliseconds for one non-streamed request (whole body read). */
async function _oneRequest(url: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: _body,
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return performance.now() - t0;
}

/** Milliseconds to the first content chunk of a streamed request (the rest is drained). */
async function _ttft(url: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: _streamBody,
  });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let first = NaN;
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    seen += r.value;
    if (Number.isNaN(first) && /"content":"[^"]/.test(seen)) first = performance.now() - t0;
  }
  if (Number.isNaN(first)) throw new Error(`${url}: no content chunk`);
  return first;
}

function _quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function _round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function _summary(values: number[]): { p50_ms: number; p99_ms: number; mean_ms: number } {
  return {
    p50_ms: _round(_quantile(values, 0.5)),
    p99_ms: _round(_quantile(values, 0.99)),
    mean_ms: _round(values.reduce((a, b) => a + b, 0) / values.length),
  };
}

/** Interleaves direct and proxied calls; returns both distributions and the per-pair difference. */
async function _paired(
  direct: _Target,
  proxy: _Target,
  n: number,
  measure: (url: string) => Promise<number>,
): Promise<Record<string, unknown>> {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < 20; i++) await Promise.all([measure(direct.url), measure(proxy.url)]); // warm-up
  for (let i = 0; i < n; i++) {
    // Alternate the order so drift and caching favour neither side.
    if (i % 2 === 0) {
      a.push(await measure(direct.url));
      b.push(await measure(proxy.url));
    } else {
      b.push(await measure(proxy.url));
      a.push(await measure(direct.url));
    }
  }
  const added = b.map((x, i) => x - a[i]);
  return { direct: _summary(a), [proxy.name]: _summary(b), added: _summary(added) };
}

/** Requests per second with `concurrency` workers for `seconds`. */
async function _throughput(url: string, concurrency: number, seconds: number): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      await _oneRequest(url);
      done++;
    }
  }));
  return Math.round(done / ((performance.now() - started) / 1000));
}

async function _startNginx(upstream: string): Promise<{ url: string; stop: () => Promise<void> } | null> {
  try {
    const probe = await new Deno.Command("nginx", { args: ["-v"], stdout: "null", stderr: "null" }).output();
    if (!probe.success) return null;
  } catch {
    return null; // not installed
  }
  const dir = await Deno.makeTempDir({ prefix: "cortex-bench-nginx-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const target = new URL(upstream);
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir};
  proxy_temp_path ${dir};
  upstream neuron { server ${target.host}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://neuron;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`,
  );
  const child = new Deno.Command("nginx", { args: ["-c", `${dir}/nginx.conf`, "-p", dir], stderr: "null" })
    .spawn();
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await (await fetch(`${url}/health`)).arrayBuffer();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

// Deno refuses /proc reads without unrestricted permissions, so ask ps.
async function _startBareDenoProxy(upstream: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const script = new URL("./_bare_deno_proxy.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", script, upstream],
    stdout: "piped",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const url = ((await reader.read()).value ?? "").trim();
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await reader.cancel().catch(() => {});
    },
  };
}

async function _rssMb(pid: number): Promise<number | null> {
  try {
    const out = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)], stderr: "null" })
      .output();
    const kb = Number(new TextDecoder().decode(out.stdout).trim());
    return out.success && Number.isFinite(kb) && kb > 0 ? Math.round(kb / 102.4) / 10 : null;
  } catch {
    return null;
  }
}

if (import.meta.main) {
  const pairs = _arg("requests", 300);
  const seconds = _arg("seconds", 3);
  const neuron = await spawnNeuron({
    models: { tiny: TINY.f32 },
    admission: { max_in_flight: 16, max_queue: 256 },
  });
  const gateway = await spawnGateway({
    neurons: [{ name: "bench", endpoint: neuron.url }],
    models: [{ id: "tiny" }],
    poller: { interval_s: 5 },
  });
  const nginx = await _startNginx(neuron.url);
  const bare = await _startBareDenoProxy(neuron.url);
  try {
    await gateway.waitFor(async () => (await gateway.fleet()).nodes[0].healthy);
    const direct = { name: "direct", url: neuron.url };
    const proxies: _Target[] = [{ name: "gateway", url: gateway.url }];
    if (nginx) proxies.push({ name: "nginx", url: nginx.url });
    proxies.push({ name: "bare_deno_proxy", url: bare.url });
    const result: Record<string, unknown> = {
      bench: "gateway",
      workload:
        "tiny Qwen3 on one CPU neuron; chat completions, 1 output token; client, gateway and neuron share the host",
      pairs,
      nginx: nginx ? "measured" : "not installed",
    };
    for (const proxy of proxies) {
      result[`${proxy.name}_non_streamed`] = await _paired(direct, proxy, pairs, _oneRequest);
      result[`${proxy.name}_streamed_ttft`] = await _paired(direct, proxy, pairs, _ttft);
    }
    const throughput: Record<string, Record<string, number>> = {};
    for (const concurrency of [1, 16, 64]) {
      const row: Record<string, number> = { direct: await _throughput(neuron.url, concurrency, seconds) };
      for (const proxy of proxies) row[proxy.name] = await _throughput(proxy.url, concurrency, seconds);
      throughput[`concurrency_${concurrency}`] = row;
    }
    result.requests_per_second = throughput;
    result.gateway_rss_mb = await _rssMb(gateway.process.pid);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await nginx?.stop();
    await bare.stop();
    await gateway.stop();
    await neuron.stop();
  }
}
