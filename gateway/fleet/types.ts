/**
 * Plain-data views of the fleet that placement, eviction and routing decide on: a node with
 * its devices and resident models, and the requirement of a model to be placed. The poller
 * builds these from neuron answers; unit tests build them by hand.
 *
 * @module
 */

/** One device of a node: its total and currently free memory in MB. */
export interface DeviceView {
  /** Device index, as used in neuron load requests. */
  index: number;
  /** Total memory (CPU devices: their budget), in MB. */
  totalMb: number;
  /** Free memory now, in MB (already net of loads the gateway has under way there). */
  freeMb: number;
}

/** Residency of a model on a node, as the gateway tracks it. */
export type ResidentStatus = "loaded" | "loading" | "unloading" | "failed";

/** A model resident (or becoming resident) on a node. */
export interface ResidentModel {
  /** Model id as the neuron knows it. */
  id: string;
  /** Residency status. */
  status: ResidentStatus;
  /** Device indices it occupies. */
  devices: number[];
  /** Memory it occupies across those devices, in MB. */
  memoryMb: number;
  /** Requests running or queued on it now (the larger of the gateway's count and the neuron's). */
  inFlight: number;
  /** When a request last used it (epoch ms), or null when never since it was loaded. */
  lastUsedMs: number | null;
  /** When it finished loading (epoch ms), or null when unknown (found loaded at first poll). */
  loadedAtMs: number | null;
  /**
   * Until when it may not be evicted to make room (epoch ms; null: no floor). Absent: its load
   * time plus `min_residency_s`. The scheduler sets it from the thrash policy (`thrash.ts`).
   */
  protectedUntilMs?: number | null;
  /** Its residency class (`residency_priority`): higher classes may displace lower ones. */
  priority: number;
}

/** One neuron as placement sees it. */
export interface NodeView {
  /** Node name from `cortex.toml`. */
  name: string;
  /** Whether it receives traffic. */
  healthy: boolean;
  /** Whether its devices are known (discovery answered at least once). */
  discovered: boolean;
  /** Devices with memory. */
  devices: DeviceView[];
  /** Resident models. */
  residents: ResidentModel[];
}

/** What a model needs to be placed. */
export interface ModelRequirement {
  /** Model id. */
  id: string;
  /** Estimated resident memory in MB (0 when unknown). */
  memoryMb: number;
  /** Devices it spans (tensor parallel size); at least 1. */
  minDevices: number;
  /** Minimum total memory of each device it may use, in MB, or null. */
  minDeviceMemoryMb: number | null;
  /** Node names it may be placed on; empty means anywhere. */
  pinnedOn: string[];
  /** Its residency class. */
  priority: number;
  /** Node names that cannot hold it whatever their memory (e.g. they do not have its files). */
  excludedNodes?: string[];
}

/** How victims are chosen when a node lacks memory. */
export type EvictionStrategy = "lru" | "priority";

/** Eviction settings from `[eviction]` in `cortex.toml`. */
export interface EvictionPolicy {
  /** Victim ordering and eligibility. */
  strategy: EvictionStrategy;
  /** Models loaded less than this many seconds ago are not evicted to make room (0: no floor). */
  minResidencySeconds: number;
}
