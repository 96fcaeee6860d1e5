// jobs.cpp — job bodies. They run on the device's worker thread; models are looked up there, in the
// device's own map, so a model is only ever touched by the thread that owns its device.
#include "jobs.h"

#include <chrono>
#include <cstring>
#include <new>
#include <thread>

#include "error.h"
#include "nccl_loader.h"

namespace cx {
namespace {

Model& find_model(WorkerContext& w, int32_t handle) {
  auto it = w.models.find(handle);
  if (it == w.models.end()) throw Error(CX_ERR_NOT_FOUND, "model " + std::to_string(handle)
      + " is not loaded on device " + std::to_string(w.spec.index));
  return *it->second;
}

ModelRecord describe(const Model& model, const std::vector<int>& devices, std::shared_ptr<RepackProgress> progress) {
  const ModelConfig& c = model.config;
  ModelRecord record;
  const int64_t ranks = static_cast<int64_t>(devices.size());  // every rank holds an equal share
  record.device = devices[0];
  record.devices = devices;
  record.architecture = c.architecture_name;
  record.repack = std::move(progress);
  record.fields.assign(CX_MODEL_FIELDS, 0);
  record.fields[CX_MODEL_FIELD_VOCAB] = c.vocab_size;
  record.fields[CX_MODEL_FIELD_CONTEXT] = model.context;
  record.fields[CX_MODEL_FIELD_HIDDEN] = c.hidden_size;
  record.fields[CX_MODEL_FIELD_LAYERS] = c.layers;
  record.fields[CX_MODEL_FIELD_DTYPE] = static_cast<int64_t>(model.dtype);
  record.fields[CX_MODEL_FIELD_WEIGHT_DTYPE] = static_cast<int64_t>(model.weight_dtype);
  record.fields[CX_MODEL_FIELD_WEIGHT_BYTES] = model.weight_bytes * ranks;
  record.fields[CX_MODEL_FIELD_KV_BYTES] = static_cast<int64_t>(model.kv.bytes()) * ranks;
  record.fields[CX_MODEL_FIELD_BOS] = c.bos_token_id;
  record.fields[CX_MODEL_FIELD_MAX_SEQUENCES] = model.max_sequences;
  record.fields[CX_MODEL_FIELD_N_DEVICES] = ranks;
  record.fields[CX_MODEL_FIELD_PREFIX_REUSE] = c.hybrid() ? 2 : 1;
  record.fields[CX_MODEL_FIELD_PREFIX_BLOCK_BYTES] = c.hybrid() ? 0 : prefix_block_bytes(model) * ranks;
  const auto micros = [](double seconds) { return static_cast<int64_t>(seconds * 1e6); };
  record.fields[CX_MODEL_FIELD_LOAD_US] = micros(model.load_seconds);
  record.fields[CX_MODEL_FIELD_LOAD_READ_US] = micros(model.load_times.read);
  record.fields[CX_MODEL_FIELD_LOAD_ALLOCATE_US] = micros(model.load_times.allocate);
  record.fields[CX_MODEL_FIELD_LOAD_REPACK_US] = micros(model.load_times.repack);
  for (size_t i = 0; i < devices.size() && i < 8; i++) record.fields[CX_MODEL_FIELD_DEVICES + i] = devices[i];
  const size_t n_eos = std::min<size_t>(c.eos_token_ids.size(), 8);
  record.fields[CX_MODEL_FIELD_N_EOS] = static_cast<int64_t>(n_eos);
  for (size_t i = 0; i < n_eos; i++) record.fields[CX_MODEL_FIELD_EOS + i] = c.eos_token_ids[i];
  return record;
}

}  // namespace

JobFn load_job(Runtime& runtime, int device, LoadRequest request) {
  return [&runtime, device, request](WorkerContext& w, JobResult& result) {
    std::unique_ptr<Model> model = load_model(w.backend, request.path, request.context, request.max_sequences, 0, 1,
        request.quant, w.spec.cuda ? 0 : w.spec.threads, request.repack);
    if (request.repack == RepackWhen::Background) plan_background_repack(*model, request.progress);
    const int32_t handle = runtime.new_handle();
    runtime.register_model(handle, describe(*model, {device}, request.progress));
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

JobFn new_sequence_job(Runtime& runtime, int32_t model, SequenceStart start) {
  return [&runtime, model, start = std::move(start)](WorkerContext& w, JobResult& result) {
    Model& m = find_model(w, model);
    const int32_t handle = runtime.new_handle();
    const int slot = open_sequence(m, handle, model, start);
    result.ints = {handle, slot};
  };
}

JobFn free_sequence_job(int32_t model, int32_t sequence) {
  return [model, sequence](WorkerContext& w, JobResult&) { close_sequence(find_model(w, model), sequence, model); };
}

JobFn prefix_store_job(int32_t model, int slot, int first_position, std::vector<int32_t> ids) {
  return [model, slot, first_position, ids = std::move(ids)](WorkerContext& w, JobResult&) {
    store_prefix_blocks(find_model(w, model), slot, first_position, ids);
  };
}

JobFn prefix_drop_job(int32_t model, std::vector<int32_t> ids) {
  return [model, ids = std::move(ids)](WorkerContext& w, JobResult&) { drop_prefix_blocks(find_model(w, model), ids); };
}

JobFn step_job(int32_t model, StepRequest request) {
  return [model, request = std::move(request)](WorkerContext& w, JobResult& result) {
    StepOutput out = run_step(find_model(w, model), request, w.sampler, w.cancel);
    result.ints = std::move(out.tokens);
    result.ints.insert(result.ints.end(), out.positions.begin(), out.positions.end());
    result.ints.insert(result.ints.end(), out.top_ids.begin(), out.top_ids.end());
    result.floats = std::move(out.logits);
    result.floats.insert(result.floats.end(), out.logprobs.begin(), out.logprobs.end());
  };
}

JobFn tp_load_job(Runtime& runtime, std::vector<int> devices, int rank, std::shared_ptr<TpOp> op, int32_t handle,
    LoadRequest request, std::shared_ptr<const std::vector<uint8_t>> nccl_id) {
  return [&runtime, devices, rank, op, handle, request, nccl_id](WorkerContext& w, JobResult& result) {
    const int size = static_cast<int>(devices.size());
    std::unique_ptr<Model> model;
    cx_status status = CX_OK;
    std::string error;
    bool fatal = false;
    // Each phase runs on every rank; a rank that fails keeps meeting its peers, so all of them learn
    // it at the next agreement and drop their shards.
    auto attempt = [&](auto&& body) {
      if (status != CX_OK) return;
      try {
        body();
      } catch (const Error& e) {
        status = e.code();
        error = e.what();
        fatal = e.fatal();
      } catch (const std::bad_alloc&) {
        status = CX_ERR_OUT_OF_MEMORY;
        error = "host memory allocation failed while loading rank " + std::to_string(rank);
      }
    };
    auto settle = [&] {
      if (op->agree(rank, status == CX_OK)) return;
      model.reset();
      if (status != CX_OK) throw Error(status, error, fatal);
      throw Error(CX_ERR_INTERNAL, std::string(kPeerFailedPrefix) + "another rank could not load its shard");
    };
    attempt([&] {
      model = load_model(w.backend, request.path, request.context, request.max_sequences, rank, size, request.quant,
          w.spec.cuda ? 0 : w.spec.threads, request.repack);
      if (request.repack == RepackWhen::Background) plan_background_repack(*model, request.progress);
    });
    settle();
    if (w.spec.cuda) {
      // Every rank reaches this together (make_nccl_collective blocks until all have joined).
      attempt([&] {
        NcclUniqueId id;
        if (!nccl_id || nccl_id->size() != sizeof(id.bytes)) throw Error(CX_ERR_INTERNAL, "missing NCCL id");
        std::memcpy(id.bytes, nccl_id->data(), sizeof(id.bytes));
        model->collective = make_nccl_collective(w.backend, id, size, rank);
      });
    } else {
      model->collective = std::make_unique<CpuCollective>(rank, size);
    }
    settle();
    if (rank == 0) runtime.register_model(handle, describe(*model, devices, request.progress));
    w.models[handle] = std::move(model);
    result.ints = {handle};
  };
}

JobFn tp_new_sequence_job(int32_t model, int32_t sequence, SequenceStart start) {
  return [model, sequence, start = std::move(start)](WorkerContext& w, JobResult& result) {
    const int slot = open_sequence(find_model(w, model), sequence, model, start);
    result.ints = {sequence, slot};
  };
}

JobFn tp_step_job(int32_t model, StepRequest request, int rank, std::shared_ptr<TpOp> op) {
  return [model, request = std::move(request), rank, op](WorkerContext& w, JobResult& result) {
    Model& m = find_model(w, model);
    Collective& collective = *m.collective;
    collective.bind(op.get());
    // A peer that fails mid-step must not leave this rank inside an NCCL call forever.
    const size_t hook = w.spec.cuda ? op->on_abort([&collective] { nccl_abort(collective); })
                                    : static_cast<size_t>(-1);
    struct Unbind {
      Collective& collective;
      TpOp& op;
      size_t hook;
      ~Unbind() {
        op.forget_hook(hook);
        collective.bind(nullptr);
      }
    } unbind{collective, *op, hook};
    StepOutput out = run_step(m, request, w.sampler, w.cancel);
    if (rank != 0) return;  // every rank computed the same logits and samples; rank 0 reports them
    result.ints = std::move(out.tokens);
    result.ints.insert(result.ints.end(), out.positions.begin(), out.positions.end());
    result.ints.insert(result.ints.end(), out.top_ids.begin(), out.top_ids.end());
    result.floats = std::move(out.logits);
    result.floats.insert(result.floats.end(), out.logprobs.begin(), out.logprobs.end());
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
