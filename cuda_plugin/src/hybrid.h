// hybrid.h — the Qwen3.5 / Qwen3-Next hybrids: Gated DeltaNet (linear attention) layers between gated
// full-attention layers. Config (hybrid_config.cpp), the load-time rearrangement of their tensors
// (hybrid_load.cpp) and the forward pass (hybrid_forward.cpp); the ops are Backend's hybrid ops.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "config.h"
#include "json.h"
#include "model.h"

namespace cx {

/** True for the config.json architectures this file reads (dense and MoE Qwen3.5, Qwen3-Next). */
bool is_hybrid_architecture(const std::string& name);

/** Reads a hybrid's config.json (flat, or nested under text_config), experts included (moe.h's fields
 * plus shared_expert_intermediate_size). Throws unsupported_architecture naming any key, rope type or
 * layer type that is not implemented. */
ModelConfig read_hybrid_config(const Json& root, const std::string& architecture_name);

/** Puts a hybrid checkpoint's tensors under the names and layouts the loader plans with: the text
 * model's `model.language_model.*` as `model.*` (the vision tower and MTP head stay unused); fused
 * expert tensors as per-expert views (moe.h); each q_proj split into its query rows (q_proj) and
 * output-gate rows (q_gate); Qwen3-Next's fused in_proj_qkvz / in_proj_ba de-interleaved per key-head
 * group into in_proj_qkv, in_proj_z, in_proj_b, in_proj_a. With `tp_size` > 1 the rows of in_proj_qkv
 * and conv1d.weight ([q | k | v] channels) are ordered rank by rank ([q_r | k_r | v_r] for each rank r,
 * by heads), so that each rank's share is one block of rows like every other row split. Rearranged
 * rows live in `storage`. */
void prepare_hybrid_tensors(const ModelConfig& config, SafetensorsSet& tensors,
    std::vector<std::vector<uint8_t>>& storage, int tp_size = 1);

/** Allocates a hybrid model's DeltaNet states (every slot, every linear layer) and sets each layer's
 * state_layer. Returns the bytes allocated (already reserved by the caller: hybrid_state_bytes). */
void allocate_linear_states(Model& model);
/** The bytes of a hybrid's DeltaNet states for `slots` sequences (0 for other models). */
int64_t hybrid_state_bytes(const ModelConfig& config, int slots);

/** Which DeltaNet states copy_linear_states copies: a slot's live states into its snapshot, a
 * snapshot into live states, or one slot's snapshot into another's. */
enum class StateCopy { kSnapshot, kRestore, kSnapshotToSnapshot };

/** Copies every linear layer's conv and recurrent states of slot `from` into slot `to` (`what` says
 * which buffers: kSnapshot live → snapshot, kRestore snapshot → live, kSnapshotToSnapshot). */
void copy_linear_states(Model& model, StateCopy what, int from, int to);
/** The KV cache layers a model needs: its full-attention layers. */
int attention_layer_count(const ModelConfig& config);

/** forward() for a hybrid model. */
void forward_hybrid(Model& model, const HostRows& rows, float* logits, const std::atomic<bool>& cancel);

}  // namespace cx
