import assert from "node:assert/strict";
import { parseCortexConfig } from "@cortex/core/config";
import { GatewayMetrics } from "../metrics/gateway_metrics.ts";
import { ColdLoader } from "./cold_loader.ts";
import { Evictor } from "./evictor.ts";
import { NeuronClient } from "./neuron_client.ts";
import { NodeState } from "./node_state.ts";
import { discovery, fleetOf, health, info } from "./_test_fleet.ts";

Deno.test("cold loader: the load request carries the models.toml profile's quant", async () => {
  const bodies: Record<string, unknown>[] = [];
  const neuron = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const body = await request.json();
    bodies.push(body);
    return Response.json({
      status: "loaded",
      model_id: body.model_id,
      already_loaded: false,
      devices: [0],
      memory_used_mb: 10,
      load_ms: 1,
    });
  });
  try {
    const node = new NodeState(
      "n1",
      new NeuronClient({
        name: "n1",
        endpoint: `http://127.0.0.1:${neuron.addr.port}`,
        token: null,
        timeoutMs: 5000,
      }),
    );
    node.applyPoll(
      {
        discovery: discovery([1000]),
        models: [info("org/m-GGUF"), info("org/plain")],
        health: health([{ total: 1000, free: 1000 }]),
      },
      Date.now(),
    );
    const fleet = fleetOf(
      [node],
      '[[models]]\nid = "org/m-GGUF"\nquant = "q6k"\nvram_mb = 10\n[[models]]\nid = "org/plain"\nvram_mb = 10\n',
    );
    const metrics = new GatewayMetrics(fleet);
    const loader = new ColdLoader(fleet, new Evictor(fleet, metrics), metrics, {
      coldLoad: parseCortexConfig("").cold_load,
      defragAfterCycles: 0,
      refresh: () => Promise.resolve(true),
    });
    await loader.ensure("org/m-GGUF");
    await loader.ensure("org/plain");
    assert.deepEqual(bodies.map((b) => [b.model_id, b.quant]), [["org/m-GGUF", "q6k"], [
      "org/plain",
      undefined,
    ]]);
  } finally {
    await neuron.shutdown();
  }
});
