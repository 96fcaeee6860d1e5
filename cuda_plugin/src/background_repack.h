// background_repack.h — weights served from the mapped file while the backend builds its own layouts
// of them between forward passes (Backend::map_weight, repack_part). A load then returns once the
// file's pages are mapped in (what the disk allows) and no longer waits for fresh memory and a
// repack; prefill and decode reach their full speed as each weight's copy takes over. The kernels
// give the same bits from either layout, so a sequence that spans the switch is computed as if
// there were none.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>

#include "backend.h"

namespace cx {

class Model;

/** When a model's weights get the backend's layouts (load_model). */
enum class RepackWhen {
  Background,  // served from the mapping at once, repacked while the device is idle (the default)
  AtLoad,      // repacked before the load returns
  Never,       // served from the mapping for good: no second copy, slower prefill
};

/** Progress of one model's background repack (all of a tensor-parallel model's ranks together),
 * read by cx_model_info from any thread while the device workers write it. */
struct RepackProgress {
  std::atomic<int64_t> deferred_bytes{0};  // weights the loads left to the background
  std::atomic<int64_t> pending_bytes{0};   // of which still served from the mapping
  std::atomic<int64_t> busy_us{0};        // device time spent repacking, summed over ranks
  std::atomic<int64_t> ready_us{0};       // from the load's start until no weight was pending (0 before)
  std::atomic<bool> failed{false};        // stopped on an error; the rest serves from the mapping
};

/** A weight still served from the mapping (its `data`) and how far its copy is built. */
struct PendingRepack {
  Tensor* tensor = nullptr;  // in the model's Weights
  RepackCursor cursor;
};

/** Queues every deferred weight of `model` (Tensor::deferred) for the background, reporting to
 * `progress` (shared with the model's ranks and its runtime record). */
void plan_background_repack(Model& model, std::shared_ptr<RepackProgress> progress);

/** Whether any model in `models` has weights still to repack. */
bool background_repack_pending(const std::map<int32_t, std::unique_ptr<Model>>& models);

/** Repacks about kRepackPartBytes of the first pending weight among `models` (on the device's
 * worker, between jobs); false when none was pending. An error stops that model's background
 * repack (reported in its progress and on stderr); its weights keep serving from the mapping. */
bool repack_some(std::map<int32_t, std::unique_ptr<Model>>& models);

/** Frees the copies a model's unfinished repacks were writing (its destructor). */
void drop_background_repack(Model& model);

}  // namespace cx
