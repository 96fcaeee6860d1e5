/**
 * Admin routes (an admin key when keys are configured): fleet status, load and unload a
 * model (with `allow_unlisted` in `models.toml`, also a hub id it does not list), and a
 * placement dry-run that says where a model would go and what it would evict, without doing it.
 *
 * @module
 */
import { CortexError, parseWithSchema } from "@cortex/core/errors";
import {
  type AdminFleet,
  type AdminFleetModel,
  type AdminLoadResult,
  type AdminModelRequest,
  AdminModelRequestSchema,
  type AdminPlacement,
  type AdminPlacementNode,
  type AdminPlacementVictim,
  type AdminUnloadResult,
  parseHubModelId,
} from "@cortex/core/fleet";
import { Hono } from "hono";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { fitOnNode } from "../fleet/eviction.ts";
import type { NodeState } from "../fleet/node_state.ts";
import { planPlacement } from "../fleet/placement.ts";
import type { Residency } from "../fleet/residency.ts";
import { readJsonBody, requireModel } from "../proxy/body.ts";
import { authorizeModel } from "../proxy/forward.ts";

/**
 * `GET /admin/fleet`, `POST /admin/load`, `POST /admin/unload`, `GET /admin/placement`. Shapes:
 * `@cortex/core/fleet` (`AdminFleet`, …); errors are thrown, for the app's `onError`.
 */
export function adminRoutes(ctx: GatewayContext): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const limit = ctx.config.gateway.body_limit_mb * 1024 * 1024;
  // The body of a load or unload, for a model the key may use.
  const modelRequest = async (request: Request, keyModels: readonly string[]): Promise<AdminModelRequest> => {
    const { json } = await readJsonBody(request, limit);
    authorizeModel({ ctx, keyModels }, requireModel(json));
    const parsed = parseWithSchema(AdminModelRequestSchema, json);
    if (!parsed.ok) throw parsed.error;
    return parsed.value;
  };

  app.get("/fleet", (c) => c.json(fleetStatus(ctx)));

  app.post("/load", async (c) => {
    const request = await modelRequest(c.req.raw, c.get("keyModels"));
    const id = ctx.fleet.catalogue.resolve(request.model);
    if (!ctx.fleet.isKnown(id) && !_loadableUnlisted(ctx, id)) throw _notFound(id, ctx);
    const started = performance.now();
    const outcome = await ctx.scheduler.load(id, request.node ?? undefined);
    return c.json(
      {
        model: id,
        node: outcome.node.name,
        already_loaded: outcome.loadMs === 0 && outcome.evicted.length === 0,
        load_ms: outcome.loadMs,
        waited_ms: Math.round(performance.now() - started),
        evicted: outcome.evicted,
      } satisfies AdminLoadResult,
    );
  });

  app.post("/unload", async (c) => {
    const request = await modelRequest(c.req.raw, c.get("keyModels"));
    const id = ctx.fleet.catalogue.resolve(request.model);
    const unloaded = await ctx.scheduler.unload(id, request.node ?? undefined);
    return c.json({ model: id, unloaded_from: unloaded } satisfies AdminUnloadResult);
  });

  app.get("/placement", (c) => {
    const requested = c.req.query("model");
    if (!requested) {
      throw new CortexError("query parameter `model` is required", {
        code: "missing_model_field",
        status: 400,
        param: "model",
      });
    }
    return c.json(placementDryRun(ctx, requested));
  });

  return app;
}

/** The fleet status document of `GET /admin/fleet`. */
export function fleetStatus(ctx: GatewayContext): AdminFleet {
  const now = Date.now();
  const catalogue = ctx.fleet.catalogue;
  const residency = ctx.scheduler.residency;
  return {
    strategy: ctx.fleet.policy.strategy,
    min_residency_s: ctx.fleet.policy.minResidencySeconds,
    max_wait_s: ctx.config.eviction.max_wait_s,
    loading: ctx.scheduler.loading,
    queued: ctx.scheduler.queued,
    nodes: ctx.fleet.nodes.map((n) => ({
      name: n.name,
      endpoint: n.client.endpoint,
      healthy: n.healthy,
      draining: n.draining,
      consecutive_poll_failures: n.consecutiveFailures,
      last_poll_ms_ago: n.lastPollMs === null ? null : now - n.lastPollMs,
      last_error: n.lastError,
      hostname: n.discovery?.hostname ?? null,
      backend: [...new Set(n.discovery?.devices.map((d) => d.backend) ?? [])].join(",") || null,
      uptime_s: n.health?.uptime_secs ?? null,
      cycles_since_defrag: ctx.scheduler.cycles(n.name),
      residency_floor_s: Math.round(ctx.scheduler.floorMs(n.name) / 1000),
      devices: n.devices().map((d) => {
        const found = n.discovery?.devices.find((x) => x.index === d.index);
        return { index: d.index, name: found?.name ?? null, total_mb: d.totalMb, free_mb: d.freeMb };
      }),
      models: [...new Set([...n.models.keys(), ...residency.onNode(n.name).map((r) => r.model)])].map(
        (model) => {
          const m = n.models.get(model);
          const r = residency.get(n.name, model);
          const stats = n.health?.models.find((s) => s.id === model);
          const id = catalogue.publicId(model);
          return {
            id,
            status: r ? _status(r) : m?.status ?? "available",
            devices: r && r.devices.length > 0 ? [...r.devices] : m?.devices ?? [],
            memory_mb: r?.memoryMb ?? m?.memory_used_mb ?? m?.memory_required_mb ?? null,
            in_flight: residency.inFlight(n, model),
            gateway_in_flight: r?.leases ?? 0,
            queue_depth: stats?.queue_depth ?? 0,
            decode_tok_s: stats?.tok_s_decode ?? null,
            class: catalogue.priority(id),
            last_used_s_ago: r?.lastUsedMs ? Math.round((now - r.lastUsedMs) / 1000) : null,
            keep_alive_s: _finiteOrNull(ctx.scheduler.ttlS(n.name, model)),
            loaded_s_ago: r?.loadedAtMs ? Math.round((now - r.loadedAtMs) / 1000) : null,
            protected_s: r?.protectedUntilMs && r.protectedUntilMs > now
              ? Math.ceil((r.protectedUntilMs - now) / 1000)
              : 0,
            progress: m?.progress ?? null,
            error: m?.error ?? null,
          };
        },
      ),
    })),
  };
}

/** `GET /admin/placement?model=…`: where the model would go and what would be evicted, without acting. */
export function placementDryRun(ctx: GatewayContext, requested: string): AdminPlacement {
  const fleet = ctx.fleet;
  const id = fleet.catalogue.resolve(requested);
  if (!fleet.isKnown(id) && !_loadableUnlisted(ctx, id)) throw _notFound(id, ctx);
  const neuronId = fleet.catalogue.neuronId(id);
  const req = fleet.requirement(id);
  const replicas = ctx.scheduler.replicas(neuronId);
  const now = Date.now();
  const residency = ctx.scheduler.residency;
  const perNode = fleet.nodes.map((n: NodeState): AdminPlacementNode => {
    const plan = fitOnNode(
      residency.view(n, fleet.catalogue),
      req,
      fleet.policy,
      now,
    );
    return {
      node: n.name,
      healthy: n.healthy && !n.draining,
      ...(plan.ok
        ? {
          fits: true as const,
          devices: plan.devices,
          evict: plan.victims.map((v) => _victim(fleet.catalogue.publicId(v.id), v)),
        }
        : { fits: false as const, permanent: plan.permanent, reason: plan.reason }),
    };
  });
  const base = {
    requested,
    model: id,
    need_mb: req.memoryMb,
    min_devices: req.minDevices,
    class: req.priority,
    strategy: fleet.policy.strategy,
    loaded_on: replicas.map((n) => n.name),
    nodes: perNode,
  };
  if (replicas.length > 0) return { ...base, action: "route", node: replicas[0].name, evict: [] };
  const result = planPlacement(
    fleet.nodes.map((n) => residency.view(n, fleet.catalogue)),
    req,
    fleet.policy,
    now,
  );
  if (!result.ok) {
    const wait = result.refusal.retryAfterS;
    return {
      ...base,
      action: "refuse",
      code: result.refusal.code,
      reason: result.refusal.message,
      retry_after_s: wait,
    };
  }
  return {
    ...base,
    action: "load",
    node: result.fit.node,
    devices: result.fit.devices,
    evict: result.fit.victims.map((v) => _victim(fleet.catalogue.publicId(v.id), v)),
  };
}

function _victim(
  id: string,
  v: { memoryMb: number; priority: number; young: boolean; reason: "lru" | "priority" },
): AdminPlacementVictim {
  return { model: id, memory_mb: v.memoryMb, class: v.priority, young: v.young, reason: v.reason };
}

function _finiteOrNull(seconds: number): number | null {
  return Number.isFinite(seconds) ? seconds : null;
}

// With `allow_unlisted`, an admin may load a hub id that no profile and no neuron names.
function _loadableUnlisted(ctx: GatewayContext, id: string): boolean {
  return ctx.fleet.catalogue.allowUnlisted && parseHubModelId(id) !== null;
}

function _notFound(id: string, ctx: GatewayContext): CortexError {
  const hint = ctx.fleet.catalogue.allowUnlisted
    ? ` (allow_unlisted loads hub ids "[hf:]org/name" only)`
    : parseHubModelId(id) !== null
    ? `; add a [[models]] profile for it to models.toml, or set \`allow_unlisted = true\` at the top of ` +
      "models.toml to let admin keys load hub ids that are not listed"
    : "; add a [[models]] profile for it to models.toml";
  return new CortexError(`model '${id}' not found in models.toml or on any neuron${hint}`, {
    code: "model_not_found",
    status: 404,
    param: "model",
  });
}

// What `/admin/fleet` calls a residency state (`loaded` for resident, as the neurons say it).
function _status(r: Residency): AdminFleetModel["status"] {
  return r.state === "resident" ? "loaded" : r.state;
}
