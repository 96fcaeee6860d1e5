/**
 * The dashboard's one JSON document (`GET /ui/state`), polled every 2 s by the page: the
 * fleet as `GET /admin/fleet` shows it, the catalogue's model ids (so models placed nowhere
 * can be loaded), the recent requests, and the 10-second samples of tok/s and TTFT.
 *
 * @module
 */
import type { AdminFleet, AdminFleetNode } from "@cortex/core/fleet";
import type { GatewayContext } from "../context.ts";
import type { ActivitySample, RecentRequest } from "../metrics/activity.ts";
import { fleetStatus } from "../routes/admin.ts";

/** What `GET /ui/state` answers. */
export interface DashboardState {
  /** Whether the caller's key may load and unload (the page shows the buttons then). */
  admin: boolean;
  /** `GET /admin/fleet`'s document; node endpoints only for admins. */
  fleet: Omit<AdminFleet, "nodes"> & { nodes: (Omit<AdminFleetNode, "endpoint"> & { endpoint?: string })[] };
  /** Model ids declared in `models.toml`, in file order. */
  catalogue: string[];
  /** The last requests answered, newest first. */
  recent: RecentRequest[];
  /** Per-interval samples, oldest first. */
  series: { interval_s: number; samples: ActivitySample[] };
}

/** Builds the document for a caller (`admin`: whether its key is an admin key). */
export function dashboardState(ctx: GatewayContext, admin: boolean): DashboardState {
  const all = fleetStatus(ctx);
  const fleet = admin ? all : { ...all, nodes: all.nodes.map(({ endpoint: _endpoint, ...rest }) => rest) };
  const activity = ctx.metrics.activity;
  return {
    admin,
    fleet,
    catalogue: ctx.fleet.catalogue.profiles.map((p) => p.id),
    recent: activity.recent(),
    series: { interval_s: activity.intervalSeconds, samples: activity.series() },
  };
}
