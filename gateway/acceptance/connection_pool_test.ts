// Acceptance: the gateway's connections to a neuron are a bounded keep-alive pool. Fifty
// concurrent clients all get their answers, while the gateway never holds more connections
// to the neuron than `upstream_max_connections` (plus the poller's two calls). The gateway
// reaches the neuron through a plain TCP relay that counts the connections it carries.
import assert from "node:assert/strict";
import { spawnNeuron } from "../../neuron/testing/spawn_neuron.ts";
import { spawnGateway } from "../testing/spawn_gateway.ts";
import { chat, havePlugin, post, TINY } from "./_fixtures.ts";

const CLIENTS = 50;
const CAP = 4;

/** A TCP relay to `port` that counts the gateway's connections: opened in all, and open at once at most. */
function countingRelay(port: number): { port: number; opened: number; peak: number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const stats = {
    port: (listener.addr as Deno.NetAddr).port,
    opened: 0,
    peak: 0,
    close(): void {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
    },
  };
  (async () => {
    for await (const client of listener) {
      stats.opened++;
      conns.add(client);
      stats.peak = Math.max(stats.peak, conns.size);
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port });
      // The gateway holds a connection until it closes its end (the relay reads EOF), not until
      // the neuron's side has closed too: counting to then, a loaded machine's lag counted
      // connections the gateway had already let go.
      const fromGateway = client.readable.pipeTo(upstream.writable).finally(() => conns.delete(client));
      void Promise.allSettled([
        fromGateway,
        upstream.readable.pipeTo(client.writable),
      ]).finally(() => {
        conns.delete(client);
        for (const c of [client, upstream]) {
          try {
            c.close();
          } catch {
            // already closed
          }
        }
      });
    }
  })().catch(() => {});
  return stats;
}

Deno.test({
  name: "acceptance: fifty concurrent clients share a bounded keep-alive pool to the neuron",
  ignore: !havePlugin(),
  async fn() {
    const neuron = await spawnNeuron({
      models: { m: TINY.f32 },
      admission: { max_in_flight: 4, max_queue: 64, max_wait_s: 120 },
    });
    const relay = countingRelay(neuron.port);
    const gateway = await spawnGateway({
      neurons: [{ name: "n1", endpoint: `http://127.0.0.1:${relay.port}` }],
      gateway: { upstream_max_connections: CAP },
    });
    try {
      await gateway.waitFor(async () => (await gateway.fleet()).nodes.every((n) => n.healthy));
      const answers = await Promise.all(
        Array.from({ length: CLIENTS }, async (_, i) => {
          const res = await post(`${gateway.url}/v1/chat/completions`, chat("m", { stream: i % 2 === 0 }));
          const text = await res.text();
          return { status: res.status, text };
        }),
      );
      for (const a of answers) assert.equal(a.status, 200, a.text);
      // The poller's `/models` and `/health` use the pool too, without waiting for a slot, and
      // the pool may finish one connection it started while another came back: CAP + 3. (Before
      // the pool: 50 at once, 50 opened.)
      const seen = `${relay.peak} at once, ${relay.opened} opened in all`;
      assert.ok(relay.peak <= CAP + 3, `the gateway held ${seen} for ${CLIENTS} clients`);
      assert.ok(relay.opened < CLIENTS, `connections are reused: ${seen}`);
    } finally {
      await gateway.stop();
      relay.close();
      await neuron.stop();
    }
  },
});
