// Private to the scheduler: the loads and unloads it has under way. A flight is one model's
// load (single-flight: requests for the model join it); it runs as jobs, one node lock at a
// time — refresh the node, re-plan on fresh numbers, unload the victims, load — and re-plans
// on failures a retry may cure. Also the defragmentation passes. Every action goes through the
// effects; every answer comes back as an event.
import { type ColdLoadSection, coldLoadTimeoutMs } from "@cortex/core/config";
import { CortexError } from "@cortex/core/errors";
import type { LoadModelRequest, LoadModelResult } from "@cortex/core/fleet";
import type { NodeState } from "./node_state.ts";
import { fitOnNode, type Victim } from "./eviction.ts";
import { newResidency } from "./residency.ts";
import type { Outcome } from "./scheduler_effects.ts";
import { afterSwap, NO_STREAK } from "./thrash.ts";
import { _overBudget, type _Plan, _planLoad, type _PlanTarget, _requirement } from "./_scheduler_plan.ts";
import type { _SchedulerCore, _Slot, _Ticket } from "./_scheduler_types.ts";
import { _unloadModel } from "./_scheduler_unload.ts";

interface _Flight {
  key: string;
  target: _PlanTarget;
  waiters: _Ticket[];
  attempts: number;
  lastError: CortexError | null;
  evicted: string[];
  kind: "load" | "reload";
}

interface _Job {
  flight: _Flight;
  node: string;
  live: boolean;
  joining: boolean;
  devices: number[] | null;
  memoryMb: number;
  unloadsLeft: number;
  gone: Victim[];
  unloadError: CortexError | null;
  startedMs: number;
}

interface _Lock {
  holder: _Job | null;
  waiting: _Job[];
}

/** How many times a defrag pass looks again (once a second) for residents that were busy. */
const DEFRAG_RETRIES = 60;

/** The scheduler's loads, unloads and defragmentation. */
export class _Jobs {
  readonly #core: _SchedulerCore;
  readonly #flights = new Map<string, _Flight>();
  readonly #slots = new Map<string, _Slot>();
  readonly #locks = new Map<string, _Lock>();
  #stopped = false;

  constructor(core: _SchedulerCore) {
    this.#core = core;
  }

  slot(node: string): _Slot {
    let slot = this.#slots.get(node);
    if (!slot) {
      slot = { cycles: 0, streak: NO_STREAK, defragRetry: null };
      this.#slots.set(node, slot);
    }
    return slot;
  }

  // The node's lock: the job holding it and those waiting, in order.
  #lockOf(node: string): _Lock {
    let lock = this.#locks.get(node);
    if (!lock) this.#locks.set(node, lock = { holder: null, waiting: [] });
    return lock;
  }

  loadingModels(): string[] {
    return [...new Set([...this.#flights.values()].map((f) => f.target.modelId))];
  }

  waiters(): _Ticket[] {
    return [...this.#flights.values()].flatMap((f) => f.waiters);
  }

  // ---- flights ------------------------------------------------------------------------------

  /** Adds the ticket to a load of its model under way; false when there is none. */
  join(ticket: _Ticket): boolean {
    const flight = this.#flights.get(_key(ticket.modelId, ticket.node));
    if (!flight) return false;
    flight.waiters.push(ticket);
    return true;
  }

  /** Takes a ticket out of the load it waits on. */
  withdraw(ticket: _Ticket): void {
    for (const flight of this.#flights.values()) {
      flight.waiters = flight.waiters.filter((t) => t !== ticket);
    }
  }

  /** Starts a load for the ticket where the plan says. */
  start(target: _PlanTarget, plan: Extract<_Plan, { kind: "load" }>, ticket: _Ticket): void {
    const flight: _Flight = {
      key: _key(target.modelId, target.node),
      target,
      waiters: [ticket],
      attempts: 0,
      lastError: null,
      evicted: [],
      kind: "load",
    };
    this.#flights.set(flight.key, flight);
    this.#launch(flight, plan.node, plan.joining);
  }

  #launch(flight: _Flight, node: string, joining: boolean): void {
    this.#lockOf(node).waiting.push(_newJob(flight, node, { joining }));
    this.#pump(node);
  }

  #pump(node: string): void {
    const lock = this.#lockOf(node);
    if (lock.holder !== null || this.#stopped) return;
    const job = lock.waiting.shift();
    if (!job) return;
    lock.holder = job;
    this.#core.fx.refresh(node, () => {
      if (!job.live || this.#stopped) return this.#unlock(job);
      if (job.flight.kind === "reload") this.#reloadRefreshed(job);
      else this.#refreshed(job);
      this.#core.changed();
    });
  }

  // Frees the node for its next job. A job abandoned with its node keeps the lock until the
  // action it has under way answers, so that one node never runs two loads at once.
  #unlock(job: _Job): void {
    const lock = this.#lockOf(job.node);
    job.live = false;
    if (lock.holder !== job) return;
    lock.holder = null;
    this.#pump(job.node);
  }

  // The node's numbers are fresh: plan on them, unload what must go, then load.
  #refreshed(job: _Job): void {
    const core = this.#core;
    const target = job.flight.target;
    const node = core.fleet.node(job.node)!;
    if (!node.healthy || node.draining) return this.#retry(job);
    if (core.book.serves(node, target.neuronId)) {
      this.#unlock(job);
      return this.#finish(job.flight, node, false, 0);
    }
    const record = core.book.get(node.name, target.neuronId);
    if (record && record.state !== "loading") return this.#retry(job);
    job.joining = record?.state === "loading" && !record.ours;
    const req = _requirement(core, target);
    job.memoryMb = req.memoryMb;
    let victims: Victim[] = [];
    if (!job.joining) {
      const fit = fitOnNode(
        core.book.view(node, core.fleet.catalogue),
        target.node === null ? req : { ...req, pinnedOn: [], excludedNodes: [] },
        core.fleet.policy,
        core.fx.now(),
      );
      if (!fit.ok) return this.#retry(job);
      const overBudget = _overBudget(core, target, fit.victims.map((v) => v.id), core.fx.now());
      if (overBudget) {
        this.#unlock(job);
        return this.#fail(job.flight, overBudget);
      }
      // The swap is committed here, so that loads planned at the same time cannot both spend the last one.
      if (fit.victims.length > 0) core.budgets.record(target.keyName, core.fx.now());
      job.devices = fit.devices;
      victims = fit.victims;
    }
    if (victims.length === 0) return this.#load(job);
    job.unloadsLeft = victims.length;
    for (const victim of victims) {
      const resident = core.book.get(node.name, victim.id)!;
      resident.state = "unloading";
      resident.ours = true;
      _unloadModel(this.#core, job.node, victim.id, victim.reason, (gone, error) => {
        if (gone) job.gone.push(victim);
        else job.unloadError ??= error;
        if (--job.unloadsLeft > 0) return;
        if (!job.live) return this.#unlock(job);
        this.#evicted(job);
      });
    }
  }

  // Every victim's unload answered: on to the load, or re-plan when one stayed.
  #evicted(job: _Job): void {
    const core = this.#core;
    if (job.gone.length > 0) {
      const now = core.fx.now();
      const slot = this.slot(job.node);
      slot.streak = afterSwap(slot.streak, core.fleet.policy.minResidencySeconds * 1000, now);
      job.flight.evicted.push(...job.gone.map((v) => core.fleet.catalogue.publicId(v.id)));
    }
    if (job.unloadError) {
      job.flight.lastError = job.unloadError;
      return this.#retry(job);
    }
    this.#load(job);
  }

  #load(job: _Job): void {
    const core = this.#core;
    const target = job.flight.target;
    let record = core.book.get(job.node, target.neuronId);
    if (!record) {
      core.book.put(job.node, record = newResidency(target.neuronId, "loading", true, core.fx.now()));
    }
    record.state = "loading";
    record.ours = true;
    if (job.devices) record.devices = [...job.devices];
    if (job.memoryMb > 0) record.memoryMb = job.memoryMb;
    const profile = core.fleet.catalogue.profile(target.modelId);
    // Nothing known about an unlisted model's size: the neuron estimates it and picks devices.
    const neuronPlaces = profile === undefined && job.memoryMb === 0;
    const request: LoadModelRequest = {
      model_id: target.neuronId,
      ...(job.devices && !job.joining && !neuronPlaces ? { devices: job.devices } : {}),
      ...(profile?.quant ? { quant: profile.quant } : {}),
    };
    this.#loadOn(job, request, coldLoadTimeoutMs(core.options.coldLoad, job.memoryMb));
  }

  #loadOn(job: _Job, request: LoadModelRequest, timeoutMs: number): void {
    const core = this.#core;
    job.startedMs = core.fx.now();
    core.fx.load(job.node, request, timeoutMs, (outcome) => {
      this.#loaded(job, outcome);
      core.changed();
    });
  }

  // A load answered: the record follows whatever the job's fate; the waiters only while it is live.
  #loaded(job: _Job, outcome: Outcome<LoadModelResult>): void {
    const core = this.#core;
    const target = job.flight.target;
    const now = core.fx.now();
    const labels = { model: target.modelId, node: job.node };
    const seconds = (now - job.startedMs) / 1000;
    const record = core.book.get(job.node, target.neuronId);
    if (outcome.ok) {
      const loaded = record ?? newResidency(target.neuronId, "resident", false, now);
      if (!record) core.book.put(job.node, loaded);
      loaded.state = "resident";
      loaded.ours = false;
      loaded.devices = [...outcome.value.devices];
      loaded.memoryMb = outcome.value.memory_used_mb ?? loaded.memoryMb;
      loaded.loadedAtMs = now;
      loaded.protectedUntilMs = now + core.floorMs(job.node);
      core.options.metrics.loadDuration.observe({ ...labels, outcome: "loaded" }, seconds);
    } else {
      if (record?.ours && record.state === "loading") core.book.remove(job.node, target.neuronId);
      core.options.metrics.loadDuration.observe({ ...labels, outcome: "failed" }, seconds);
    }
    if (!this.#stopped) core.fx.refresh(job.node, () => core.changed());
    if (!job.live) return this.#unlock(job);
    this.#unlock(job);
    const node = core.fleet.node(job.node)!;
    if (outcome.ok) {
      const fresh = !outcome.value.already_loaded;
      this.#finish(job.flight, node, fresh, fresh ? Math.round(now - job.startedMs) : 0);
      if (job.flight.kind === "load") this.#maybeDefrag(job.node);
    } else if (job.flight.kind === "reload") {
      this.#dissolve(job.flight, outcome.error, null);
    } else {
      this.#loadFailed(job, outcome.error);
    }
  }

  // The neuron refused the load: exclude the node, learn the memory it needs, or give up.
  #loadFailed(job: _Job, error: CortexError): void {
    const target = job.flight.target;
    job.flight.lastError = error;
    if (error.code === "model_not_found" || error.code === "bad_model_folder") target.excluded.push(job.node);
    else if (error.code === "upstream_connection_error") {
      this.#core.nodeUnreachable(job.node, error.message);
      target.excluded.push(job.node);
    } else if (error.code === "insufficient_memory" && typeof error.extras.required_mb === "number") {
      const req = _requirement(this.#core, target);
      target.memoryFloorMb = Math.max(
        target.memoryFloorMb + 1,
        error.extras.required_mb * Math.max(1, req.minDevices),
      );
    } else if (error.code !== "model_busy") {
      return this.#fail(job.flight, _loadFailed(target.modelId, job.node, error));
    }
    if (target.node !== null && target.excluded.includes(target.node)) {
      return this.#fail(job.flight, _loadFailed(target.modelId, job.node, error));
    }
    this.#replan(job.flight);
  }

  #retry(job: _Job): void {
    this.#unlock(job);
    this.#replan(job.flight);
  }

  #replan(flight: _Flight): void {
    const core = this.#core;
    if (this.#flights.get(flight.key) !== flight) return;
    flight.attempts++;
    if (flight.attempts > core.fleet.nodes.length + 3) {
      return this.#fail(
        flight,
        flight.lastError ??
          new CortexError(`could not load '${flight.target.modelId}'`, {
            code: "model_load_failed",
            status: 503,
          }),
      );
    }
    const plan = _planLoad(core, flight.target);
    switch (plan.kind) {
      case "serve":
        return this.#finish(flight, core.fleet.node(plan.node)!, false, 0);
      case "load":
        return this.#launch(flight, plan.node, plan.joining);
      case "wait":
        return this.#dissolve(flight, plan.error, plan.retryAtMs);
      case "refuse":
        return this.#fail(flight, plan.error);
    }
  }

  #finish(flight: _Flight, node: NodeState, loaded: boolean, loadMs: number): void {
    this.#forget(flight);
    for (const ticket of flight.waiters) {
      this.#core.grant(ticket, node, { loaded, loadMs, evicted: flight.evicted });
    }
  }

  #fail(flight: _Flight, error: CortexError): void {
    this.#forget(flight);
    for (const ticket of flight.waiters) this.#core.refuseTicket(ticket, error);
  }

  // The load cannot go ahead now: its requests wait in the queue again (or are refused).
  #dissolve(flight: _Flight, error: CortexError, retryAtMs: number | null): void {
    this.#forget(flight);
    for (const ticket of flight.waiters) this.#core.requeue(ticket, error, retryAtMs);
  }

  #forget(flight: _Flight): void {
    if (this.#flights.get(flight.key) === flight) this.#flights.delete(flight.key);
  }

  // ---- defragmentation ------------------------------------------------------------------------

  #maybeDefrag(node: string): void {
    const threshold = this.#core.options.defragAfterCycles;
    const slot = this.slot(node);
    if (threshold <= 0 || slot.cycles < threshold) return;
    slot.cycles = 0;
    this.#core.options.metrics.defrags.inc({ node });
    this.#defragPass(node, null, 0);
  }

  // Release and reload every idle resident on the node, one at a time, on the same devices; busy
  // residents are looked at again every second (up to a minute) until they are idle.
  #defragPass(name: string, only: ReadonlySet<string> | null, attempt: number): void {
    const core = this.#core;
    const node = core.fleet.node(name);
    if (!node?.healthy) return;
    const slot = this.slot(name);
    const residents = core.book.onNode(name).filter((r) =>
      r.state === "resident" && (!only || only.has(r.model))
    );
    const busy = residents.filter((r) => core.book.inFlight(node, r.model) > 0);
    slot.defragRetry = busy.length > 0 && attempt < DEFRAG_RETRIES
      ? { atMs: core.fx.now() + 1000, only: new Set(busy.map((r) => r.model)), attempt: attempt + 1 }
      : null;
    for (const resident of residents) {
      if (busy.includes(resident)) continue;
      const modelId = core.fleet.catalogue.publicId(resident.model);
      const key = _key(modelId, null);
      if (this.#flights.has(key)) continue;
      const flight: _Flight = {
        key,
        target: {
          modelId,
          neuronId: resident.model,
          node: null,
          excluded: [],
          memoryFloorMb: 0,
          keyName: null,
        },
        waiters: [],
        attempts: 0,
        lastError: null,
        evicted: [],
        kind: "reload",
      };
      this.#flights.set(key, flight);
      const job = _newJob(flight, name, { devices: [...resident.devices], memoryMb: resident.memoryMb ?? 0 });
      this.#lockOf(name).waiting.push(job);
    }
    this.#pump(name);
  }

  #reloadRefreshed(job: _Job): void {
    const core = this.#core;
    const target = job.flight.target;
    const node = core.fleet.node(job.node)!;
    const record = core.book.get(job.node, target.neuronId);
    if (!node.healthy || record?.state !== "resident" || core.book.inFlight(node, target.neuronId) > 0) {
      this.#unlock(job);
      return this.#dissolve(job.flight, _busy(target.modelId), null);
    }
    record.state = "unloading";
    record.ours = true;
    _unloadModel(this.#core, job.node, target.neuronId, "defrag", (gone, error) => {
      if (!job.live) return this.#unlock(job);
      if (!gone) {
        this.#unlock(job);
        return this.#dissolve(job.flight, error, null);
      }
      const loading = newResidency(target.neuronId, "loading", true, core.fx.now());
      loading.devices = [...(job.devices ?? [])];
      loading.memoryMb = job.memoryMb || null;
      core.book.put(job.node, loading);
      const quant = core.fleet.catalogue.profile(target.modelId)?.quant;
      this.#loadOn(
        job,
        {
          model_id: target.neuronId,
          ...(job.devices && job.devices.length > 0 ? { devices: job.devices } : {}),
          ...(quant ? { quant } : {}), // a defrag reload keeps the profile's quantization
        },
        coldLoadTimeoutMs(core.options.coldLoad as ColdLoadSection, job.memoryMb),
      );
    });
  }

  // ---- time and failures ----------------------------------------------------------------------

  /** The earliest moment the jobs need a look (epoch ms). */
  nextWakeMs(): number {
    let at = Infinity;
    for (const slot of this.#slots.values()) at = Math.min(at, slot.defragRetry?.atMs ?? Infinity);
    return at;
  }

  /** Runs what was due by `nowMs`. */
  tick(nowMs: number): void {
    for (const [name, slot] of this.#slots) {
      const retry = slot.defragRetry;
      if (retry && retry.atMs <= nowMs) {
        slot.defragRetry = null;
        this.#defragPass(name, retry.only, retry.attempt);
      }
    }
  }

  /**
   * The node went out of rotation: its jobs are abandoned and their loads planned again (the
   * one under way keeps the node's lock until its action answers).
   */
  nodeLost(name: string): void {
    const lock = this.#lockOf(name);
    // Only live jobs speak for their flights (one abandoned earlier may still hold the lock).
    const jobs = [lock.holder, ...lock.waiting].filter((j): j is _Job => j !== null && j.live);
    lock.waiting = [];
    this.slot(name).defragRetry = null;
    for (const job of jobs) job.live = false;
    for (const job of jobs) {
      if (job.flight.kind === "reload") this.#dissolve(job.flight, _busy(job.flight.target.modelId), null);
      else this.#replan(job.flight);
    }
  }

  /** Stops starting anything (shutdown). */
  stop(): void {
    this.#stopped = true;
    this.#flights.clear();
  }
}

function _newJob(flight: _Flight, node: string, over: Partial<_Job>): _Job {
  return {
    flight,
    node,
    live: true,
    joining: false,
    devices: null,
    memoryMb: 0,
    unloadsLeft: 0,
    gone: [],
    unloadError: null,
    startedMs: 0,
    ...over,
  };
}

function _key(modelId: string, node: string | null): string {
  return node === null ? modelId : `${modelId}\u0000${node}`;
}

function _busy(modelId: string): CortexError {
  return new CortexError(`'${modelId}' is being reloaded; try again shortly`, {
    code: "service_unavailable",
    status: 503,
    retryAfter: 2,
  });
}

function _loadFailed(id: string, node: string, cause: CortexError): CortexError {
  if (cause.code === "upstream_timeout") {
    return new CortexError(`loading '${id}' on '${node}' did not finish in time: ${cause.message}`, {
      code: "model_load_timeout",
      status: 504,
      retryAfter: 10,
      cause,
    });
  }
  const status = cause.status === 507 || cause.status === 409 || cause.status === 503 ? 503 : 502;
  return new CortexError(`loading '${id}' on '${node}' failed: ${cause.message}`, {
    code: cause.code === "insufficient_memory" ? "insufficient_memory" : "model_load_failed",
    status,
    retryAfter: status === 503 ? (cause.retryAfter ?? 5) : null,
    extras: cause.extras,
    cause,
  });
}
