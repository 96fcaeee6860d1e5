/**
 * `GET /v1/models`: the catalogue crossed with the fleet's topology. Every model that is
 * loaded, or could be loaded, on some healthy neuron is listed with where it is, the nodes
 * that could hold it, its limits, capabilities and declared cost; aliases mirror their
 * target. Sorted by id. With `all` (`?all=true`, what `cortex models` asks for) the models and
 * aliases that fit nowhere are listed too, each with `unavailable` saying why.
 *
 * @module
 */
import type { ModelList, ModelListEntry, ModelLocation } from "@cortex/core/openai";
import { fitOnNode } from "./eviction.ts";
import type { Fleet } from "./fleet.ts";
import type { ResidencyReader } from "./residency_book.ts";

/** Options of {@linkcode buildModelList}. */
export interface ModelListOptions {
  /** `created` of every entry (unix seconds; the gateway's start). */
  created: number;
  /** Only these ids or aliases (a key's allow-list); empty means all. */
  only?: readonly string[];
  /** Also list models no healthy node can hold now, each with `unavailable` saying why (`?all=true`). */
  all?: boolean;
}

/** Builds the list from the fleet as it is now. */
export function buildModelList(
  fleet: Fleet,
  residency: ResidencyReader,
  options: ModelListOptions,
): ModelList {
  const catalogue = fleet.catalogue;
  const healthy = fleet.healthyNodes();
  const entries = new Map<string, ModelListEntry>();
  const ids = new Set<string>(catalogue.profiles.map((p) => p.id));
  for (const node of healthy) for (const id of node.models.keys()) ids.add(catalogue.publicId(id));

  for (const id of ids) {
    const profile = catalogue.profile(id);
    const neuronId = catalogue.neuronId(id);
    const req = fleet.requirement(id);
    const misfits: string[] = [];
    const feasibleOn = healthy
      .filter((n) => {
        const plan = fitOnNode(
          residency.view(n, catalogue),
          req,
          fleet.policy,
          Date.now(),
        );
        if (!plan.ok && plan.permanent) misfits.push(`${n.name}: ${plan.reason}`);
        return plan.ok || !plan.permanent;
      })
      .map((n) => n.name);
    const locations: ModelLocation[] = [];
    const capabilities = new Set<string>();
    let toolCall = false;
    let reasoning = false;
    let limit = undefined as ModelListEntry["limit"];
    for (const node of healthy) {
      const info = node.models.get(neuronId);
      if (!info) continue;
      const state = residency.get(node.name, neuronId)?.state;
      // A model being drained is on its way out, like one unloading.
      const status = state === "resident"
        ? "loaded"
        : state === "draining"
        ? "unloading"
        : state ?? info.status;
      locations.push({
        node: node.name,
        status,
        memory_mb: info.memory_used_mb ?? info.memory_required_mb ?? profile?.vram_mb ?? null,
      });
      for (const cap of info.capabilities) capabilities.add(cap);
      toolCall ||= info.tool_call;
      reasoning ||= info.reasoning;
      if (info.limit && (!limit || info.limit.context < limit.context)) limit = info.limit;
    }
    const unplaceable = locations.length === 0 && feasibleOn.length === 0;
    if (unplaceable && !options.all) continue;
    if (capabilities.size === 0) { for (const cap of profile?.capabilities ?? []) capabilities.add(cap); }
    limit ??= profile?.limit ?? undefined;
    const entry: ModelListEntry = {
      id,
      object: "model",
      created: options.created,
      owned_by: "cortex",
      loaded: locations.some((l) => l.status === "loaded"),
      feasible_on: feasibleOn,
      locations,
      capabilities: [...capabilities].sort(),
      tool_call: toolCall,
      reasoning,
      ...(limit ? { limit, max_model_len: limit.context, max_output_tokens: limit.output } : {}),
      ...(limit?.input !== undefined ? { max_input_tokens: limit.input } : {}),
      ...(profile?.cost ? { cost: profile.cost } : {}),
      ...(profile?.residency_priority !== undefined
        ? { residency_priority: profile.residency_priority }
        : {}),
      ...(unplaceable
        ? { unavailable: healthy.length === 0 ? "no healthy node" : misfits.join("; ") || "fits no node" }
        : {}),
    };
    entries.set(id, entry);
  }
  for (const [alias, target] of Object.entries(catalogue.aliases)) {
    const entry = entries.get(target);
    if (entry) entries.set(alias, { ...entry, id: alias, alias_of: target });
    else if (options.all) {
      entries.set(alias, {
        id: alias,
        object: "model",
        created: options.created,
        owned_by: "cortex",
        alias_of: target,
        feasible_on: [],
        unavailable: `its target '${target}' is offered by no healthy node`,
      });
    }
  }
  const only = options.only ?? [];
  const data = [...entries.values()]
    .filter((e) =>
      only.length === 0 || only.includes(e.id) || (e.alias_of !== undefined && only.includes(e.alias_of))
    )
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { object: "list", data };
}
