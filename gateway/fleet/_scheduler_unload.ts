// Private to the scheduler: one unload of a model whose record it has already marked
// `unloading` (its own); the record, the eviction counters and the node's defrag cycles follow
// the neuron's answer.
import { CortexError } from "@cortex/core/errors";
import type { UnloadReason } from "./scheduler_effects.ts";
import type { _SchedulerCore } from "./_scheduler_types.ts";

/**
 * Unloads `modelId` on `node`; `then(gone, error, unloaded)` once the neuron answered (gone: it
 * is not loaded there now; unloaded: this unload did it).
 */
export function _unloadModel(
  core: _SchedulerCore,
  node: string,
  modelId: string,
  reason: UnloadReason,
  then: (gone: boolean, error: CortexError, unloaded: boolean) => void,
): void {
  core.fx.unload(node, modelId, reason, (outcome) => {
    const gone = outcome.ok || outcome.error.code === "model_not_found";
    const record = core.book.get(node, modelId);
    if (record?.ours && record.state === "unloading") {
      if (gone) core.book.remove(node, modelId);
      else {
        record.state = "resident";
        record.ours = false;
      }
    }
    if (outcome.ok) {
      const labels = { model: core.fleet.catalogue.publicId(modelId), node };
      core.options.metrics.evictions.inc({ ...labels, reason });
      const young = record?.loadedAtMs != null &&
        core.fx.now() - record.loadedAtMs < core.fleet.policy.minResidencySeconds * 1000;
      if (young && (reason === "lru" || reason === "priority")) core.options.metrics.swapThrash.inc(labels);
      if (reason !== "defrag") core.slot(node).cycles++; // a defrag's own reloads do not call for another
    }
    then(gone, outcome.ok ? _none : outcome.error, outcome.ok);
    core.changed();
  });
}

const _none = new CortexError("no error", { code: "internal_error", status: 500 });
