// model.h — a loaded model on one device, in llama2.c's shape: Config (config.h), Weights,
// RunState (activation buffers), the KV cache, and the sequences that own KV slots.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "background_repack.h"
#include "backend.h"
#include "collective.h"
#include "config.h"
#include "prefix_pool.h"
#include "sampler.h"
#include "safetensors.h"

namespace cx {

/** One expert of a Qwen3-MoE layer: a SwiGLU MLP of width moe_intermediate_size (the rank's share). */
struct ExpertWeights {
  Tensor w_gate, w_up, w_down;  // [moe_hidden, dim] ×2, [dim, moe_hidden]
};

struct MoeState;  // moe.h: routing tables and expert activations of one forward pass

/** One transformer block's weights. Vectors are f32 device buffers; matrices keep the file dtype. */
struct LayerWeights {
  float* attn_norm = nullptr;
  float* ffn_norm = nullptr;
  float* q_norm = nullptr;  // Qwen3 only
  float* k_norm = nullptr;  // Qwen3 only
  float* q_bias = nullptr;  // attention_bias only
  float* k_bias = nullptr;
  float* v_bias = nullptr;
  float* o_bias = nullptr;
  Tensor wq, wk, wv, wo;          // [q_dim, dim], [kv_dim, dim] ×2, [dim, q_dim]
  Tensor w_gate, w_up, w_down;    // [hidden, dim] ×2, [dim, hidden]; empty in a sparse layer
  Tensor router;                  // sparse layers: [experts, dim] f32, replicated on every rank
  std::vector<ExpertWeights> experts;  // sparse layers, by expert index
  // Hybrids (hybrid.h): the output-gate half of q_proj [q_dim, dim]; a Gated DeltaNet layer's
  // projections, conv [channels][kernel], A_log / dt_bias [v_heads], gated-norm weight [v_dim].
  Tensor w_qgate;
  Tensor in_qkv, in_z, in_b, in_a, out_proj;
  float *conv_weight = nullptr, *a_log = nullptr, *dt_bias = nullptr, *linear_norm = nullptr;
  int state_layer = 0;  // the KV cache layer (attention) or linear-state layer (DeltaNet) it uses
  // Hybrid sparse layers: the shared expert beside the routed ones, its gate [1, dim] f32 (replicated).
  ExpertWeights shared_expert;
  Tensor shared_expert_gate;
};

struct Weights {
  Tensor embed;    // [vocab, dim]
  Tensor lm_head;  // [vocab, dim]; the same memory as embed when tied
  float* final_norm = nullptr;
  RopeSpec rope;  // inv_freq: [rotary_dim / 2] RoPE frequencies on the device
  std::vector<LayerWeights> layers;
};

/** Activation buffers of one forward pass, sized for `rows` token rows and `logit_rows` outputs. */
struct RunState {
  int rows = 0;
  int logit_rows = 0;
  float *x = nullptr, *xb = nullptr, *q = nullptr, *k = nullptr, *v = nullptr, *att = nullptr;
  float *hb = nullptr, *hb2 = nullptr, *logits = nullptr;
  int32_t *tokens = nullptr, *slots = nullptr, *positions = nullptr, *gather = nullptr;
};

/** A hybrid model's per-sequence DeltaNet states, by KV slot (shapes in DeltaNetShape), and the
 * activation buffers its linear layers add to RunState. */
struct LinearStates {
  DeltaNetShape shape;
  int layers = 0;
  float* conv = nullptr;       // [layer][slot][conv_state_floats]
  float* recurrent = nullptr;  // [layer][slot][recurrent_state_floats]
  // A copy of each slot's states taken by a CX_STEP_SNAPSHOT step, and the position it was taken
  // at (-1: none), from which a later sequence may start (step.cpp, open_sequence).
  float* snap_conv = nullptr;
  float* snap_recurrent = nullptr;
  std::vector<int> snap_position;
  int rows = 0;
  float *qkv = nullptr, *mixed = nullptr, *z = nullptr, *b = nullptr, *a = nullptr, *core = nullptr, *gate = nullptr;
  float *shared = nullptr, *shared_logit = nullptr, *shared_gate = nullptr, *shared_up = nullptr;  // shared expert
  std::vector<std::pair<void*, size_t>> row_buffers;  // the row buffers above, freed when they grow
};

/** A sequence: a KV slot, how many tokens it holds, and what the sampler must remember. */
struct Sequence {
  int32_t handle = 0;
  int slot = 0;
  int position = 0;
  SamplerState sampler;
  // A hybrid's DeltaNet states advance in place as the layers run, so a forward pass that fails
  // part way (cancelled, a device error, non-finite logits) leaves them past `position`. Such a
  // sequence cannot go on: -1 while it can, else the position of the step that failed.
  int lost_state_at = -1;
};

/** A model resident on one device. Touched only by that device's worker thread. */
class Model {
 public:
  Model(Backend& backend, ModelConfig config, int context, int max_sequences);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  Backend& backend;
  const ModelConfig config;
  const int context;
  const int max_sequences;
  SafetensorsSet files;  // keeps the mappings the weights may alias
  Weights weights;
  KvCache kv;
  RunState state;
  LinearStates linear;  // hybrids only
  PrefixPool prefix_pool;  // the prefix cache's blocks (prefix_pool.h)
  DType dtype = DType::F32;         // of the embedding table
  DType weight_dtype = DType::F32;  // the type holding most matrix bytes ("q8_0" for a Q8_0 GGUF)
  int load_threads = 1;             // host threads ISQ quantizes with at load (the CPU device's own)
  int64_t weight_bytes = 0;
  LoadTimes load_times;  // where this model's load spent its time (backend.h)
  double load_seconds = 0;  // load_model from start to end
  std::chrono::steady_clock::time_point load_start;
  // Weights served from the mapping until their copies are built (background_repack.h), in order.
  std::vector<PendingRepack> repacks;
  size_t next_repack = 0;
  std::shared_ptr<RepackProgress> repack_progress;
  int64_t reserved_bytes = 0;
  std::vector<int32_t> slot_owner;  // sequence handle per KV slot, 0 when free
  std::map<int32_t, Sequence> sequences;
  std::vector<std::pair<void*, size_t>> buffers;  // every device buffer the model allocated
  std::vector<float> host_logits;  // a step's logits on the host; grows only, so decode allocates nothing
  // Tensor parallelism: this model is rank `tp_rank` of `tp_size` shards (config holds the shard's
  // heads, kv_heads and intermediate_size); `collective` sums partial o_proj / down_proj outputs.
  int tp_rank = 0;
  int tp_size = 1;
  std::unique_ptr<Collective> collective;
  // The k-chunks this rank sums o_proj and down_proj in (reduction_chunks): with the ranks' tree
  // all-reduce, every tensor-parallel degree that divides the model's chunk count adds alike.
  int k_chunks = 1;
  std::vector<std::vector<uint8_t>> shard_storage;  // column shards copied out of the mapping
  std::unique_ptr<MoeState> moe;  // sparse layers' buffers (moe.cpp), made on first use

  /** Allocates a zeroed f32 device buffer owned by the model. */
  float* alloc_f32(size_t count);
  /** Grows the RunState to hold `rows` rows and `logit_rows` logit rows. */
  void ensure_state(int rows, int logit_rows);

 private:
  void free_state();
};

/** Calls `visit` on every matrix of `weights` (lm_head only where it is not the embedding's memory). */
void for_each_matrix(Weights& weights, const std::function<void(Tensor&)>& visit);

/** Reads `path` — a folder (config.json + safetensors) or a .gguf file (or any shard of a split one) —,
 * checks every tensor, reserves memory on the backend (weights + KV cache) and uploads. `context` <= 0
 * and `max_sequences` <= 0 pick defaults. `quant` (isq.h, parse_isq; "" = none) quantizes a safetensors
 * model's matrices at load, on `threads` host threads (<= 0: every core); with a GGUF path it is
 * invalid_argument.
 * With `tp_size` > 1 it loads rank `tp_rank`'s Megatron shard: q/k/v/gate/up by output rows (heads
 * and intermediate split), o/down by input columns, everything else replicated; the KV cache holds
 * the rank's KV heads; quantized matrices split by whole blocks. The caller sets `collective`.
 * `repack`: Background serves the matrices the backend would repack from the mapping (deferred) and
 * leaves their repack to the caller (plan_background_repack); AtLoad repacks them here. */
std::unique_ptr<Model> load_model(Backend& backend, const std::string& path, int context, int max_sequences,
    int tp_rank = 0, int tp_size = 1, const std::string& quant = "", int threads = 0,
    RepackWhen repack = RepackWhen::AtLoad);

/** Throws unsupported_architecture naming the numbers unless heads, KV heads and intermediate_size
 * all divide by `tp_size`. */
void check_tensor_parallel(const ModelConfig& config, int tp_size);

/** How many k-chunks one rank of `tp_size` sums o_proj and down_proj in: the model is split into
 * 8, 4 or 2 chunks of whole heads and equal MLP slices, each a whole number of `block`-wide
 * quantization blocks (the most that divide all of these and that `tp_size` divides), each rank
 * taking its share; 1 when none fits. */
int reduction_chunks(const ModelConfig& full, int tp_size, int64_t block = 1);

/** The token rows of one forward pass, on the host. */
struct HostRows {
  std::vector<int32_t> tokens, slots, positions;
  std::vector<int32_t> logit_rows;  // indices into the rows whose logits are wanted, in output order
};

/** One batched forward pass; writes logit_rows.size() × vocab floats into `logits`. Checks `cancel`
 * between layers and throws when it is set. */
void forward(Model& model, const HostRows& rows, float* logits, const std::atomic<bool>& cancel);

/** A forward pass's opening, shared by every architecture: sizes the RunState, uploads the rows'
 * tokens, slots, positions and wanted-logit indices, and embeds the tokens into state.x. The
 * BatchRows' host_slots and host_positions point into `rows`, so they live as long as it does. */
BatchRows start_forward(Model& model, const HostRows& rows);

/** A forward pass's close: the final norm and the classifier over the `m` wanted rows of state.x,
 * copied into `logits` on the host (nothing when m == 0). */
void finish_forward(Model& model, int m, float* logits);

}  // namespace cx
