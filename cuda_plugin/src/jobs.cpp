// jobs.cpp — job bodies. They run on the device's worker thread; models are looked up there, in the
// device's own map, so a model is only ever touched by the thread that owns its device.
#include "jobs.h"

#include <chrono>
#include <thread>

#include "error.h"

namespace cx {
namespace {

Model& find_model(WorkerContext& w, int32_t handle) {
  auto it = w.models.find(handle);
  if (it == w.models.end()) throw Error(CX_ERR_NOT_FOUND, "model " + std::to_string(handle)
      + " is not loaded on device " + std::to_string(w.spec.index));
  return *it->second;
}

ModelRecord describe(const Model& model, int device) {
  const ModelConfig& c = model.config;
  ModelRecord record;
  record.device = device;
  record.architecture = c.architecture_name;
  record.fields.assign(CX_MODEL_FIELDS, 0);
  record.fields[CX_MODEL_FIELD_VOCAB] = c.vocab_size;
  record.fields[CX_MODEL_FIELD_CONTEXT] = model.context;
  record.fields[CX_MODEL_FIELD_HIDDEN] = c.hidden_size;
  record.fields[CX_MODEL_FIELD_LAYERS] = c.layers;
  record.fields[CX_MODEL_FIELD_DTYPE] = static_cast<int64_t>(model.dtype);
  record.fields[CX_MODEL_FIELD_WEIGHT_BYTES] = model.weight_bytes;
  record.fields[CX_MODEL_FIELD_KV_BYTES] = static_cast<int64_t>(model.kv.bytes());
  record.fields[CX_MODEL_FIELD_BOS] = c.bos_token_id;
  record.fields[CX_MODEL_FIELD_MAX_SEQUENCES] = model.max_sequences;
  record.fields[CX_MODEL_FIELD_N_DEVICES] = 1;
  record.fields[CX_MODEL_FIELD_DEVICES] = device;
  const size_t n_eos = std::min<size_t>(c.eos_token_ids.size(), 8);
  record.fields[CX_MODEL_FIELD_N_EOS] = static_cast<int64_t>(n_eos);
  for (size_t i = 0; i < n_eos; i++) record.fields[CX_MODEL_FIELD_EOS + i] = c.eos_token_ids[i];
  return record;
}

}  // namespace

JobFn load_job(Runtime& runtime, int device, std::string folder, int context, int max_sequences) {
  return [&runtime, device, folder, context, max_sequences](WorkerContext& w, JobResult& result) {
    std::unique_ptr<Model> model = load_model(w.backend, folder, context, max_sequences);
    const int32_t handle = runtime.new_handle();
    runtime.register_model(handle, describe(*model, device));
    w.models[handle] = std::move(model);
    result.ints = {handle};
  };
}

JobFn unload_job(Runtime& runtime, int32_t model) {
  return [&runtime, model](WorkerContext& w, JobResult&) {
    find_model(w, model);
    w.models.erase(model);
    runtime.forget_model(model);
  };
}

JobFn new_sequence_job(Runtime& runtime, int32_t model) {
  return [&runtime, model](WorkerContext& w, JobResult& result) {
    Model& m = find_model(w, model);
    const int32_t handle = runtime.new_handle();
    open_sequence(m, handle, model);
    result.ints = {handle};
  };
}

JobFn free_sequence_job(int32_t model, int32_t sequence) {
  return [model, sequence](WorkerContext& w, JobResult&) { close_sequence(find_model(w, model), sequence, model); };
}

JobFn step_job(int32_t model, StepRequest request) {
  return [model, request = std::move(request)](WorkerContext& w, JobResult& result) {
    StepOutput out = run_step(find_model(w, model), request, w.sampler, w.cancel);
    result.ints = std::move(out.tokens);
    result.ints.insert(result.ints.end(), out.positions.begin(), out.positions.end());
    result.floats = std::move(out.logits);
  };
}

JobFn memory_query_job() {
  return [](WorkerContext& w, JobResult& result) {
    const MemoryInfo memory = w.backend.memory();
    result.ints = {memory.total, memory.free};
  };
}

JobFn debug_sleep_job(int ms) {
  return [ms](WorkerContext& w, JobResult&) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until && !w.cancel.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
}

JobFn debug_fault_job() {
  return [](WorkerContext& w, JobResult&) {
    throw Error(CX_ERR_INTERNAL, "debug fault injected on device " + std::to_string(w.spec.index) + " (test hook)",
        true);
  };
}

JobFn debug_bandwidth_job(int64_t bytes) {
  return [bytes](WorkerContext& w, JobResult& result) {
    result.floats = {static_cast<float>(w.backend.measure_read_bandwidth(bytes))};
  };
}

}  // namespace cx
