// Private to the scheduler: a request while it waits for a decision, what the scheduler's parts
// need of it, and its per-node state.
import type { CortexError } from "@cortex/core/errors";
import type { Fleet } from "./fleet.ts";
import type { NodeState } from "./node_state.ts";
import type { ResidencyBook } from "./residency_book.ts";
import type { SchedulerEffects } from "./scheduler_effects.ts";
import type { Grant, SchedulerOptions } from "./scheduler.ts";
import type { SwapBudgets, SwapStreak } from "./thrash.ts";

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
  /** Its keep-alive in seconds, or null (see `TicketRequest.keepAliveS`). */
  keepAliveS: number | null;
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

/** What the jobs need of the scheduler. */
export interface _SchedulerCore {
  readonly fleet: Fleet;
  readonly fx: SchedulerEffects;
  readonly options: SchedulerOptions;
  readonly book: ResidencyBook;
  readonly budgets: SwapBudgets;
  replicas(neuronModelId: string): NodeState[];
  floorMs(node: string): number;
  grant(ticket: _Ticket, node: NodeState, load: Pick<Grant, "loaded" | "loadMs" | "evicted">): void;
  refuseTicket(ticket: _Ticket, error: CortexError): void;
  requeue(ticket: _Ticket, error: CortexError, retryAtMs: number | null): void;
  nodeUnreachable(node: string, message: string): boolean;
  changed(): void;
  slot(node: string): _Slot;
  ttlS(node: string, modelId: string): number;
}

/** Per-node scheduling state. */
export interface _Slot {
  /** Load/unload cycles since the last defragmentation. */
  cycles: number;
  /** Recent swaps (hysteresis). */
  streak: SwapStreak;
  /** When a defrag pass looks again at the residents that were busy, or null. */
  defragRetry: { atMs: number; only: Set<string>; attempt: number } | null;
}
