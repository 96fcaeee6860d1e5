// background_repack.cpp — the device worker's idle work: a part of one pending weight's copy at a
// time, so that a job arriving meanwhile waits for one part (a few milliseconds), not for the model.
#include "background_repack.h"

#include <chrono>
#include <cstdio>
#include <new>

#include "error.h"
#include "model.h"
#include "safetensors.h"

namespace cx {
namespace {

constexpr size_t kRepackPartBytes = size_t{16} << 20;  // of a weight's copy per call of repack_some

int64_t micros_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
}

// The last pending byte of all ranks marks the model ready.
void finish_bytes(Model& model, int64_t bytes) {
  RepackProgress& progress = *model.repack_progress;
  if (progress.pending_bytes.fetch_sub(bytes) == bytes) progress.ready_us = micros_since(model.load_start);
}

void stop(Model& model, const std::string& reason) {
  std::fprintf(stderr, "cortex: background repack of a %s model stopped (%s); its remaining weights serve from the "
               "mapped file\n", model.config.architecture_name.c_str(), reason.c_str());
  model.repack_progress->failed = true;
  int64_t left = 0;
  for (size_t i = model.next_repack; i < model.repacks.size(); i++) {
    left += static_cast<int64_t>(model.repacks[i].tensor->bytes());
  }
  drop_background_repack(model);
  finish_bytes(model, left);
}

// One part of the model's next pending weight; once its copy serves, the mapped pages go (and a tied
// lm_head, a copy of the embedding's Tensor, follows it).
void repack_part(Model& model) {
  PendingRepack& next = model.repacks[model.next_repack];
  const auto start = std::chrono::steady_clock::now();
  TensorView mapped;
  mapped.data = static_cast<const uint8_t*>(next.tensor->data);
  mapped.bytes = next.tensor->bytes();
  const bool done = model.backend.repack_part(*next.tensor, next.cursor, kRepackPartBytes);
  model.repack_progress->busy_us += micros_since(start);
  if (!done) return;
  if (model.weights.lm_head.data == mapped.data) model.weights.lm_head = *next.tensor;
  release_pages(mapped);
  model.next_repack++;
  finish_bytes(model, static_cast<int64_t>(mapped.bytes));
}

}  // namespace

void plan_background_repack(Model& model, std::shared_ptr<RepackProgress> progress) {
  model.repack_progress = std::move(progress);
  int64_t bytes = 0;
  for_each_matrix(model.weights, [&](Tensor& tensor) {
    if (!tensor.deferred) return;
    PendingRepack pending;
    pending.tensor = &tensor;
    model.repacks.push_back(pending);
    bytes += static_cast<int64_t>(tensor.bytes());
  });
  model.repack_progress->deferred_bytes += bytes;
  // Nothing to repack: ready as loaded (with tensor parallelism cx_model_info shows it only once no
  // rank has bytes pending).
  if (model.repack_progress->pending_bytes.fetch_add(bytes) + bytes == 0) {
    model.repack_progress->ready_us = micros_since(model.load_start);
  }
}

bool background_repack_pending(const std::map<int32_t, std::unique_ptr<Model>>& models) {
  for (const auto& [handle, model] : models) {
    if (model->next_repack < model->repacks.size()) return true;
  }
  return false;
}

bool repack_some(std::map<int32_t, std::unique_ptr<Model>>& models) {
  for (auto& [handle, model] : models) {
    if (model->next_repack >= model->repacks.size()) continue;
    try {
      repack_part(*model);
    } catch (const Error& error) {
      stop(*model, error.what());
    } catch (const std::bad_alloc&) {
      stop(*model, "host memory allocation failed");
    } catch (const std::exception& error) {
      stop(*model, error.what());
    }
    return true;
  }
  return false;
}

void drop_background_repack(Model& model) {
  for (size_t i = model.next_repack; i < model.repacks.size(); i++) {
    model.backend.drop_repack(*model.repacks[i].tensor, model.repacks[i].cursor);
  }
  model.next_repack = model.repacks.size();
}

}  // namespace cx
