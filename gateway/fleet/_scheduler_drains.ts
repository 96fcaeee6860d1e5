// Private to the scheduler: admin unloads. Each target is routed around at once (`draining`);
// once its requests have ended it is unloaded, and a drain still busy at its deadline gives up
// (409 `model_busy`) and the model serves again.
import { CortexError } from "@cortex/core/errors";
import type { _SchedulerCore } from "./_scheduler_types.ts";
import { _unloadModel } from "./_scheduler_unload.ts";

interface _AdminUnload {
  left: number;
  unloaded: string[];
  error: CortexError | null;
  resolve: (nodes: string[]) => void;
  reject: (error: CortexError) => void;
}

interface _Drain {
  op: _AdminUnload;
  node: string;
  neuronId: string;
  deadlineMs: number;
  unloading: boolean;
  refreshed: boolean;
}

/** The admin unloads under way. */
export class _Drains {
  readonly #core: _SchedulerCore;
  #drains: _Drain[] = [];

  constructor(core: _SchedulerCore) {
    this.#core = core;
  }

  /** An admin unload: drain every serving node (or `nodeName`), then unload. */
  adminUnload(modelId: string, nodeName: string | undefined): Promise<string[]> {
    const core = this.#core;
    const neuronId = core.fleet.catalogue.neuronId(modelId);
    const targets = core.fleet.nodes.filter((n) =>
      (!nodeName || n.name === nodeName) && n.healthy && core.book.get(n.name, neuronId)?.state === "resident"
    );
    if (targets.length === 0) {
      return Promise.reject(
        new CortexError(
          `model '${modelId}' is not loaded${nodeName ? ` on '${nodeName}'` : " on any healthy node"}`,
          {
            code: "model_not_found",
            status: 404,
            param: "model",
          },
        ),
      );
    }
    return new Promise<string[]>((resolve, reject) => {
      const op: _AdminUnload = { left: targets.length, unloaded: [], error: null, resolve, reject };
      const deadlineMs = core.fx.now() + (core.options.adminDrainMs ?? 500);
      for (const node of targets) {
        const record = core.book.get(node.name, neuronId)!;
        record.state = "draining";
        record.ours = true;
        this.#drains.push({ op, node: node.name, neuronId, deadlineMs, unloading: false, refreshed: false });
      }
      core.changed();
    });
  }

  /** Drains whose model has no requests left are unloaded; drains past their deadline give up. */
  check(): void {
    const core = this.#core;
    const now = core.fx.now();
    for (const drain of [...this.#drains]) {
      if (drain.unloading) continue;
      const node = core.fleet.node(drain.node)!;
      const record = core.book.get(drain.node, drain.neuronId);
      if (!record || record.state !== "draining") {
        this.#drainDone(drain, null);
        continue;
      }
      const busy = core.book.inFlight(node, drain.neuronId);
      if (busy === 0) {
        drain.unloading = true;
        record.state = "unloading";
        _unloadModel(core, drain.node, drain.neuronId, "admin", (gone, error) => {
          if (gone) drain.op.unloaded.push(drain.node);
          this.#drainDone(drain, gone ? null : error);
          core.fx.refresh(drain.node, () => core.changed());
        });
      } else if (record.leases === 0 && !drain.refreshed) {
        // Only the neuron's count, from the last poll, says it is busy: ask it again once.
        drain.refreshed = true;
        core.fx.refresh(drain.node, () => core.changed());
      } else if (now >= drain.deadlineMs) {
        record.state = "resident";
        record.ours = false;
        const id = core.fleet.catalogue.publicId(drain.neuronId);
        this.#drainDone(
          drain,
          new CortexError(
            `'${id}' on '${drain.node}' has ${busy} request${
              busy === 1 ? "" : "s"
            } in flight; not unloading it`,
            { code: "model_busy", status: 409, retryAfter: 5 },
          ),
        );
      }
    }
  }

  #drainDone(drain: _Drain, error: CortexError | null): void {
    this.#drains = this.#drains.filter((d) => d !== drain);
    const op = drain.op;
    op.error ??= error;
    if (--op.left > 0) return;
    if (op.error) op.reject(op.error);
    else op.resolve(op.unloaded);
  }

  /** The earliest drain deadline (epoch ms). */
  nextWakeMs(): number {
    let at = Infinity;
    for (const drain of this.#drains) if (!drain.unloading) at = Math.min(at, drain.deadlineMs);
    return at;
  }
}
