// Private to the scheduler: keep-alive. After every event it asks the idle policy (`idle.ts`)
// which residents stayed idle past their time to live — the last request's `keep_alive`, else
// the profile's `ttl_s`, else `[eviction] ttl_s`; pinned never — and unloads them (reason
// `idle`), each counted in `cortex_idle_unloads_total` and logged. A model that turned busy in
// between is refused by the neuron and stays, its idleness starting over.
import { idleDecision, type IdleResident } from "./idle.ts";
import type { _SchedulerCore } from "./_scheduler_types.ts";
import { _unloadModel } from "./_scheduler_unload.ts";

/** The idle unloads. */
export class _IdleUnloads {
  readonly #core: _SchedulerCore;
  #nextDeadlineMs = Infinity;

  constructor(core: _SchedulerCore) {
    this.#core = core;
  }

  /** The next moment a resident's keep-alive runs out (epoch ms), as of the last sweep. */
  nextWakeMs(): number {
    return this.#nextDeadlineMs;
  }

  /** Unloads what is due now. */
  sweep(): void {
    const core = this.#core;
    const now = core.fx.now();
    const residents: IdleResident[] = [];
    for (const node of core.fleet.nodes) {
      if (!node.healthy) continue;
      for (const record of core.book.onNode(node.name)) {
        if (record.state !== "resident" || record.ours) continue;
        const inFlight = core.book.inFlight(node, record.model);
        if (inFlight > 0) record.seenAtMs = now; // busy through another gateway: not idle
        residents.push({
          node: node.name,
          modelId: record.model,
          inFlight,
          // Found loaded and never used here: idle since seen; else since its last use or load.
          idleSinceMs: Math.max(record.lastUsedMs ?? 0, record.loadedAtMs ?? 0) || record.seenAtMs,
          ttlS: core.ttlS(node.name, record.model),
        });
      }
    }
    const decision = idleDecision(residents, now);
    this.#nextDeadlineMs = decision.nextDeadlineMs;
    for (const due of decision.due) this.#unload(due, now);
  }

  #unload(resident: IdleResident, nowMs: number): void {
    const core = this.#core;
    const record = core.book.get(resident.node, resident.modelId)!;
    record.state = "unloading";
    record.ours = true;
    const model = core.fleet.catalogue.publicId(resident.modelId);
    _unloadModel(core, resident.node, resident.modelId, "idle", (_gone, error, unloaded) => {
      const log = core.options.log;
      if (unloaded) {
        core.options.metrics.idleUnloads.inc({ model, node: resident.node });
        log?.always("info", "idle_unload", {
          model,
          node: resident.node,
          idle_s: Math.round((nowMs - resident.idleSinceMs) / 100) / 10,
          keep_alive_s: resident.ttlS,
        });
      } else if (error.code !== "model_busy" && error.code !== "model_not_found") {
        log?.warn("idle_unload_failed", { model, node: resident.node, error: error.message });
      }
    });
  }
}
