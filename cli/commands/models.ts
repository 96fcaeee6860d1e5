/**
 * `cortex models`: the catalogue as a table — each model with where it is loaded (and in
 * which state), the nodes that could hold it, its context and capabilities — from the
 * gateway's `GET /v1/models`. `--json` prints the list as the gateway returns it.
 *
 * @module
 */
import type { ModelList, ModelListEntry } from "@cortex/core/openai";
import type { Command } from "../command.ts";
import { listOrDash, renderTable } from "../table.ts";
import type { Style } from "../terminal.ts";

function _where(entry: ModelListEntry, style: Style): string {
  const places = (entry.locations ?? []).filter((l) => l.status !== "available").map((l) => {
    if (l.status === "loaded") return style.green(l.node);
    const text = `${l.node} (${l.status})`;
    return l.status === "failed" ? style.red(text) : style.yellow(text);
  });
  return listOrDash(places);
}

function _capabilities(entry: ModelListEntry): string {
  const caps = [...(entry.capabilities ?? [])];
  if (entry.tool_call) caps.push("tools");
  if (entry.reasoning) caps.push("reasoning");
  return listOrDash(caps);
}

/** The models table for a `GET /v1/models` list. */
export function renderModels(list: ModelList, style: Style): string {
  if (list.data.length === 0) {
    return style.dim("no models: no neuron offers one and models.toml lists none that fits a healthy node");
  }
  const rows = list.data.map((entry) => [
    entry.alias_of ? `${entry.id} → ${entry.alias_of}` : entry.id,
    _where(entry, style),
    entry.unavailable ? style.red("nowhere") : listOrDash(entry.feasible_on ?? []),
    entry.limit ? String(entry.limit.context) : "—",
    _capabilities(entry),
  ]);
  const why = list.data.filter((e) => e.unavailable).map((e) => style.dim(`${e.id}: ${e.unavailable}`));
  return [renderTable(["MODEL", "LOADED ON", "FEASIBLE ON", "CONTEXT", "CAPABILITIES"], rows, style), ...why]
    .join("\n");
}

/** `cortex models`. */
export const modelsCommand: Command = {
  name: "models",
  summary: "catalogue table: where each model is loaded, where it fits",
  usage: "models [--json]",
  description:
    "Lists every model the fleet offers or could load (models.toml profiles, neuron models, aliases)\n" +
    "with the nodes holding it, the nodes it fits on, its context length and capabilities; models and\n" +
    "aliases that fit on no node are listed too, with why.",
  flags: {},
  async run(_args, ctx) {
    const list = await ctx.client().getJson<ModelList>("/v1/models?all=true");
    ctx.stdout.line(ctx.json ? JSON.stringify(list, null, 2) : renderModels(list, ctx.stdout.style));
    return 0;
  },
};
