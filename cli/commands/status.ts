/**
 * `cortex status`: the fleet as a table — per node its health, backend, devices, memory
 * used/total, loaded models and requests in flight — from the gateway's `GET /health` and
 * `GET /admin/fleet`. A node the gateway cannot reach is marked `unreachable`, its models shown only
 * as what it last reported. `--json` prints both documents.
 *
 * @module
 */
import { ADMIN_ROUTES, type AdminFleet, type AdminFleetNode, type GatewayHealth } from "@cortex/core/fleet";
import type { Command } from "../command.ts";
import { formatMb, listOrDash, renderTable } from "../table.ts";
import type { Style } from "../terminal.ts";

function _health(node: AdminFleetNode, style: Style): string {
  if (node.draining) return style.yellow("draining");
  if (node.healthy) return style.green("healthy");
  // A poll that failed to connect or answer: what the table shows of it is only what it last said.
  return style.red(node.last_error ? "unreachable" : "unhealthy");
}

function _models(node: AdminFleetNode, style: Style): string {
  if (!node.healthy) {
    const seen = node.models.filter((m) => m.status !== "available").map((m) => m.id);
    return seen.length === 0 ? "—" : style.dim(`last seen: ${seen.join(", ")}`);
  }
  const shown = node.models
    .filter((m) => m.status !== "available")
    .map((m) => {
      if (m.status === "loaded") return m.id;
      const progress = m.progress?.total_bytes
        ? ` ${Math.floor((100 * m.progress.done_bytes) / m.progress.total_bytes)}%`
        : "";
      const text = `${m.id} (${m.status}${progress})`;
      return m.status === "failed" ? style.red(text) : style.yellow(text);
    });
  return listOrDash(shown);
}

/** The status table (and a header line) for a fleet document. */
export function renderStatus(
  gatewayUrl: string,
  health: GatewayHealth,
  fleet: AdminFleet,
  style: Style,
): string {
  const colour = health.status === "ok"
    ? style.green
    : health.status === "impaired"
    ? style.yellow
    : style.red;
  const header = `gateway ${style.bold(gatewayUrl)}: ${colour(health.status)}, ` +
    `${health.nodes.healthy}/${health.nodes.total} node(s) healthy` +
    (fleet.loading.length > 0 ? `, loading ${fleet.loading.join(", ")}` : "");
  const rows = fleet.nodes.map((node) => {
    const total = node.devices.reduce((sum, d) => sum + d.total_mb, 0);
    const used = node.devices.reduce((sum, d) => sum + Math.max(0, d.total_mb - d.free_mb), 0);
    const known = node.healthy && node.devices.length > 0;
    return [
      node.name,
      _health(node, style),
      node.backend ?? "—",
      known ? String(node.devices.length) : "—",
      known ? `${formatMb(used)} / ${formatMb(total)}` : "—",
      _models(node, style),
      node.healthy ? String(node.models.reduce((sum, m) => sum + m.in_flight, 0)) : "—",
    ];
  });
  const table = rows.length === 0
    ? style.dim("no neurons configured ([[neurons]] in cortex.toml)")
    : renderTable(["NODE", "HEALTH", "BACKEND", "DEVICES", "MEMORY", "MODELS", "IN-FLIGHT"], rows, style);
  const errors = fleet.nodes.filter((n) => !n.healthy && n.last_error)
    .map((n) => style.dim(`${n.name} (${n.endpoint}): ${n.last_error}`));
  return [header, table, ...errors].join("\n");
}

/** `cortex status`. */
export const statusCommand: Command = {
  name: "status",
  summary: "fleet table: nodes, health, devices, memory, loaded models",
  usage: "status [--json]",
  description:
    "Shows every neuron the gateway knows with its health, backend, device count, memory used/total,\n" +
    "the models it holds and the requests in flight. Needs an admin key when the gateway has keys.",
  flags: {},
  async run(_args, ctx) {
    const client = ctx.client();
    const [health, fleet] = await Promise.all([
      client.getJson<GatewayHealth>("/health"),
      client.getJson<AdminFleet>(ADMIN_ROUTES.fleet),
    ]);
    if (ctx.json) ctx.stdout.line(JSON.stringify({ gateway: client.baseUrl, health, ...fleet }, null, 2));
    else ctx.stdout.line(renderStatus(client.baseUrl, health, fleet, ctx.stdout.style));
    return 0;
  },
};
