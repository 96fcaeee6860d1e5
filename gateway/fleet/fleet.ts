/**
 * The fleet as the gateway holds it: every configured neuron's {@linkcode NodeState}, the
 * catalogue (replaced whole when `models.toml` is reloaded) and the eviction policy, with the
 * queries that need no residency — which nodes take traffic, whether a model is known at all,
 * and what a model needs to be placed. Which nodes serve a model is the scheduler's to say
 * (`scheduler.ts`).
 *
 * @module
 */
import { parseHubModelId } from "@cortex/core/fleet";
import type { Catalogue } from "./catalogue.ts";
import type { NodeState } from "./node_state.ts";
import type { EvictionPolicy, ModelRequirement } from "./types.ts";

/** All neurons plus the catalogue and policy. */
export class Fleet {
  /** Nodes in `cortex.toml` order. */
  readonly nodes: readonly NodeState[];
  /** `[eviction]`. */
  readonly policy: EvictionPolicy;
  #catalogue: Catalogue;

  /** Groups the nodes. */
  constructor(nodes: readonly NodeState[], catalogue: Catalogue, policy: EvictionPolicy) {
    this.nodes = nodes;
    this.#catalogue = catalogue;
    this.policy = policy;
  }

  /** `models.toml`, as last loaded. */
  get catalogue(): Catalogue {
    return this.#catalogue;
  }

  /**
   * Swaps in a reloaded catalogue. Requests already routed keep the ids they resolved; the
   * next request sees the new profiles and aliases.
   */
  replaceCatalogue(catalogue: Catalogue): void {
    this.#catalogue = catalogue;
  }

  /** A node by name. */
  node(name: string): NodeState | undefined {
    return this.nodes.find((n) => n.name === name);
  }

  /** Nodes that receive traffic now. */
  healthyNodes(): NodeState[] {
    return this.nodes.filter((n) => n.healthy && !n.draining);
  }

  /** Whether a model id is declared in the catalogue or reported by any neuron. */
  isKnown(id: string): boolean {
    const neuronId = this.catalogue.neuronId(id);
    return this.catalogue.profile(id) !== undefined || this.nodes.some((n) => n.models.has(neuronId));
  }

  /**
   * What placing a model takes: memory (the profile's `vram_mb`, else the largest estimate a
   * neuron reports), devices, pinning and class. Nodes that do not list the model are
   * excluded unless its id is a hub id a neuron can fetch (a profile's, or any with
   * `allow_unlisted`); `excluded` adds more.
   */
  requirement(id: string, excluded: readonly string[] = []): ModelRequirement {
    const profile = this.catalogue.profile(id);
    const neuronId = this.catalogue.neuronId(id);
    const estimates = this.nodes
      .map((n) => n.models.get(neuronId))
      .map((m) => m?.memory_required_mb ?? m?.memory_used_mb ?? null)
      .filter((mb): mb is number => mb !== null);
    const fetchable = (profile !== undefined || this.catalogue.allowUnlisted) &&
      parseHubModelId(neuronId) !== null;
    const lacking = fetchable ? [] : this.nodes.filter((n) => !n.models.has(neuronId)).map((n) => n.name);
    return {
      id,
      memoryMb: profile?.vram_mb ?? (estimates.length > 0 ? Math.max(...estimates) : 0),
      minDevices: profile?.min_devices ?? 1,
      minDeviceMemoryMb: profile?.min_device_vram_mb ?? null,
      pinnedOn: profile?.pinned_on ?? [],
      priority: this.catalogue.priority(id),
      excludedNodes: [...new Set([...lacking, ...excluded])],
    };
  }

  /** Ids and aliases a client may ask for, sorted. */
  knownModels(): string[] {
    const ids = new Set<string>(this.catalogue.profiles.map((p) => p.id));
    for (const node of this.nodes) {
      for (const id of node.models.keys()) ids.add(this.catalogue.publicId(id));
    }
    for (const alias of Object.keys(this.catalogue.aliases)) ids.add(alias);
    return [...ids].sort();
  }
}
