// abi.cpp — the extern "C" surface declared in cortex_plugin.h. Every entry point runs inside
// guarded(): exceptions become a status code plus text in the caller's buffer, never an unwind
// across the C boundary. Inputs are copied before the call returns.
#include <cstring>
#include <new>
#include <numeric>

#include "cortex_plugin.h"
#include "error.h"
#include "isq.h"
#include "jobs.h"
#include "nccl_loader.h"
#include "runtime.h"

using namespace cx;

namespace {

template <typename Body>
int32_t guarded(char* err, int32_t err_cap, Body&& body) noexcept {
  write_text(err, err_cap, "");
  try {
    body();
    return CX_OK;
  } catch (const Error& error) {
    write_text(err, err_cap, error.what());
    return error.code();
  } catch (const std::bad_alloc&) {
    write_text(err, err_cap, "host memory allocation failed");
    return CX_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& error) {
    write_text(err, err_cap, std::string("internal error: ") + error.what());
    return CX_ERR_INTERNAL;
  } catch (...) {
    write_text(err, err_cap, "unknown internal error");
    return CX_ERR_INTERNAL;
  }
}

void require_output(const void* pointer, const char* name) {
  if (pointer == nullptr) throw Error(CX_ERR_INVALID_ARGUMENT, std::string(name) + " must not be null");
}

// Queues a model's job: on its device, or one per rank (atomically, Runtime::submit_gang) for a
// tensor-parallel model. `make(rank, op)` gets op == nullptr on a single device.
template <typename Make>
int32_t submit_model_job(Runtime& rt, int32_t model, Make&& make) {
  const ModelRecord record = rt.find_model(model);
  if (record.devices.size() <= 1) return rt.submit(record.device, make(0, std::shared_ptr<TpOp>()));
  return rt.submit_gang(record.devices, [&](int rank, const std::shared_ptr<TpOp>& op) { return make(rank, op); });
}

int32_t submit_to_model(int32_t runtime, int32_t model, int32_t* out_job, char* err, int32_t err_cap,
                        JobFn (*make)(Runtime&, int32_t)) {
  return guarded(err, err_cap, [&] {
    require_output(out_job, "out_job");
    auto rt = find_runtime(runtime);
    *out_job = submit_model_job(*rt, model, [&](int, const std::shared_ptr<TpOp>&) { return make(*rt, model); });
  });
}

// Opens a sequence on the model's device, or on every rank of a tensor-parallel one.
int32_t submit_new_sequence(Runtime& rt, int32_t model, SequenceStart start) {
  if (rt.find_model(model).devices.size() <= 1) {
    return rt.submit(rt.find_model(model).device, new_sequence_job(rt, model, std::move(start)));
  }
  // Every rank opens the same handle; slots are taken in the same order, so they match too.
  const int32_t sequence = rt.new_handle();
  return submit_model_job(rt, model, [&](int, const std::shared_ptr<TpOp>&) {
    return tp_new_sequence_job(model, sequence, start);
  });
}

// Checks a tensor-parallel device list and, for CUDA ranks, makes the NCCL communicator id.
std::shared_ptr<const std::vector<uint8_t>> prepare_tensor_parallel(Runtime& rt, const std::vector<int>& devices) {
  if (devices.size() > 8) throw Error(CX_ERR_INVALID_ARGUMENT, "tensor parallelism supports at most 8 devices, got "
      + std::to_string(devices.size()));
  int cuda = 0;
  for (size_t i = 0; i < devices.size(); i++) {
    cuda += rt.device(devices[i]).spec().cuda ? 1 : 0;
    for (size_t j = 0; j < i; j++) {
      if (devices[i] == devices[j]) throw Error(CX_ERR_INVALID_ARGUMENT, "device " + std::to_string(devices[i])
          + " appears twice in devices; each tensor-parallel rank needs its own device");
    }
  }
  if (cuda == 0) return nullptr;
  if (cuda != static_cast<int>(devices.size())) throw Error(CX_ERR_UNSUPPORTED_ARCH, "tensor parallelism over "
      "mixed CUDA and CPU devices is not supported (" + std::to_string(cuda) + " of " + std::to_string(devices.size())
      + " are CUDA)");
  const NcclUniqueId id = nccl_unique_id();
  return std::make_shared<const std::vector<uint8_t>>(id.bytes, id.bytes + sizeof(id.bytes));
}

}  // namespace

extern "C" {

CX_API int32_t cx_abi_version(void) { return CX_ABI_VERSION; }

CX_API int32_t cx_runtime_open(int32_t cpu_devices, int64_t cpu_budget_bytes, int32_t cpu_threads,
    int32_t* out_runtime,
                               char* err, int32_t err_cap) {
  return cx_runtime_open_ex(cpu_devices, cpu_budget_bytes, cpu_threads, kCpuIsaAuto, out_runtime, err, err_cap);
}

CX_API int32_t cx_runtime_open_ex(int32_t cpu_devices, int64_t cpu_budget_bytes, int32_t cpu_threads,
                                  int32_t cpu_isa, int32_t* out_runtime, char* err, int32_t err_cap) {
  if (cpu_isa < kCpuIsaAuto || cpu_isa > kCpuIsaAmx) {
    write_text(err, err_cap, "cpuIsa must be 0 (auto), 1 (scalar), 2 (avx2), 3 (avx512) or 4 (amx), got "
        + std::to_string(cpu_isa));
    return CX_ERR_INVALID_ARGUMENT;
  }
  return guarded(err, err_cap, [&] {
    require_output(out_runtime, "out_runtime");
    if (cpu_devices < 0 || cpu_devices > 64) throw Error(CX_ERR_INVALID_ARGUMENT,
        "cpuDevices must be in [0, 64], got " + std::to_string(cpu_devices));
    if (cpu_threads > 1024) throw Error(CX_ERR_INVALID_ARGUMENT, "cpuThreadsPerDevice must be at most 1024, got "
        + std::to_string(cpu_threads));
    *out_runtime = open_runtime(cpu_devices, cpu_budget_bytes, cpu_threads, cpu_isa);
  });
}

CX_API int32_t cx_runtime_close(int32_t runtime) {
  return guarded(nullptr, 0, [&] {
    if (!close_runtime(runtime)) throw Error(CX_ERR_NOT_FOUND, "runtime is not open");
  });
}

CX_API void cx_shutdown(void) {
  guarded(nullptr, 0, [] { close_all_runtimes(); });
}

CX_API int32_t cx_device_count(int32_t runtime) {
  int32_t count = 0;
  const int32_t status = guarded(nullptr, 0, [&] { count = find_runtime(runtime)->device_count(); });
  return status == CX_OK ? count : -status;
}

CX_API int32_t cx_device_info(int32_t runtime, int32_t device, int64_t* out, char* name, int32_t name_cap,
    char* features,
                              int32_t features_cap, char* err, int32_t err_cap) {
  return guarded(err, err_cap, [&] {
    require_output(out, "out");
    auto rt = find_runtime(runtime);
    Device& d = rt->device(device);
    const DeviceSpec& spec = d.spec();
    for (int i = 0; i < CX_DEVICE_FIELDS; i++) out[i] = 0;
    out[CX_DEVICE_FIELD_BACKEND] = spec.cuda ? 1 : 0;
    out[CX_DEVICE_FIELD_MEMORY_TOTAL] = d.memory_total();
    out[CX_DEVICE_FIELD_MEMORY_FREE] = d.memory_free();
    out[CX_DEVICE_FIELD_THREADS] = spec.threads;
    out[CX_DEVICE_FIELD_POISONED] = d.poisoned() ? 1 : 0;
    out[CX_DEVICE_FIELD_CC_MAJOR] = spec.cc_major;
    out[CX_DEVICE_FIELD_CC_MINOR] = spec.cc_minor;
    out[CX_DEVICE_FIELD_CPU_ISA] = spec.cuda ? 0 : spec.cpu_isa;
    write_text(name, name_cap, spec.name);
    write_text(features, features_cap, spec.features);
  });
}

CX_API int32_t cx_wait_any(int32_t runtime, int32_t* ids, int32_t max_ids, int32_t timeout_ms) {
  std::shared_ptr<Runtime> rt;
  try {
    rt = find_runtime(runtime);
  } catch (...) {
    return -1;
  }
  if (ids == nullptr || max_ids <= 0) return 0;
  int count = 0;
  guarded(nullptr, 0, [&] { count = rt->wait_any(ids, max_ids, timeout_ms); });
  return count;
}

CX_API int32_t cx_job_sizes(int32_t runtime, int32_t job, int64_t* out3, char* err, int32_t err_cap) {
  cx_status status = CX_OK;
  const int32_t call = guarded(err, err_cap, [&] {
    require_output(out3, "out3");
    std::string text;
    status = find_runtime(runtime)->job_sizes(job, out3, text);
    if (status == CX_ERR_NOT_FOUND) throw Error(CX_ERR_NOT_FOUND, text);
    write_text(err, err_cap, text);
  });
  if (call != CX_OK) return call;
  return status;
}

CX_API int32_t cx_job_take(int32_t runtime, int32_t job, int64_t* ints, int64_t ints_cap, float* floats,
    int64_t floats_cap) {
  cx_status status = CX_OK;
  const int32_t call = guarded(nullptr, 0, [&] { status = find_runtime(runtime)->job_take(job, ints, ints_cap, floats,
      floats_cap); });
  return call != CX_OK ? call : status;
}

CX_API int32_t cx_submit_load(int32_t runtime, const int32_t* devices, int32_t n_devices, const char* path,
                              int32_t context_length, int32_t max_sequences, int32_t* out_job, char* err,
                                  int32_t err_cap) {
  return cx_submit_load_ex(runtime, devices, n_devices, path, context_length, max_sequences, nullptr, out_job, err,
      err_cap);
}

CX_API int32_t cx_submit_load_ex(int32_t runtime, const int32_t* devices, int32_t n_devices, const char* path,
                                 int32_t context_length, int32_t max_sequences, const char* quant, int32_t* out_job,
                                 char* err, int32_t err_cap) {
  return cx_submit_load_repack(runtime, devices, n_devices, path, context_length, max_sequences, quant,
      CX_REPACK_BACKGROUND, out_job, err, err_cap);
}

CX_API int32_t cx_submit_load_repack(int32_t runtime, const int32_t* devices, int32_t n_devices, const char* path,
                                     int32_t context_length, int32_t max_sequences, const char* quant, int32_t repack,
                                     int32_t* out_job, char* err, int32_t err_cap) {
  return guarded(err, err_cap, [&] {
    require_output(out_job, "out_job");
    if (path == nullptr || path[0] == '\0') throw Error(CX_ERR_INVALID_ARGUMENT,
        "path must be a non-empty folder or .gguf file");
    LoadRequest request;
    request.path = path;
    request.context = context_length;
    request.max_sequences = max_sequences;
    request.quant = quant == nullptr ? "" : quant;
    parse_isq(request.quant);  // refuse a bad value at submit time, before any device work
    if (repack == CX_REPACK_BACKGROUND) request.repack = RepackWhen::Background;
    else if (repack == CX_REPACK_AT_LOAD) request.repack = RepackWhen::AtLoad;
    else if (repack == CX_REPACK_NEVER) request.repack = RepackWhen::Never;
    else throw Error(CX_ERR_INVALID_ARGUMENT, "repack " + std::to_string(repack) + " is not one of "
        "CX_REPACK_BACKGROUND (0), CX_REPACK_AT_LOAD (1), CX_REPACK_NEVER (2)");
    if (n_devices < 1 || devices == nullptr) throw Error(CX_ERR_INVALID_ARGUMENT,
        "at least one device index is required");
    auto rt = find_runtime(runtime);
    if (n_devices == 1) {
      *out_job = rt->submit(devices[0], load_job(*rt, devices[0], request));
      return;
    }
    const std::vector<int> list(devices, devices + n_devices);
    auto nccl_id = prepare_tensor_parallel(*rt, list);
    const int32_t handle = rt->new_handle();
    *out_job = rt->submit_gang(list, [&](int rank, const std::shared_ptr<TpOp>& op) {
      return tp_load_job(*rt, list, rank, op, handle, request, nccl_id);
    });
  });
}

CX_API int32_t cx_model_info(int32_t runtime, int32_t model, int64_t* out, char* architecture,
    int32_t architecture_cap,
                             char* err, int32_t err_cap) {
  return guarded(err, err_cap, [&] {
    require_output(out, "out");
    ModelRecord record = find_runtime(runtime)->find_model(model);
    if (record.repack) {
      const int64_t pending = record.repack->pending_bytes.load();
      record.fields[CX_MODEL_FIELD_REPACK_PENDING_BYTES] = pending;
      record.fields[CX_MODEL_FIELD_REPACK_US] = record.repack->busy_us.load();
      record.fields[CX_MODEL_FIELD_REPACK_READY_US] = pending == 0 ? record.repack->ready_us.load() : 0;
      record.fields[CX_MODEL_FIELD_REPACK_FAILED] = record.repack->failed.load() ? 1 : 0;
      record.fields[CX_MODEL_FIELD_REPACK_DEFERRED_BYTES] = record.repack->deferred_bytes.load();
    }
    std::memcpy(out, record.fields.data(), sizeof(int64_t) * CX_MODEL_FIELDS);
    write_text(architecture, architecture_cap, record.architecture);
  });
}

CX_API int32_t cx_submit_unload(int32_t runtime, int32_t model, int32_t* out_job, char* err, int32_t err_cap) {
  return submit_to_model(runtime, model, out_job, err, err_cap, unload_job);
}

CX_API int32_t cx_submit_new_sequence(int32_t runtime, int32_t model, int32_t* out_job, char* err, int32_t err_cap) {
  return cx_submit_new_sequence_ex(runtime, model, -1, -1, 0, nullptr, out_job, err, err_cap);
}

CX_API int32_t cx_submit_new_sequence_ex(int32_t runtime, int32_t model, int32_t slot, int32_t source_slot,
    int32_t n_prefix, const int32_t* prefix_tokens, int32_t* out_job, char* err, int32_t err_cap) {
  return guarded(err, err_cap, [&] {
    require_output(out_job, "out_job");
    if (n_prefix < 0) throw Error(CX_ERR_INVALID_ARGUMENT, "n_prefix must be >= 0, got " + std::to_string(n_prefix));
    if (n_prefix > 0 && prefix_tokens == nullptr) throw Error(CX_ERR_INVALID_ARGUMENT, "prefix_tokens is null");
    SequenceStart start;
    start.slot = slot;
    start.source_slot = source_slot;
    if (n_prefix > 0) start.prefix.assign(prefix_tokens, prefix_tokens + n_prefix);
    *out_job = submit_new_sequence(*find_runtime(runtime), model, std::move(start));
  });
}

CX_API int32_t cx_submit_new_sequence_from_blocks(int32_t runtime, int32_t model, int32_t slot, int32_t n_blocks,
    const int32_t* block_ids, const int32_t* prefix_tokens, int32_t* out_job, char* err, int32_t err_cap) {
  return guarded(err, err_cap, [&] {
    require_output(out_job, "out_job");
    if (n_blocks < 1) throw Error(CX_ERR_INVALID_ARGUMENT, "n_blocks must be >= 1, got " + std::to_string(n_blocks));
    if (block_ids == nullptr || prefix_tokens == nullptr) {
      throw Error(CX_ERR_INVALID_ARGUMENT, "block_ids and prefix_tokens must not be null");
    }
    SequenceStart start;
    start.slot = slot;
    start.blocks.assign(block_ids, block_ids + n_blocks);
    start.prefix.assign(prefix_tokens, prefix_tokens + static_cast<size_t>(n_blocks) * CX_PREFIX_BLOCK_TOKENS);
    *out_job = submit_new_sequence(*find_runtime(runtime), model, std::move(start));
  });
}

CX_API int32_t cx_submit_prefix_store(int32_t runtime, int32_t model, int32_t slot, int32_t first_position,
    int32_t n_blocks, const int32_t* block_ids, int32_t* out_job, char* err, int32_t err_cap) {
  return guarded(err, err_cap, [&] {
    require_output(out_job, "out_job");
    if (n_blocks < 1 || block_ids == nullptr) throw Error(CX_ERR_INVALID_ARGUMENT, "a store needs at least one "
        "block id");
    const std::vector<int32_t> ids(block_ids, block_ids + n_blocks);
    auto rt = find_runtime(runtime);
    *out_job = submit_model_job(*rt, model, [&](int, const std::shared_ptr<TpOp>&) {
      return prefix_store_job(model, slot, first_position, ids);
    });
  });
}

CX_API int32_t cx_submit_prefix_drop(int32_t runtime, int32_t model, int32_t n_blocks, const int32_t* block_ids,
    int32_t* out_job, char* err, int32_t err_cap) {
  return guarded(err, err_cap, [&] {
    require_output(out_job, "out_job");
    if (n_blocks < 0 || (n_blocks > 0 && block_ids == nullptr)) throw Error(CX_ERR_INVALID_ARGUMENT, "bad block "
        "id list");
    const std::vector<int32_t> ids(block_ids, block_ids + n_blocks);
    auto rt = find_runtime(runtime);
    *out_job = submit_model_job(*rt, model, [&](int, const std::shared_ptr<TpOp>&) {
      return prefix_drop_job(model, ids);
    });
  });
}

CX_API int32_t cx_submit_free_sequence(int32_t runtime, int32_t model, int32_t sequence, int32_t* out_job, char* err,
                                       int32_t err_cap) {
  return guarded(err, err_cap, [&] {
    require_output(out_job, "out_job");
    auto rt = find_runtime(runtime);
    *out_job = submit_model_job(*rt, model, [&](int, const std::shared_ptr<TpOp>&) {
      return free_sequence_job(model, sequence);
    });
  });
}

CX_API int32_t cx_submit_step(int32_t runtime, int32_t model, int32_t n_entries, const int32_t* sequences,
                              const int32_t* token_counts, const int32_t* tokens, const int32_t* flags,
                              const double* sampling, int32_t* out_job, char* err, int32_t err_cap) {
  return cx_submit_step_ex(runtime, model, n_entries, sequences, token_counts, tokens, flags, sampling, nullptr,
      nullptr, nullptr, nullptr, out_job, err, err_cap);
}

CX_API int32_t cx_submit_step_ex(int32_t runtime, int32_t model, int32_t n_entries, const int32_t* sequences,
                                 const int32_t* token_counts, const int32_t* tokens, const int32_t* flags,
                                 const double* sampling, const int32_t* top_logprobs, const int32_t* bias_counts,
                                 const int32_t* bias_tokens, const float* bias_values, int32_t* out_job,
                                 char* err, int32_t err_cap) {
  return guarded(err, err_cap, [&] {
    require_output(out_job, "out_job");
    if (n_entries < 1) throw Error(CX_ERR_INVALID_ARGUMENT, "a step needs at least one entry");
    if (sequences == nullptr || token_counts == nullptr || tokens == nullptr || flags == nullptr
        || sampling == nullptr) {
      throw Error(CX_ERR_INVALID_ARGUMENT, "step arrays must not be null");
    }
    StepRequest request;
    const size_t n = static_cast<size_t>(n_entries);
    request.sequences.assign(sequences, sequences + n);
    request.token_counts.assign(token_counts, token_counts + n);
    request.flags.assign(flags, flags + n);
    request.sampling.assign(sampling, sampling + n * CX_SAMPLING_FIELDS);
    int64_t total = 0;
    for (size_t e = 0; e < n; e++) {
      if (token_counts[e] < 1) throw Error(CX_ERR_INVALID_ARGUMENT, "entry " + std::to_string(e)
          + " needs at least one token");
      total += token_counts[e];
    }
    if (total > (int64_t{1} << 24)) throw Error(CX_ERR_INVALID_ARGUMENT, "a step may feed at most 16777216 tokens");
    request.tokens.assign(tokens, tokens + total);
    if (top_logprobs != nullptr) request.top_logprobs.assign(top_logprobs, top_logprobs + n);
    if (bias_counts != nullptr) {
      int64_t pairs = 0;
      for (size_t e = 0; e < n; e++) {
        if (bias_counts[e] < 0) throw Error(CX_ERR_INVALID_ARGUMENT, "entry " + std::to_string(e)
            + " has a negative logit bias count");
        pairs += bias_counts[e];
      }
      if (pairs > (int64_t{1} << 24)) throw Error(CX_ERR_INVALID_ARGUMENT, "a step may carry at most 16777216 "
          "logit bias pairs");
      if (pairs > 0 && (bias_tokens == nullptr || bias_values == nullptr)) throw Error(CX_ERR_INVALID_ARGUMENT,
          "logit bias arrays must not be null when bias counts are given");
      request.bias_counts.assign(bias_counts, bias_counts + n);
      if (pairs > 0) {
        request.bias_tokens.assign(bias_tokens, bias_tokens + pairs);
        request.bias_values.assign(bias_values, bias_values + pairs);
      }
    }
    auto rt = find_runtime(runtime);
    *out_job = submit_model_job(*rt, model, [&](int rank, const std::shared_ptr<TpOp>& op) {
      return op ? tp_step_job(model, request, rank, op) : step_job(model, request);
    });
  });
}

CX_API int32_t cx_submit_memory_query(int32_t runtime, int32_t device, int32_t* out_job, char* err, int32_t err_cap) {
  return guarded(err, err_cap, [&] {
    require_output(out_job, "out_job");
    *out_job = find_runtime(runtime)->submit(device, memory_query_job());
  });
}

CX_API int32_t cx_debug_submit_sleep(int32_t runtime, int32_t device, int32_t ms, int32_t* out_job, char* err,
    int32_t err_cap) {
  return guarded(err, err_cap, [&] {
    require_output(out_job, "out_job");
    if (ms < 0) throw Error(CX_ERR_INVALID_ARGUMENT, "ms must be >= 0");
    *out_job = find_runtime(runtime)->submit(device, debug_sleep_job(ms));
  });
}

CX_API int32_t cx_debug_submit_bandwidth(int32_t runtime, int32_t device, int64_t bytes, int32_t* out_job,
                                         char* err, int32_t err_cap) {
  return guarded(err, err_cap, [&] {
    require_output(out_job, "out_job");
    if (bytes < (int64_t{1} << 20) || bytes > (int64_t{1} << 34)) {
      throw Error(CX_ERR_INVALID_ARGUMENT, "bandwidth probe size must be in [1 MiB, 16 GiB], got "
          + std::to_string(bytes));
    }
    *out_job = find_runtime(runtime)->submit(device, debug_bandwidth_job(bytes));
  });
}

CX_API int32_t cx_debug_submit_fault(int32_t runtime, int32_t device, int32_t* out_job, char* err, int32_t err_cap) {
  return guarded(err, err_cap, [&] {
    require_output(out_job, "out_job");
    *out_job = find_runtime(runtime)->submit(device, debug_fault_job());
  });
}

}  // extern "C"
