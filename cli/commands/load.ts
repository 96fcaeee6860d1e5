/**
 * `cortex load MODEL [--node NAME]`: asks the gateway to load a model (`POST /admin/load`,
 * which places it, evicting if it must) and shows a live progress line — phase (placing,
 * evicting, downloading, loading weights) and elapsed time — from `GET /admin/fleet` until
 * the model is loaded.
 *
 * @module
 */
import {
  ADMIN_ROUTES,
  type AdminFleet,
  type AdminLoadResult,
  type AdminModelRequest,
} from "@cortex/core/fleet";
import { stringFlag } from "../args.ts";
import { CliError } from "../cli_error.ts";
import type { Command } from "../command.ts";
import { ProgressLine } from "../progress_line.ts";
import { listenSignal } from "../signals.ts";
import { formatBytes, formatMs } from "../table.ts";

/** The phase text for `model` in a fleet snapshot (what the progress line shows). */
export function loadPhase(fleet: AdminFleet, model: string, node: string | undefined): string {
  const nodes = fleet.nodes.filter((n) => node === undefined || n.name === node);
  for (const n of nodes) {
    const entry = n.models.find((m) => m.id === model && m.status === "loading");
    if (!entry) continue;
    const p = entry.progress;
    if (p?.phase === "downloading") {
      const total = p.total_bytes ? `/${formatBytes(p.total_bytes)}` : "";
      const files = p.files_total ? ` (${p.files_done}/${p.files_total} files)` : "";
      return `downloading ${model} on ${n.name}: ${formatBytes(p.done_bytes)}${total}${files}`;
    }
    const percent = p?.total_bytes ? ` ${Math.floor((100 * p.done_bytes) / p.total_bytes)}%` : "";
    return `loading ${model} on ${n.name}: weights to devices${percent}`;
  }
  for (const n of nodes) {
    const leaving = n.models.filter((m) => m.status === "unloading").map((m) => m.id);
    if (leaving.length > 0) return `evicting ${leaving.join(", ")} on ${n.name} to make room for ${model}`;
  }
  if (fleet.loading.includes(model)) return `placing ${model}${node ? ` on ${node}` : ""}`;
  return `requesting ${model}${node ? ` on ${node}` : ""}`;
}

/** `cortex load`. */
export const loadCommand: Command = {
  name: "load",
  summary: "load a model (placing and evicting as needed), with live progress",
  usage: "load MODEL [--node NAME] [--json]",
  description:
    "Loads MODEL on the node the gateway picks (or on --node), evicting idle models if it must, and\n" +
    "shows the phase and elapsed time until it is loaded. Ctrl-C stops waiting (the load goes on).\n" +
    "Needs an admin key when the gateway has keys.",
  flags: {
    node: { type: "string", short: "n", value: "NAME", description: "load on this node" },
  },
  async run(args, ctx) {
    const [model, ...extra] = args.positionals;
    if (!model || extra.length > 0) {
      throw new CliError(
        "usage",
        "usage: cortex load MODEL [--node NAME]",
        "`cortex models` lists the models",
      );
    }
    const node = stringFlag(args, "node");
    const client = ctx.client();
    // Fails fast, before any progress is shown, when the gateway is unreachable or refuses the key.
    const first = await client.getJson<AdminFleet>(ADMIN_ROUTES.fleet);
    const line = new ProgressLine(ctx.stderr);
    const request = new AbortController();
    let interrupted = false;
    const removeInterrupt = listenSignal("SIGINT", () => {
      interrupted = true;
      request.abort();
    });
    let polling = true;
    const poll = (async () => {
      while (polling) {
        try {
          const fleet = await client.getJson<AdminFleet>(ADMIN_ROUTES.fleet, AbortSignal.timeout(5_000));
          if (polling) line.set(loadPhase(fleet, model, node));
        } catch {
          // a missed snapshot only delays the next update
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();
    line.set(loadPhase(first, model, node));
    try {
      const result = await client.postJson<AdminLoadResult>(
        ADMIN_ROUTES.load,
        { model, ...(node ? { node } : {}) } satisfies AdminModelRequest,
        request.signal,
      );
      polling = false;
      line.clear();
      if (ctx.json) {
        ctx.stdout.line(JSON.stringify(result, null, 2));
        return 0;
      }
      const s = ctx.stdout.style;
      const evicted = result.evicted.length > 0 ? `, evicted ${result.evicted.join(", ")}` : "";
      ctx.stdout.line(
        result.already_loaded
          ? `${s.green("✓")} ${s.bold(result.model)} is already loaded on ${result.node}`
          : `${s.green("✓")} loaded ${s.bold(result.model)} on ${result.node} in ${
            formatMs(result.load_ms)
          }${evicted}`,
      );
      return 0;
    } catch (error) {
      polling = false;
      if (interrupted) {
        line.finish(
          ctx.stderr.style.yellow(`stopped waiting for ${model}; the gateway may still be loading it`),
        );
        return 130;
      }
      line.clear();
      throw error;
    } finally {
      removeInterrupt();
      await poll;
    }
  },
};
