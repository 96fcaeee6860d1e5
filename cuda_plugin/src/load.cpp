// load.cpp — config.json + safetensors, or a GGUF file → Model. Every tensor is checked (present,
// dtype, shape) and the memory is reserved on the device before anything is uploaded, so a failed
// load leaves no trace. Safetensors matrices may be quantized on the way (ISQ, isq.h).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <thread>

#include "cx_math.h"
#include "error.h"
#include "gguf_model.h"
#include "hybrid.h"
#include "isq.h"
#include "model.h"
#include "moe.h"
#include "read_ahead.h"
#include "rope.h"
#include "silent_checks.h"
#include "tensor_layout.h"

namespace cx {

Model::Model(Backend& backend_ref, ModelConfig config_value, int context_length, int sequence_slots)
    : backend(backend_ref), config(std::move(config_value)), context(context_length), max_sequences(sequence_slots),
      slot_owner(static_cast<size_t>(sequence_slots), 0) {}

Model::~Model() {
  drop_all_prefix_blocks(*this);
  drop_background_repack(*this);
  free_state();
  for (auto& [pointer, bytes] : buffers) backend.deallocate(pointer, bytes);
  if (kv.keys != nullptr) backend.deallocate(kv.keys, kv.bytes() / 2);
  if (kv.values != nullptr) backend.deallocate(kv.values, kv.bytes() / 2);
  for (auto& [pointer, bytes] : linear.row_buffers) backend.deallocate(pointer, bytes);
  moe.reset();
  for_each_matrix(weights, [&](Tensor& t) { backend.release_weight(t); });
  backend.unreserve(reserved_bytes);
}

void for_each_matrix(Weights& weights, const std::function<void(Tensor&)>& visit) {
  for (auto& layer : weights.layers) {
    for (Tensor* t : {&layer.wq, &layer.wk, &layer.wv, &layer.wo, &layer.w_gate, &layer.w_up,
        &layer.w_down, &layer.w_qgate, &layer.in_qkv, &layer.in_z, &layer.in_b, &layer.in_a,
        &layer.out_proj, &layer.shared_expert.w_gate, &layer.shared_expert.w_up, &layer.shared_expert.w_down}) {
      visit(*t);
    }
    for (ExpertWeights& expert : layer.experts) {
      for (Tensor* t : {&expert.w_gate, &expert.w_up, &expert.w_down}) visit(*t);
    }
  }
  if (weights.lm_head.data != weights.embed.data) visit(weights.lm_head);
  visit(weights.embed);
}

float* Model::alloc_f32(size_t count) {
  void* pointer = backend.allocate(count * sizeof(float));
  buffers.emplace_back(pointer, count * sizeof(float));
  return static_cast<float*>(pointer);
}

void Model::free_state() {
  const size_t rows = static_cast<size_t>(state.rows);
  const size_t logit_rows = static_cast<size_t>(state.logit_rows);
  const size_t dim = static_cast<size_t>(config.hidden_size);
  const size_t q_dim = static_cast<size_t>(config.q_dim());
  const size_t kv_dim = static_cast<size_t>(config.kv_dim());
  const size_t hidden = static_cast<size_t>(config.intermediate_size);
  const size_t f = sizeof(float);
  if (state.rows > 0) {
    backend.deallocate(state.x, rows * dim * f);
    backend.deallocate(state.xb, rows * dim * f);
    backend.deallocate(state.q, rows * q_dim * f);
    backend.deallocate(state.k, rows * kv_dim * f);
    backend.deallocate(state.v, rows * kv_dim * f);
    backend.deallocate(state.att, rows * q_dim * f);
    backend.deallocate(state.hb, rows * hidden * f);
    backend.deallocate(state.hb2, rows * hidden * f);
    backend.deallocate(state.tokens, rows * 4);
    backend.deallocate(state.slots, rows * 4);
    backend.deallocate(state.positions, rows * 4);
    backend.deallocate(state.gather, rows * 4);
  }
  if (state.logit_rows > 0) backend.deallocate(state.logits, logit_rows * static_cast<size_t>(config.vocab_size) * f);
  state = RunState();
}

void Model::ensure_state(int rows, int logit_rows) {
  if (rows <= state.rows && logit_rows <= state.logit_rows) return;
  const int new_rows = std::max(rows, state.rows);
  const int new_logit_rows = std::max(logit_rows, state.logit_rows);
  free_state();
  const size_t n = static_cast<size_t>(new_rows);
  auto floats = [&](size_t count) { return static_cast<float*>(backend.allocate(count * sizeof(float))); };
  auto ints = [&](size_t count) { return static_cast<int32_t*>(backend.allocate(count * 4)); };
  state.x = floats(n * config.hidden_size);
  state.xb = floats(n * config.hidden_size);
  state.q = floats(n * config.q_dim());
  state.k = floats(n * config.kv_dim());
  state.v = floats(n * config.kv_dim());
  state.att = floats(n * config.q_dim());
  state.hb = floats(n * config.intermediate_size);
  state.hb2 = floats(n * config.intermediate_size);
  state.tokens = ints(n);
  state.slots = ints(n);
  state.positions = ints(n);
  state.gather = ints(n);
  state.rows = new_rows;
  if (new_logit_rows > 0) state.logits = floats(static_cast<size_t>(new_logit_rows) * config.vocab_size);
  state.logit_rows = new_logit_rows;
}

namespace {

using Shape = std::vector<int64_t>;

constexpr size_t kReadAheadBytes = size_t{256} << 20;  // of the page cache, not of the process

std::string shape_text(const Shape& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); i++) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// Where the weights come from: a safetensors folder (config.json) or a GGUF file (its metadata).
struct ModelSource {
  ModelConfig config;
  SafetensorsSet tensors;  // under HF names either way
  std::string format;      // "config.json" or "the GGUF metadata", for messages
  std::vector<std::vector<uint8_t>> derived;  // rows a hybrid's tensors were rearranged into
};

ModelSource open_source(const std::string& path, const IsqScheme& isq, int tp_size) {
  ModelSource source;
  if (is_gguf_path(path)) {
    if (isq.active()) throw Error(CX_ERR_INVALID_ARGUMENT, "quant '" + isq.name + "' cannot apply to " + path
        + ": the GGUF is already quantized; quant applies to safetensors models");
    GgufModel gguf = open_gguf_model(path);
    source.config = std::move(gguf.config);
    source.tensors = std::move(gguf.tensors);
    source.format = "the GGUF metadata";
    return source;
  }
  source.config = read_model_config(path);
  source.tensors = SafetensorsSet::open_folder(path);
  if (source.config.architecture == Architecture::Qwen3Moe) add_fused_expert_views(source.tensors, source.config);
  source.format = "config.json";
  if (source.config.hybrid()) prepare_hybrid_tensors(source.config, source.tensors, source.derived, tp_size);
  check_layer_count(source.config, source.tensors, source.format);
  untie_distinct_lm_head(source.config, source.tensors);
  return source;
}

// Finds a tensor and checks its dtype and shape against what the config implies. Matrices may be
// block-quantized (whole blocks per row); vectors must be F32, F16 or BF16.
const TensorView& require(const ModelSource& source, const std::string& name, const Shape& shape) {
  const ModelConfig& config = source.config;
  const std::string label = source.tensors.source_name(name);
  const TensorView* view = source.tensors.find(name);
  if (view == nullptr) throw Error(CX_ERR_BAD_MODEL, "missing tensor '" + label + "' (needed by "
      + config.architecture_name + ")");
  if (view->dtype == DType::Other) throw Error(CX_ERR_BAD_MODEL, "tensor '" + label + "' has dtype " + view->dtype_tag
      + "; supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K");
  if (view->shape != shape) {
    throw Error(CX_ERR_BAD_MODEL, "tensor '" + label + "' has shape " + view->shape_text()
        + " but " + source.format + " implies " + shape_text(shape));
  }
  if (dtype_is_quantized(view->dtype)) {
    if (shape.size() != 2) throw Error(CX_ERR_BAD_MODEL, "tensor '" + label + "' is " + view->dtype_tag
        + "; only matrices may be quantized, this one is a vector");
    const int64_t block = dtype_block_elements(view->dtype);
    if (shape[1] % block != 0) throw Error(CX_ERR_BAD_MODEL, "tensor '" + label + "' has " + std::to_string(shape[1])
        + " columns, not a multiple of the " + view->dtype_tag + " block of " + std::to_string(block));
  }
  return *view;
}

// How a tensor is split across tensor-parallel ranks.
enum class Split { None, Rows, Cols };

struct Planned {
  std::string name;
  Shape shape;
  Split split;
  MatrixRole role = MatrixRole::Embed;  // matrices only
  int layer = 0;
  DType dtype = DType::F32;  // as uploaded (after ISQ); matrices only
};

// The plan of one load: which tensors, and how many bytes this rank's shard takes on the device.
struct LoadPlan {
  std::vector<Planned> matrices;  // kept in file dtype, or quantized at load (ISQ)
  std::vector<Planned> vectors;   // converted to f32
  int64_t bytes = 0;
  DType weight_dtype = DType::F32;  // the type holding most matrix bytes
  int64_t reduction_block = 1;      // the widest block of an o_proj / down_proj (k-chunks keep whole blocks)
};

// A Gated DeltaNet layer's tensors (hybrid.h; the fused Qwen3-Next projections are already split).
void plan_linear_layer(LoadPlan& plan, const ModelConfig& c, const std::string& p, int l) {
  const int64_t dim = c.hidden_size, channels = c.linear_conv_dim(), value_dim = c.linear_value_dim();
  const int64_t v_heads = c.linear_v_heads;
  const std::string a = p + "linear_attn.";
  plan.matrices.push_back({a + "in_proj_qkv.weight", {channels, dim}, Split::Rows, MatrixRole::Query, l});
  plan.matrices.push_back({a + "in_proj_z.weight", {value_dim, dim}, Split::Rows, MatrixRole::Query, l});
  plan.matrices.push_back({a + "in_proj_b.weight", {v_heads, dim}, Split::Rows, MatrixRole::Query, l});
  plan.matrices.push_back({a + "in_proj_a.weight", {v_heads, dim}, Split::Rows, MatrixRole::Query, l});
  plan.matrices.push_back({a + "out_proj.weight", {dim, value_dim}, Split::Cols, MatrixRole::AttnOut, l});
  plan.vectors.push_back({a + "conv1d.weight", {channels, 1, c.linear_conv_kernel}, Split::Rows});
  plan.vectors.push_back({a + "A_log", {v_heads}, Split::Rows});
  plan.vectors.push_back({a + "dt_bias", {v_heads}, Split::Rows});
  plan.vectors.push_back({a + "norm.weight", {c.linear_v_dim}, Split::None});
}

// A hybrid sparse layer's shared expert (split like the MLP) and its σ gate (replicated, f32).
void plan_shared_expert(LoadPlan& plan, const ModelConfig& c, const std::string& p, int l) {
  const int64_t dim = c.hidden_size, hidden = c.shared_expert_intermediate_size;
  const std::string e = p + "mlp.shared_expert.";
  plan.matrices.push_back({e + "gate_proj.weight", {hidden, dim}, Split::Rows, MatrixRole::Gate, l});
  plan.matrices.push_back({e + "up_proj.weight", {hidden, dim}, Split::Rows, MatrixRole::Up, l});
  plan.matrices.push_back({e + "down_proj.weight", {dim, hidden}, Split::Cols, MatrixRole::Down, l});
  plan.vectors.push_back({p + "mlp.shared_expert_gate.weight", {1, dim}, Split::None});
}

LoadPlan plan_tensors(const ModelSource& source, const IsqScheme& isq, int tp_size) {
  const ModelConfig& c = source.config;
  LoadPlan plan;
  const int64_t dim = c.hidden_size, q_dim = c.q_dim(), kv_dim = c.kv_dim(), hidden = c.intermediate_size;
  plan.matrices.push_back({"model.embed_tokens.weight", {c.vocab_size, dim}, Split::None, MatrixRole::Embed, 0});
  if (!c.tie_word_embeddings) plan.matrices.push_back({"lm_head.weight", {c.vocab_size, dim}, Split::None,
      MatrixRole::Output, 0});
  plan.vectors.push_back({"model.norm.weight", {dim}, Split::None});
  for (int l = 0; l < c.layers; l++) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    if (c.is_linear(l)) {
      plan_linear_layer(plan, c, p, l);
    } else {
      if (c.attn_output_gate) plan.matrices.push_back({p + "self_attn.q_gate.weight", {q_dim, dim}, Split::Rows,
          MatrixRole::Query, l});
      plan.matrices.push_back({p + "self_attn.q_proj.weight", {q_dim, dim}, Split::Rows, MatrixRole::Query, l});
      plan.matrices.push_back({p + "self_attn.k_proj.weight", {kv_dim, dim}, Split::Rows, MatrixRole::Key, l});
      plan.matrices.push_back({p + "self_attn.v_proj.weight", {kv_dim, dim}, Split::Rows, MatrixRole::Value, l});
      plan.matrices.push_back({p + "self_attn.o_proj.weight", {dim, q_dim}, Split::Cols, MatrixRole::AttnOut, l});
    }
    if (c.is_sparse(l)) {  // moe.h: a replicated f32 router and every expert, split like the MLP
      const int64_t expert_hidden = c.moe_intermediate_size;
      plan.vectors.push_back({p + "mlp.gate.weight", {c.num_experts, dim}, Split::None});
      for (int e = 0; e < c.num_experts; e++) {
        plan.matrices.push_back({expert_tensor_name(l, e, "gate_proj"), {expert_hidden, dim}, Split::Rows,
            MatrixRole::Gate, l});
        plan.matrices.push_back({expert_tensor_name(l, e, "up_proj"), {expert_hidden, dim}, Split::Rows,
            MatrixRole::Up, l});
        plan.matrices.push_back({expert_tensor_name(l, e, "down_proj"), {dim, expert_hidden}, Split::Cols,
            MatrixRole::Down, l});
      }
      if (c.shared_expert_intermediate_size > 0) plan_shared_expert(plan, c, p, l);
    } else {
      plan.matrices.push_back({p + "mlp.gate_proj.weight", {hidden, dim}, Split::Rows, MatrixRole::Gate, l});
      plan.matrices.push_back({p + "mlp.up_proj.weight", {hidden, dim}, Split::Rows, MatrixRole::Up, l});
      plan.matrices.push_back({p + "mlp.down_proj.weight", {dim, hidden}, Split::Cols, MatrixRole::Down, l});
    }
    plan.vectors.push_back({p + "input_layernorm.weight", {dim}, Split::None});
    plan.vectors.push_back({p + "post_attention_layernorm.weight", {dim}, Split::None});
    if (c.qk_norm && !c.is_linear(l)) {
      plan.vectors.push_back({p + "self_attn.q_norm.weight", {c.head_dim}, Split::None});
      plan.vectors.push_back({p + "self_attn.k_norm.weight", {c.head_dim}, Split::None});
    }
    if (c.attention_bias) {
      plan.vectors.push_back({p + "self_attn.q_proj.bias", {q_dim}, Split::Rows});
      plan.vectors.push_back({p + "self_attn.k_proj.bias", {kv_dim}, Split::Rows});
      plan.vectors.push_back({p + "self_attn.v_proj.bias", {kv_dim}, Split::Rows});
      plan.vectors.push_back({p + "self_attn.o_proj.bias", {dim}, Split::None});
    }
  }
  std::map<DType, int64_t> bytes_by_type;
  for (Planned& m : plan.matrices) {
    const TensorView& view = require(source, m.name, m.shape);
    const int64_t rows = m.shape[0], cols = m.shape[1];
    m.dtype = dtype_is_quantized(view.dtype) ? view.dtype : isq_type(isq, m.role, m.layer, c.layers,
        c.tie_word_embeddings, cols, view.dtype);
    int64_t bytes = rows * static_cast<int64_t>(dtype_row_bytes(m.dtype, cols));
    if (m.split == Split::Rows) bytes /= tp_size;
    if (m.split == Split::Cols && tp_size > 1) {
      const int64_t block = dtype_block_elements(m.dtype);
      if ((cols / tp_size) % block != 0) {
        throw Error(CX_ERR_UNSUPPORTED_ARCH, "tensor parallelism over " + std::to_string(tp_size) + " devices splits '"
            + source.tensors.source_name(m.name) + "' into " + std::to_string(cols / tp_size) + " columns per rank, "
            "not a whole number of " + dtype_name(m.dtype) + " blocks of " + std::to_string(block));
      }
      bytes = rows * static_cast<int64_t>(dtype_row_bytes(m.dtype, cols / tp_size));
    }
    plan.bytes += bytes;
    bytes_by_type[m.dtype] += bytes;
    if (m.split == Split::Cols) plan.reduction_block = std::max(plan.reduction_block, dtype_block_elements(m.dtype));
  }
  auto share = [&](int64_t bytes, Split split) { return split == Split::None ? bytes : bytes / tp_size; };
  for (const Planned& v : plan.vectors) plan.bytes += share(static_cast<int64_t>(require(source, v.name,
      v.shape).elements()) * 4, v.split);
  plan.bytes += static_cast<int64_t>((c.rotary_dim > 0 ? c.rotary_dim : c.head_dim) / 2) * 4;  // inv_freq
  int64_t most = -1;
  for (const auto& [type, bytes] : bytes_by_type) {
    if (bytes > most) {
      most = bytes;
      plan.weight_dtype = type;
    }
  }
  return plan;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// `plus_one`: a (1 + w) RMSNorm weight (the hybrids), stored as w and uploaded as 1 + w.
float* upload_vector(Model& model, const TensorView& view, bool plus_one = false) {
  const size_t n = static_cast<size_t>(view.elements());
  std::vector<float> host(n);
  for (size_t i = 0; i < n; i++) {
    uint16_t half = 0;
    if (view.dtype == DType::F32) {
      std::memcpy(&host[i], view.data + 4 * i, 4);
      continue;
    }
    std::memcpy(&half, view.data + 2 * i, 2);
    host[i] = view.dtype == DType::BF16 ? bf16_to_f32(half) : f16_to_f32(half);
  }
  if (plus_one) {
    for (float& value : host) value = 1.0f + value;
  }
  float* device = model.alloc_f32(n);
  model.backend.copy_to_device(device, host.data(), n * sizeof(float));
  return device;
}

// The rank's share of a planned matrix as the backend receives it: its rows, in rotate-half order,
// its columns, quantized to the planned type. Untouched tensors go up as views of the mapping;
// anything rearranged or quantized is built in host storage first (kept while the backend aliases
// it), and the mapped pages are let go once the backend holds a copy.
// `lookup`: a table only ever gathered by rows (an untied embedding), which the backend may keep in
// the mapping as it is.
Tensor upload_planned(Model& model, const TensorView& full, const Planned& m, RepackWhen repack,
    bool lookup = false) {
  const bool split = model.tp_size > 1 && m.split != Split::None;
  TensorView view = split && m.split == Split::Rows ? row_shard(full, model.tp_rank, model.tp_size) : full;
  const TensorView mapped = view;
  const auto read_start = std::chrono::steady_clock::now();
  read_pages(split && m.split == Split::Cols ? full : mapped);
  model.backend.load_times.read += seconds_since(read_start);
  std::vector<uint8_t> storage, scratch;
  const bool permuted = model.config.rope_rows_interleaved && (m.role == MatrixRole::Query
      || m.role == MatrixRole::Key);
  if (permuted) {
    view = unpermute_rope_rows(view, model.config.head_dim, scratch);
    storage.swap(scratch);
  }
  if (split && m.split == Split::Cols) {
    view = column_shard(view, model.tp_rank, model.tp_size, scratch);
    storage.swap(scratch);
  }
  if (m.dtype != view.dtype) {
    view = quantize_view(view, m.dtype, scratch, model.load_threads);
    storage.swap(scratch);
  }
  scratch = std::vector<uint8_t>();
  // Only the mapping itself may be served deferred: the pages it is served from are let go once
  // its copy takes over, which for host storage would zero it.
  const bool deferrable = storage.empty() && repack != RepackWhen::AtLoad;
  Tensor tensor = lookup ? model.backend.upload_table(view, view.shape[0], view.shape[1])
      : deferrable       ? model.backend.map_weight(view, view.shape[0], view.shape[1])
                         : model.backend.upload_weight(view, view.shape[0], view.shape[1]);
  if (storage.empty()) {
    if (tensor.owned) release_pages(mapped);
    return tensor;
  }
  release_pages(split && m.split == Split::Cols ? full : mapped);
  if (!tensor.owned) model.shard_storage.push_back(std::move(storage));
  return tensor;
}

// The RoPE table (rope.h: the config's rope type, or a GGUF's rope_freqs factors) on the device.
RopeSpec upload_rope(Model& model) {
  const RopeTable table = rope_table(model.config);
  RopeSpec spec;
  spec.rotary_dim = static_cast<int>(table.inv_freq.size()) * 2;
  spec.attention_scale = table.attention_scale;
  float* device = model.alloc_f32(table.inv_freq.size());
  model.backend.copy_to_device(device, table.inv_freq.data(), table.inv_freq.size() * sizeof(float));
  spec.inv_freq = device;
  return spec;
}

}  // namespace

void check_tensor_parallel(const ModelConfig& c, int tp_size) {
  if (tp_size == 1) return;
  if (tp_size > kMaxPairwiseParts) {
    throw Error(CX_ERR_UNSUPPORTED_ARCH, "tensor parallelism over " + std::to_string(tp_size)
        + " devices is above the limit of " + std::to_string(kMaxPairwiseParts));
  }
  std::string bad;
  auto check = [&](const char* field, int value) {
    if (value % tp_size != 0) bad += std::string(bad.empty() ? "" : ", ") + field + " " + std::to_string(value) + " % "
        + std::to_string(tp_size) + " = " + std::to_string(value % tp_size);
  };
  check("num_attention_heads", c.heads);
  check("num_key_value_heads", c.kv_heads);
  check("intermediate_size", c.intermediate_size);
  if (c.num_experts > 0) check("moe_intermediate_size", c.moe_intermediate_size);
  if (!bad.empty()) {
    throw Error(CX_ERR_UNSUPPORTED_ARCH, "tensor parallelism over " + std::to_string(tp_size) + " devices needs "
        + "num_attention_heads (" + std::to_string(c.heads) + "), num_key_value_heads (" + std::to_string(c.kv_heads)
        + ") and intermediate_size (" + std::to_string(c.intermediate_size) + ")"
        + (c.num_experts > 0 ? " and moe_intermediate_size (" + std::to_string(c.moe_intermediate_size) + ")" : "")
        + " divisible by "
        + std::to_string(tp_size) + "; " + c.architecture_name + " has " + bad);
  }
}

int reduction_chunks(const ModelConfig& full, int tp_size, int64_t block) {
  const int64_t q_dim = full.q_dim();
  for (int chunks : {8, 4, 2}) {
    const bool experts_fit = full.num_experts == 0 || (full.moe_intermediate_size % chunks == 0
        && (full.moe_intermediate_size / chunks) % block == 0);
    if (full.heads % chunks == 0 && full.intermediate_size % chunks == 0 && chunks % tp_size == 0
        && (!full.hybrid() || (full.linear_v_heads % chunks == 0 && (full.linear_value_dim() / chunks) % block == 0
            && full.shared_expert_intermediate_size % chunks == 0
            && (full.shared_expert_intermediate_size / chunks) % block == 0))
        && (q_dim / chunks) % block == 0 && (full.intermediate_size / chunks) % block == 0 && experts_fit) {
      return chunks / tp_size;
    }
  }
  return 1;
}

std::unique_ptr<Model> load_model(Backend& backend, const std::string& path, int context, int max_sequences,
    int tp_rank, int tp_size, const std::string& quant, int threads, RepackWhen repack) {
  const auto load_start = std::chrono::steady_clock::now();
  backend.load_times = LoadTimes();
  const IsqScheme isq = parse_isq(quant);
  ModelSource source = open_source(path, isq, tp_size);
  const ModelConfig& config = source.config;
  check_tensor_parallel(config, tp_size);
  if (config.hybrid() && !backend.has_hybrid_ops()) throw Error(CX_ERR_UNSUPPORTED_ARCH, config.architecture_name
      + " (Gated DeltaNet layers) cannot run on this device: its backend lacks the hybrid ops");
  if (config.hybrid() && (config.linear_k_heads % tp_size != 0
      || config.shared_expert_intermediate_size % tp_size != 0)) throw Error(CX_ERR_UNSUPPORTED_ARCH,
      "tensor parallelism over " + std::to_string(tp_size) + " devices needs linear_num_key_heads ("
      + std::to_string(config.linear_k_heads) + ") and shared_expert_intermediate_size ("
      + std::to_string(config.shared_expert_intermediate_size) + ") divisible by " + std::to_string(tp_size));
  const int default_context = std::min(config.max_position_embeddings, 4096);
  if (context <= 0) context = default_context;
  if (context > config.max_position_embeddings) {
    throw Error(CX_ERR_INVALID_ARGUMENT, "contextLength " + std::to_string(context)
        + " exceeds the model's max_position_embeddings " + std::to_string(config.max_position_embeddings));
  }
  if (max_sequences <= 0) max_sequences = 8;
  if (max_sequences > 1024) throw Error(CX_ERR_INVALID_ARGUMENT, "maxSequences " + std::to_string(max_sequences)
      + " is above the limit of 1024");

  const LoadPlan plan = plan_tensors(source, isq, tp_size);
  ModelConfig shard = config;  // the rank's share of heads and of the MLP
  shard.heads /= tp_size;
  shard.kv_heads /= tp_size;
  shard.intermediate_size /= tp_size;
  shard.linear_k_heads /= tp_size;  // DeltaNet layers split by heads too
  shard.linear_v_heads /= tp_size;
  shard.shared_expert_intermediate_size /= tp_size;
  shard.moe_intermediate_size /= tp_size;

  auto model = std::make_unique<Model>(backend, std::move(shard), context, max_sequences);
  model->tp_rank = tp_rank;
  model->tp_size = tp_size;
  model->k_chunks = reduction_chunks(config, tp_size, plan.reduction_block);
  const ModelConfig& c = model->config;
  model->kv.layers = c.hybrid() ? attention_layer_count(c) : c.layers;
  model->kv.slots = max_sequences;
  model->kv.context = context;
  model->kv.kv_heads = c.kv_heads;
  model->kv.head_dim = c.head_dim;
  const int64_t kv_bytes = static_cast<int64_t>(model->kv.bytes()) + hybrid_state_bytes(c, max_sequences);
  const std::string rank_text = tp_size == 1 ? "" : " rank " + std::to_string(tp_rank) + "/"
      + std::to_string(tp_size);
  const std::string quant_text = isq.active() ? " quantized to " + isq.name : "";
  backend.reserve(plan.bytes + kv_bytes, "model " + path + quant_text + rank_text + " (weights "
      + format_bytes(plan.bytes) + " + KV cache " + format_bytes(kv_bytes) + " for " + std::to_string(max_sequences)
      + " sequences x " + std::to_string(context) + " tokens)");
  model->reserved_bytes = plan.bytes + kv_bytes;
  model->weight_bytes = plan.bytes;
  model->weight_dtype = plan.weight_dtype;
  model->load_threads = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  model->files = std::move(source.tensors);
  for (auto& rows : source.derived) model->shard_storage.push_back(std::move(rows));

  const SafetensorsSet& f = model->files;
  Weights& w = model->weights;
  std::map<std::string, const Planned*> planned;
  for (const Planned& m : plan.matrices) planned[m.name] = &m;
  ReadAhead ahead(f, kReadAheadBytes);
  auto matrix = [&](const std::string& name, bool lookup = false) {
    const TensorView& view = *f.find(name);
    Tensor tensor = upload_planned(*model, view, *planned.at(name), repack, lookup);
    ahead.taken(view.bytes);
    return tensor;
  };
  w.embed = matrix("model.embed_tokens.weight", !c.tie_word_embeddings);
  w.lm_head = c.tie_word_embeddings ? w.embed : matrix("lm_head.weight");
  w.final_norm = upload_vector(*model, *f.find("model.norm.weight"), c.norm_plus_one);
  w.rope = upload_rope(*model);
  model->dtype = w.embed.dtype;
  auto vec = [&](const std::string& name, bool plus_one = false) {
    return upload_vector(*model, *f.find(name), plus_one);
  };
  auto vec_rows = [&](const std::string& name) {
    return upload_vector(*model, row_shard(*f.find(name), model->tp_rank, model->tp_size));
  };
  for (int l = 0; l < c.layers; l++) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LayerWeights layer;
    if (c.is_linear(l)) {
      const std::string a = p + "linear_attn.";
      layer.in_qkv = matrix(a + "in_proj_qkv.weight");
      layer.in_z = matrix(a + "in_proj_z.weight");
      layer.in_b = matrix(a + "in_proj_b.weight");
      layer.in_a = matrix(a + "in_proj_a.weight");
      layer.out_proj = matrix(a + "out_proj.weight");
      layer.conv_weight = vec_rows(a + "conv1d.weight");
      layer.a_log = vec_rows(a + "A_log");
      layer.dt_bias = vec_rows(a + "dt_bias");
      layer.linear_norm = vec(a + "norm.weight");
    } else {
      if (c.attn_output_gate) layer.w_qgate = matrix(p + "self_attn.q_gate.weight");
      layer.wq = matrix(p + "self_attn.q_proj.weight");
      layer.wk = matrix(p + "self_attn.k_proj.weight");
      layer.wv = matrix(p + "self_attn.v_proj.weight");
      layer.wo = matrix(p + "self_attn.o_proj.weight");
    }
    if (c.is_sparse(l)) {
      const TensorView& router = *f.find(p + "mlp.gate.weight");
      if (dtype_is_quantized(router.dtype)) throw Error(CX_ERR_UNSUPPORTED_ARCH, "router '"
          + f.source_name(p + "mlp.gate.weight") + "' is " + router.dtype_tag + "; only F32, F16 or BF16 routers are "
          "supported");
      layer.router.data = upload_vector(*model, router);
      layer.router.rows = c.num_experts;
      layer.router.cols = c.hidden_size;
      for (int e = 0; e < c.num_experts; e++) {
        ExpertWeights expert;
        expert.w_gate = matrix(expert_tensor_name(l, e, "gate_proj"));
        expert.w_up = matrix(expert_tensor_name(l, e, "up_proj"));
        expert.w_down = matrix(expert_tensor_name(l, e, "down_proj"));
        layer.experts.push_back(expert);
      }
      if (c.shared_expert_intermediate_size > 0) {
        const std::string e = p + "mlp.shared_expert.";
        layer.shared_expert.w_gate = matrix(e + "gate_proj.weight");
        layer.shared_expert.w_up = matrix(e + "up_proj.weight");
        layer.shared_expert.w_down = matrix(e + "down_proj.weight");
        layer.shared_expert_gate.data = vec(p + "mlp.shared_expert_gate.weight");
        layer.shared_expert_gate.rows = 1;
        layer.shared_expert_gate.cols = c.hidden_size;
      }
    } else {
      layer.w_gate = matrix(p + "mlp.gate_proj.weight");
      layer.w_up = matrix(p + "mlp.up_proj.weight");
      layer.w_down = matrix(p + "mlp.down_proj.weight");
    }
    layer.attn_norm = vec(p + "input_layernorm.weight", c.norm_plus_one);
    layer.ffn_norm = vec(p + "post_attention_layernorm.weight", c.norm_plus_one);
    if (c.qk_norm && !c.is_linear(l)) {
      layer.q_norm = vec(p + "self_attn.q_norm.weight", c.norm_plus_one);
      layer.k_norm = vec(p + "self_attn.k_norm.weight", c.norm_plus_one);
    }
    if (c.attention_bias) {
      layer.q_bias = vec_rows(p + "self_attn.q_proj.bias");
      layer.k_bias = vec_rows(p + "self_attn.k_proj.bias");
      layer.v_bias = vec_rows(p + "self_attn.v_proj.bias");
      layer.o_bias = vec(p + "self_attn.o_proj.bias");
    }
    w.layers.push_back(layer);
  }
  if (c.hybrid()) allocate_linear_states(*model);
  const auto kv_start = std::chrono::steady_clock::now();
  model->kv.keys = static_cast<float*>(backend.allocate(model->kv.bytes() / 2));
  model->kv.values = static_cast<float*>(backend.allocate(model->kv.bytes() / 2));
  backend.load_times.allocate += seconds_since(kv_start);
  model->load_times = backend.load_times;
  model->load_start = load_start;
  model->load_seconds = seconds_since(load_start);
  return model;
}

}  // namespace cx
