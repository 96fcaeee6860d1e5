/**
 * The control API the gateway drives: `GET /version`, `/discovery`, `/health`, `/models`,
 * `/models/{id}/capabilities`, and `POST /models/load`, `/models/unload`. Every answer has
 * its `@cortex/core/fleet` shape; every error is an OpenAI envelope.
 *
 * @module
 */
import { Hono } from "hono";
import {
  fleetError,
  LoadModelRequestSchema,
  type ModelCapabilities,
  type NeuronDiscovery,
  type NeuronHealth,
  type NeuronVersion,
  UnloadModelRequestSchema,
} from "@cortex/core/fleet";
import type { Activation } from "../runtime/activation.ts";
import type { ModelRegistry } from "../runtime/registry.ts";
import { readJsonBody } from "./_http.ts";

/** What the control routes read. */
export interface ControlState {
  /** Models. */
  registry: ModelRegistry;
  /** Default-model activation. */
  activation: Activation;
  /** Static build identity. */
  version: NeuronVersion;
  /** Static host description. */
  discovery: NeuronDiscovery;
  /** `performance.now()` at start. */
  startedAt: number;
  /** True once SIGTERM started the drain. */
  draining: () => boolean;
}

const _MB = 2 ** 20;

/** The control router. */
export function controlRoutes(state: ControlState): Hono {
  const app = new Hono();
  app.get("/version", (c) => c.json(state.version));
  app.get("/discovery", (c) => c.json(state.discovery));
  app.get("/health", (c) => {
    const body: NeuronHealth = {
      status: state.draining() ? "draining" : "ok",
      uptime_secs: Math.floor((performance.now() - state.startedAt) / 1000),
      devices: state.registry.devices().map((d) => ({
        index: d.index,
        memory_total_mb: Math.floor(d.memoryTotalBytes / _MB),
        memory_used_mb: Math.ceil((d.memoryTotalBytes - d.memoryFreeBytes) / _MB),
        memory_free_mb: Math.floor(d.memoryFreeBytes / _MB),
        prefix_cache_mb: Math.round(state.registry.poolBytesOn(d.index) / _MB * 100) / 100,
        utilization_pct: null,
        temp_c: null,
        poisoned: d.poisoned,
      })),
      activation: state.activation.state,
      models: state.registry.loadStats(),
    };
    return c.json(body);
  });
  app.get("/models", async (c) => c.json(await state.registry.list()));
  app.get("/models/:id/capabilities", async (c) => {
    const id = c.req.param("id");
    const known = (await state.registry.list()).find((m) => m.id === id);
    if (!known) throw fleetError("model_not_found", `model '${id}' is not known to this neuron`);
    const body: ModelCapabilities = { capabilities: known.capabilities };
    return c.json(body);
  });
  app.post("/models/load", async (c) => {
    const request = await readJsonBody(c.req.raw, LoadModelRequestSchema);
    return c.json(await state.registry.load(request));
  });
  app.post("/models/unload", async (c) => {
    const request = await readJsonBody(c.req.raw, UnloadModelRequestSchema);
    return c.json(await state.registry.unload(request));
  });
  return app;
}
