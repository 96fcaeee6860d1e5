// Private to the scheduler: a request while it waits for a decision.
import type { CortexError } from "@cortex/core/errors";
import type { Grant } from "./scheduler.ts";

/** One request (or admin load) the scheduler has not answered yet. */
export interface _Ticket {
  /** Arrival order. */
  id: number;
  /** The name asked for. */
  requested: string;
  /** Model id (alias resolved). */
  modelId: string;
  /** Neuron model id. */
  neuronId: string;
  /** Admin loads: the node it must be on, or null. */
  node: string | null;
  /** Nodes not to route to. */
  avoid: readonly string[];
  /** Session key, or null. */
  session: string | null;
  /** API key name, or null. */
  keyName: string | null;
  /** Whether its grant takes an in-flight lease. */
  lease: boolean;
  /** Arrival (epoch ms). */
  submittedMs: number;
  /** The latest it may still be waiting in the queue (epoch ms). */
  deadlineMs: number;
  /** When waiting will have let it in (residency floors), or null when unknown. */
  retryAtMs: number | null;
  /** Why it waits: what it is refused with when its wait runs out. */
  lastError: CortexError | null;
  /** Answered (or withdrawn). */
  settled: boolean;
  /** Answers it with a node. */
  grant: (g: Grant) => void;
  /** Answers it with an error. */
  refuse: (e: CortexError) => void;
}
