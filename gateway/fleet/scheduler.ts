/**
 * The fleet scheduler: the one owner of everything that changes in the fleet — each node's
 * health (applied from the poller's answers), the residency of every (node, model), loads
 * (single-flight per model, one at a time per node), evictions, defragmentation, admin loads
 * and unloads, leases on models in use, session homes, and the queue of requests waiting for
 * room. It decides synchronously, on events (a request, a release, a poll, an action's result,
 * a timer), and acts only through {@linkcode SchedulerEffects}; its tests drive it with fake
 * effects (`scheduler_test.ts`, `scheduler_property_test.ts`). Placement and eviction are pure
 * policy it calls (`placement.ts`, `eviction.ts`, `thrash.ts`, `affinity.ts`).
 *
 * Swap-thrash protection: a load that would have to evict a model inside its residency floor
 * waits (while the floor ends within the request's wait bound) or is refused with 503
 * `swap_deferred` and a Retry-After for when it may go; floors double while a node keeps
 * swapping (hysteresis, `thrash.ts`); per-key swap budgets refuse with 429.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import { type AffinityOutcome, chooseReplica } from "./affinity.ts";
import { AffinityTable, DEFAULT_AFFINITY_CAPACITY } from "./affinity_table.ts";
import type { Fleet } from "./fleet.ts";
import type { NodeState, PollAnswers } from "./node_state.ts";
import { reconcile } from "./residency.ts";
import { ResidencyBook, type ResidencyReader } from "./residency_book.ts";
import type { LoadOutcome, Route, RouteOptions } from "./route.ts";
import type { SchedulerEffects } from "./scheduler_effects.ts";
import { residencyFloorMs, SwapBudgets } from "./thrash.ts";
import { _Drains } from "./_scheduler_drains.ts";
import { _IdleUnloads } from "./_scheduler_idle.ts";
import { effectiveTtlS } from "./idle.ts";
import { _Jobs } from "./_scheduler_jobs.ts";
import { _planLoad, type _PlanTarget } from "./_scheduler_plan.ts";
import type { Grant, SchedulerOptions, TicketRequest } from "./scheduler_types.ts";
import type { _SchedulerCore, _Slot, _Ticket } from "./_scheduler_types.ts";

export type { Grant, SchedulerOptions, TicketRequest } from "./scheduler_types.ts";

/** The fleet's one owner. */
export class Scheduler implements _SchedulerCore {
  /** The fleet (nodes, catalogue, policy). */
  readonly fleet: Fleet;
  /** The effects it acts through. */
  readonly fx: SchedulerEffects;
  /** Its settings. */
  readonly options: SchedulerOptions;
  /** The residency records. */
  readonly book: ResidencyBook = new ResidencyBook();
  /** Swap budgets per key. */
  readonly budgets: SwapBudgets;
  readonly #homes: AffinityTable;
  readonly #jobs: _Jobs;
  readonly #drains: _Drains;
  readonly #idle: _IdleUnloads;
  #queue: _Ticket[] = [];
  #nextTicket = 1;
  #draining = false;
  #again = false;
  #armedAt = Infinity;
  #stopped = false;

  /** Binds the scheduler to the fleet and its effects. */
  constructor(fleet: Fleet, fx: SchedulerEffects, options: SchedulerOptions) {
    this.fleet = fleet;
    this.fx = fx;
    this.options = options;
    this.budgets = new SwapBudgets(options.swapBudgets ?? new Map());
    this.#homes = new AffinityTable(options.affinityCapacity ?? DEFAULT_AFFINITY_CAPACITY);
    this.#jobs = new _Jobs(this);
    this.#drains = new _Drains(this);
    this.#idle = new _IdleUnloads(this);
  }

  // ---- reads ------------------------------------------------------------------------------

  /** Residency, read-only. */
  get residency(): ResidencyReader {
    return this.book;
  }

  /** Model ids (public) with a load under way through this gateway. */
  get loading(): string[] {
    return this.#jobs.loadingModels();
  }

  /** Requests waiting in the queue for room now. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Sessions remembered now. */
  get sessions(): number {
    return this.#homes.size;
  }

  /** Load/unload cycles on a node since its last defragmentation. */
  cycles(node: string): number {
    return this.#jobs.slot(node).cycles;
  }

  /**
   * How long a model (neuron id) on a node stays loaded once idle, in seconds (`Infinity`: never
   * unloaded for idleness): the last request's keep-alive, else the profile's `ttl_s`, else
   * `[eviction] ttl_s`; pinned models never.
   */
  ttlS(node: string, modelId: string): number {
    const catalogue = this.fleet.catalogue;
    const profile = catalogue.profile(catalogue.publicId(modelId));
    return effectiveTtlS({
      keepAliveS: this.book.get(node, modelId)?.keepAliveS ?? null,
      profileTtlS: profile?.ttl_s ?? null,
      defaultTtlS: this.options.defaultTtlS ?? null,
      pinned: (profile?.pinned_on.length ?? 0) > 0,
    });
  }

  /** The node's scheduling counters (for the scheduler's parts). */
  slot(node: string): _Slot {
    return this.#jobs.slot(node);
  }

  /** The residency floor a model loaded on the node now would get, in ms. */
  floorMs(node: string): number {
    return residencyFloorMs(this.fleet.policy.minResidencySeconds * 1000, this.#jobs.slot(node).streak);
  }

  /** Deadlines of the requests in the queue (epoch ms), for tests. */
  queuedDeadlines(): number[] {
    return this.#queue.map((t) => t.deadlineMs);
  }

  /** Healthy nodes serving the model now, fewest live requests first (ties: least recently used, then name). */
  replicas(neuronModelId: string): NodeState[] {
    const rec = (n: NodeState) => this.book.get(n.name, neuronModelId);
    return this.fleet.nodes
      .filter((n) => this.book.serves(n, neuronModelId))
      .sort((a, b) =>
        (rec(a)?.leases ?? 0) - (rec(b)?.leases ?? 0) ||
        (rec(a)?.lastUsedMs ?? 0) - (rec(b)?.lastUsedMs ?? 0) ||
        (a.name < b.name ? -1 : 1)
      );
  }

  /**
   * A healthy node that can count tokens for the model without loading it: one serving it
   * (least loaded), else one that lists it (its tokenizer is read from the files it has).
   */
  tokenizerNode(neuronModelId: string): NodeState | null {
    return this.replicas(neuronModelId)[0] ??
      this.fleet.healthyNodes().find((n) => n.models.has(neuronModelId)) ?? null;
  }

  // ---- requests ---------------------------------------------------------------------------

  /**
   * Routes a request: a warm replica at once (session-aware), else a load (joined when one is
   * under way) or a wait in the queue, within `[eviction] max_wait_s`. The route holds an
   * in-flight lease on the model until released.
   */
  route(requested: string, options: RouteOptions = {}): Promise<Route> {
    return this.#promise(
      {
        model: requested,
        avoid: options.avoid,
        session: options.session ?? null,
        keyName: options.keyName ?? null,
        keepAliveS: options.keepAliveS ?? null,
        lease: true,
        maxWaitMs: this.options.maxWaitMs,
      },
      options.signal,
    ).then((g) => ({
      modelId: g.modelId,
      neuronModelId: g.neuronModelId,
      node: g.node,
      coldLoadMs: g.loaded || g.evicted.length > 0 ? Math.max(1, g.waitedMs) : 0,
      evicted: g.evicted,
      release: g.release,
      affinity: g.affinity,
    }));
  }

  /** An admin load: on `node` when given, else where placement says; never waits for room. */
  load(modelId: string, node?: string): Promise<LoadOutcome> {
    return this.#promise({ model: modelId, node, lease: false, maxWaitMs: 0 }).then((g) => ({
      node: g.node,
      neuronModelId: g.neuronModelId,
      loadMs: g.loaded ? g.loadMs : 0,
      evicted: g.evicted,
    }));
  }

  /**
   * An admin unload from every healthy node serving the model (or `node` only): each is routed
   * around at once, its requests get `adminDrainMs` to end, then it is unloaded. Resolves with
   * the nodes unloaded; rejects with 409 `model_busy` when requests were still running.
   */
  unload(modelId: string, node?: string): Promise<string[]> {
    return this.#drains.adminUnload(this.fleet.catalogue.resolve(modelId), node);
  }

  /**
   * Takes a request; `grant` or `refuse` is called exactly once (possibly before this returns).
   * Returns a function that withdraws it while it still waits.
   */
  submit(request: TicketRequest, grant: (g: Grant) => void, refuse: (e: CortexError) => void): () => void {
    const now = this.fx.now();
    const modelId = this.fleet.catalogue.resolve(request.model);
    const ticket: _Ticket = {
      id: this.#nextTicket++,
      requested: request.model,
      modelId,
      neuronId: this.fleet.catalogue.neuronId(modelId),
      node: request.node ?? null,
      avoid: request.avoid ?? [],
      session: request.session ?? null,
      keyName: request.keyName ?? null,
      keepAliveS: request.keepAliveS ?? null,
      lease: request.lease,
      submittedMs: now,
      deadlineMs: now + Math.max(0, request.maxWaitMs),
      retryAtMs: null,
      lastError: null,
      settled: false,
      grant,
      refuse,
    };
    if (this.#stopped) {
      this.#refuse(ticket, _shuttingDown());
    } else if (this.#attempt(ticket) === "wait") {
      this.#queue.push(ticket);
      this.#arm();
    }
    return () => {
      if (ticket.settled) return;
      ticket.settled = true;
      this.#queue = this.#queue.filter((t) => t !== ticket);
      this.#jobs.withdraw(ticket);
    };
  }

  #promise(request: TicketRequest, signal?: AbortSignal): Promise<Grant> {
    return new Promise<Grant>((resolve, reject) => {
      if (signal?.aborted) return reject(_closed());
      const withdraw = this.submit(request, resolve, reject);
      signal?.addEventListener("abort", () => {
        withdraw();
        reject(_closed());
      }, { once: true });
    });
  }

  // One try at serving a ticket: granted, refused, handed to a load, or left to wait.
  #attempt(ticket: _Ticket): "done" | "wait" {
    const fleet = this.fleet;
    if (fleet.nodes.length === 0) {
      return this.#refuse(ticket, _unavailable("no neurons are configured in cortex.toml", null));
    }
    const warm = ticket.node === null
      ? this.replicas(ticket.neuronId).filter((n) => !ticket.avoid.includes(n.name))
      : this.replicas(ticket.neuronId).filter((n) => n.name === ticket.node);
    if (warm.length > 0) return this.#grantWarm(ticket, warm);
    // Admin loads are checked by their route (which also lets `allow_unlisted` hub ids through).
    if (ticket.lease && !fleet.isKnown(ticket.modelId)) return this.#refuse(ticket, this.#notFound(ticket));
    if (ticket.node === null && fleet.healthyNodes().length === 0) {
      return this.#refuse(ticket, _unavailable(`no healthy nodes to serve '${ticket.modelId}'`, 5));
    }
    if (this.#jobs.join(ticket)) return "done";
    const target: _PlanTarget = {
      modelId: ticket.modelId,
      neuronId: ticket.neuronId,
      node: ticket.node,
      excluded: [],
      memoryFloorMb: 0,
      keyName: ticket.keyName,
    };
    const plan = _planLoad(this, target);
    if (plan.kind === "load") {
      this.#jobs.start(target, plan, ticket);
      return "done";
    }
    if (plan.kind === "serve") {
      // A replica this request would rather avoid is still better than a load.
      this.grant(ticket, this.fleet.node(plan.node)!, { loaded: false, loadMs: 0, evicted: [] });
      return "done";
    }
    return plan.kind === "wait"
      ? this.#wait(ticket, plan.error, plan.retryAtMs)
      : this.#refuse(ticket, plan.error);
  }

  #grantWarm(ticket: _Ticket, warm: NodeState[]): "done" {
    let node = warm[0];
    let outcome: AffinityOutcome | null = null;
    if (ticket.session !== null) {
      let home = this.#homes.get(ticket.neuronId, ticket.session) ?? null;
      if (home !== null && !warm.some((n) => n.name === home)) {
        this.#homes.delete(ticket.neuronId, ticket.session);
        home = null;
      }
      const loads = warm.map((n) => ({
        name: n.name,
        load: this.book.get(n.name, ticket.neuronId)?.leases ?? 0,
        bound: n.loadBound(ticket.neuronId),
      }));
      const choice = chooseReplica(loads, home)!;
      node = warm.find((n) => n.name === choice.name)!;
      outcome = choice.outcome;
    }
    this.grant(ticket, node, { loaded: false, loadMs: 0, evicted: [] }, outcome ?? "miss");
    return "done";
  }

  /** Hands a ticket its node (with a lease when it asked for one). */
  grant(
    ticket: _Ticket,
    node: NodeState,
    load: { loaded: boolean; loadMs: number; evicted: string[] },
    outcome: AffinityOutcome = "miss",
  ): void {
    if (ticket.settled) return;
    ticket.settled = true;
    const now = this.fx.now();
    let release = (): void => {};
    const record = this.book.get(node.name, ticket.neuronId);
    if (ticket.lease && record) {
      record.leases++;
      record.lastUsedMs = now;
      record.keepAliveS = ticket.keepAliveS;
      let released = false;
      release = () => {
        if (released) return;
        released = true;
        record.leases = Math.max(0, record.leases - 1);
        record.lastUsedMs = this.fx.now();
        this.changed();
      };
    }
    let affinity: AffinityOutcome | null = null;
    if (ticket.session !== null) {
      this.#homes.set(ticket.neuronId, ticket.session, node.name);
      this.options.metrics.affinity.inc({ outcome });
      affinity = outcome;
    }
    ticket.grant({
      modelId: ticket.modelId,
      neuronModelId: ticket.neuronId,
      node,
      loaded: load.loaded,
      loadMs: load.loadMs,
      evicted: load.evicted,
      waitedMs: now - ticket.submittedMs,
      release,
      affinity,
    });
  }

  /** Refuses a ticket (once). */
  refuseTicket(ticket: _Ticket, error: CortexError): void {
    this.#refuse(ticket, error);
  }

  #refuse(ticket: _Ticket, error: CortexError): "done" {
    if (ticket.settled) return "done";
    ticket.settled = true;
    if (error.code === "swap_deferred" || error.code === "swap_budget_exceeded") {
      this.options.metrics.swapRefusals.inc({
        model: ticket.modelId,
        reason: error.code === "swap_deferred" ? "min_residency" : "swap_budget",
      });
    }
    ticket.refuse(error);
    return "done";
  }

  /** Puts a ticket back in the queue (a load it waited on could not go ahead), or refuses it. */
  requeue(ticket: _Ticket, error: CortexError, retryAtMs: number | null): void {
    if (ticket.settled) return;
    if (this.#wait(ticket, error, retryAtMs) === "wait") this.#queue.push(ticket);
  }

  // Whether a ticket that cannot go ahead now waits (bounded) or is refused now.
  #wait(ticket: _Ticket, error: CortexError, retryAtMs: number | null): "done" | "wait" {
    const now = this.fx.now();
    if (retryAtMs !== null && retryAtMs > ticket.deadlineMs) {
      return this.#refuse(ticket, _withRetryAfter(error, Math.max(1, Math.ceil((retryAtMs - now) / 1000))));
    }
    if (now >= ticket.deadlineMs) return this.#refuse(ticket, error);
    if (this.#queue.length >= MAX_QUEUED && !this.#queue.includes(ticket)) {
      return this.#refuse(ticket, _unavailable(`${MAX_QUEUED} requests are already waiting for room`, 5));
    }
    ticket.retryAtMs = retryAtMs;
    ticket.lastError = error;
    return "wait";
  }

  #notFound(ticket: _Ticket): CortexError {
    const known = this.fleet.knownModels();
    return new CortexError(
      `model '${ticket.requested}' not found` +
        (known.length > 0
          ? `; available: ${known.slice(0, 20).join(", ")}${known.length > 20 ? ", …" : ""}`
          : ""),
      { code: "model_not_found", status: 404, param: "model" },
    );
  }

  // ---- events -------------------------------------------------------------------------------

  /** Applies a poll's answers (`restarted`: the neuron's uptime went back). */
  pollAnswered(name: string, answers: PollAnswers, restarted = false): void {
    const node = this.fleet.node(name);
    if (!node) return;
    const now = this.fx.now();
    const firstPoll = node.lastPollMs === null;
    const became = node.applyPoll(answers, now);
    const slot = this.#jobs.slot(name);
    if (restarted) slot.cycles = 0;
    const ids = new Set([...this.book.modelsOn(name), ...node.models.keys()]);
    for (const id of ids) {
      const next = reconcile(this.book.get(name, id), node.models.get(id), {
        nowMs: now,
        firstPoll,
        floorMs: this.floorMs(name),
      });
      if (next) this.book.put(name, next);
      else this.book.remove(name, id);
    }
    if (became) this.options.onHealthChange?.(node, true, null, "poll");
    this.changed();
  }

  /** Records a failed poll; `unhealthy_after` in a row take the node out of rotation. */
  pollFailed(name: string, message: string): void {
    const node = this.fleet.node(name);
    if (!node) return;
    if (node.recordFailure(message, this.options.unhealthyAfter)) this.#lost(node, message, "poll");
    this.changed();
  }

  /** A call found the node refusing connections: out of rotation at once. True when it was in rotation. */
  nodeUnreachable(name: string, message: string): boolean {
    const node = this.fleet.node(name);
    if (!node) return false;
    const was = node.markUnreachable(message);
    if (was) this.#lost(node, message, "request");
    this.changed();
    return was;
  }

  #lost(node: NodeState, message: string, source: "poll" | "request"): void {
    this.#homes.forgetNode(node.name);
    this.#jobs.nodeLost(node.name);
    this.options.onHealthChange?.(node, false, message, source);
  }

  /** The timer fired: refuses requests past their wait, retries what waited for a moment, re-plans. */
  tick(): void {
    this.#armedAt = Infinity;
    const now = this.fx.now();
    for (const ticket of this.#queue) {
      if (!ticket.settled && now >= ticket.deadlineMs) {
        this.#refuse(ticket, ticket.lastError ?? _unavailable("no room came free in time", 5));
      }
    }
    this.#jobs.tick(now);
    this.changed();
  }

  /** Something changed (a release, a poll, an action's result): waiting requests try again. */
  changed(): void {
    if (this.#stopped) return;
    if (this.#draining) {
      this.#again = true;
      return;
    }
    this.#draining = true;
    try {
      do {
        this.#again = false;
        this.#drains.check();
        const queue = this.#queue;
        this.#queue = [];
        const still: _Ticket[] = [];
        for (const ticket of queue) {
          if (ticket.settled) continue;
          if (this.#attempt(ticket) === "wait") still.push(ticket);
        }
        this.#queue = [...still, ...this.#queue];
        this.#idle.sweep();
      } while (this.#again);
    } finally {
      this.#draining = false;
    }
    this.#arm();
  }

  #arm(): void {
    let at = Math.min(this.#jobs.nextWakeMs(), this.#drains.nextWakeMs(), this.#idle.nextWakeMs());
    for (const t of this.#queue) at = Math.min(at, t.deadlineMs, t.retryAtMs ?? Infinity);
    if (at === this.#armedAt) return;
    this.#armedAt = at;
    if (Number.isFinite(at)) this.fx.sleep(at, () => this.tick());
  }

  /** Refuses every waiting request and stops acting (the gateway is shutting down). */
  stop(): void {
    const waiting = [...this.#queue, ...this.#jobs.waiters()];
    this.#queue = [];
    this.#stopped = true;
    for (const t of waiting) this.#refuse(t, _shuttingDown());
    this.#jobs.stop();
  }
}

/** The most requests that wait in the queue at once. */
export const MAX_QUEUED = 1024;

function _unavailable(message: string, retryAfter: number | null): CortexError {
  return new CortexError(message, { code: "service_unavailable", status: 503, retryAfter });
}

function _shuttingDown(): CortexError {
  return new CortexError("the gateway is shutting down", {
    code: "shutting_down",
    status: 503,
    retryAfter: 5,
  });
}

function _closed(): CortexError {
  return new CortexError("the client closed the request", { code: "client_closed_request", status: 499 });
}

function _withRetryAfter(error: CortexError, seconds: number): CortexError {
  return new CortexError(error.message, {
    code: error.code,
    status: error.status,
    param: error.param,
    retryAfter: seconds,
    extras: error.extras,
  });
}
