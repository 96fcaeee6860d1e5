// kernels.h — host-side launchers of the CUDA backend's kernels, one per Backend op. Each enqueues
// its kernel(s) on `stream` and throws cx::Error(CX_ERR_DEVICE_POISONED, fatal) if a launch fails.
// Definitions live beside their kernels in kernels_*.cuh (compiled by kernels_*.cu under nvcc, and
// by kernels_check.cpp under g++ with the host emulation of kernel_compat.cuh). Every pointer is a
// device pointer.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend.h"
#include "kernel_compat.cuh"

namespace cx {

// --- device helpers shared by the kernels (host-callable too, for tests) ---

/** f32 → IEEE half with round-to-nearest-even (overflow → ±inf, NaN kept quiet). */
CX_HD uint16_t f32_to_f16(float f) {
  union {
    float f;
    uint32_t u;
  } v;
  v.f = f;
  const uint32_t sign = (v.u >> 16) & 0x8000u;
  const uint32_t x = v.u & 0x7fffffffu;
  if (x >= 0x7f800000u) return static_cast<uint16_t>(sign | (x > 0x7f800000u ? 0x7e00u : 0x7c00u));
  if (x >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // ≥ 65520 rounds to inf
  if (x < 0x38800000u) {                                             // below 2^-14: half subnormal or zero
    if (x <= 0x33000000u) return static_cast<uint16_t>(sign);         // ≤ 2^-25 rounds (ties even) to 0
    const uint32_t exponent = x >> 23;
    const uint32_t mantissa = (x & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - exponent;  // 14..24
    uint32_t result = mantissa >> shift;
    const uint32_t remainder = mantissa & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1u);
    if (remainder > half || (remainder == half && (result & 1u))) result++;
    return static_cast<uint16_t>(sign | result);
  }
  uint32_t h = (x >> 13) - (112u << 10);
  const uint32_t remainder = x & 0x1fffu;
  if (remainder > 0x1000u || (remainder == 0x1000u && (h & 1u))) h++;
  return static_cast<uint16_t>(sign | h);
}

/** Element offset of (layer, slot, kv_head, position) in a KV cache — KvCache::offset, usable on the device. */
CX_HD size_t kv_offset(int slots, int context, int kv_heads, int head_dim, int layer, int slot, int kv_head,
                       int position) {
  const size_t head = (static_cast<size_t>(layer) * static_cast<size_t>(slots) + static_cast<size_t>(slot)) *
                          static_cast<size_t>(kv_heads) +
                      static_cast<size_t>(kv_head);
  return (head * static_cast<size_t>(context) + static_cast<size_t>(position)) * static_cast<size_t>(head_dim);
}

// --- elementwise (kernels_elementwise.cuh) ---

/** out[i] = widen(table[tokens[i]]) for n rows of table.cols; an id outside [0, rows) yields NaNs.
 * Quantized tables go to launch_embed_quant. */
void launch_embed(float* out, const Tensor& table, const int32_t* tokens, int n, cudaStream_t stream);
/** out[r] = RMSNorm(x[r]) · weight (out may equal x). */
void launch_rmsnorm(float* out, const float* x, const float* weight, int rows, int dim, float eps,
                    cudaStream_t stream);
/** x[r] += bias. */
void launch_add_bias(float* x, const float* bias, int rows, int dim, cudaStream_t stream);
/** Rotate-half RoPE in place on the first rotary_dim dims of each head of x[n, heads, head_dim], cos
 * and sin scaled by attention_scale (backend.h, RopeSpec). */
void launch_rope(float* x, const int32_t* positions, int n, int heads, int head_dim, int rotary_dim,
                 const float* inv_freq, float attention_scale, cudaStream_t stream);
/** cache[layer][slots[r]][positions[r]] = k[r], v[r]; rows whose slot/position are out of range are skipped. */
void launch_kv_store(const KvCache& cache, int layer, const float* k, const float* v, const int32_t* slots,
                     const int32_t* positions, int n, cudaStream_t stream);
/** out[i] = silu(gate[i]) · up[i]. */
void launch_swiglu(float* out, const float* gate, const float* up, int64_t count, cudaStream_t stream);
/** x[i] += y[i]. */
void launch_add(float* x, const float* y, int64_t count, cudaStream_t stream);
/** out[j] = x[rows[j]] for m rows of dim. */
void launch_gather_rows(float* out, const float* x, const int32_t* rows, int m, int dim, cudaStream_t stream);
/** Backend::moe_combine (kernels_moe.cuh). */
void launch_moe_combine(float* out, const float* y, const int32_t* rows, const float* weights, int n, int k, int dim,
                        cudaStream_t stream);
/** out[i] = widen(w[offset + i]) for `count` elements of a weight of dtype `dtype` (quantized dtypes:
 * launch_dequantize, whole blocks only). */
void launch_widen(float* out, const void* w, DType dtype, int64_t offset, int64_t count, cudaStream_t stream);
/** out[i] = x[i] rounded to bf16 or f16 (nearest-even), for the tensor-core GEMM path. */
void launch_narrow(void* out, const float* x, DType dtype, int64_t count, cudaStream_t stream);

// --- hybrids (kernels_hybrid.cuh): Backend's hybrid ops, with the batch's slots and positions ---

void launch_sigmoid_gate(float* x, const float* gate, int64_t count, cudaStream_t stream);
void launch_sigmoid_scale_rows(float* y, const float* gate, int rows, int dim, cudaStream_t stream);
void launch_conv1d_silu(float* out, const float* x, float* conv_state, const float* weight, const int32_t* slots,
    const int32_t* positions, int n, const DeltaNetShape& shape, cudaStream_t stream);
/** Backend::gated_delta_rule. With rows.host_slots/host_positions, a sequence's run of several rows takes
 * the chunked kernel (when its gated_delta_rule_chunked_shared_bytes fit `max_shared_bytes`, the device's
 * opt-in limit per block) and lone rows the recurrent kernel, as the CPU backend splits them; without
 * them, or when it does not fit, every row takes the recurrent kernel. */
void launch_gated_delta_rule(float* out, const float* qkv, const float* b, const float* a, const float* a_log,
    const float* dt_bias, float* recurrent, const BatchRows& rows, const DeltaNetShape& shape,
    size_t max_shared_bytes, cudaStream_t stream);
/** Dynamic shared memory of one block of the chunked delta rule (about 90 KiB for k_dim 128). */
size_t gated_delta_rule_chunked_shared_bytes(const DeltaNetShape& shape);
void launch_gated_rmsnorm(float* out, const float* x, const float* z, const float* weight, int rows, int dim,
    float eps, cudaStream_t stream);

#if defined(__CUDACC__)
/** Whether the current device can run this build's kernels (false, with the CUDA error in `why`,
 * on an architecture the plugin was not compiled for). */
bool kernel_image_available(std::string* why);
#endif

// --- attention (kernels_attention.cuh) ---

/** How attention splits each row's positions across blocks (flash-decoding style when the batch is
 * too small to fill the GPU). `chunk` positions per split, a multiple of the block's tile. */
struct AttentionPlan {
  int splits = 1;
  int chunk = 0;
};

/** Picks the split for `rows` × `heads` blocks over a cache of `context` positions. */
AttentionPlan plan_attention(int rows, int heads, int context, int multiprocessors);
/** Floats of workspace launch_attention needs for `plan` (0 when splits == 1). */
size_t attention_workspace_floats(const AttentionPlan& plan, int rows, int heads, int head_dim);
/** Largest head_dim the attention kernel supports. */
constexpr int kMaxAttentionHeadDim = 512;
/** Causal GQA attention of q[rows, heads, head_dim] over positions 0..positions[r] of slot slots[r]
 * (with `window` > 0 only the last `window` of them: attention_start in cx_math.h). */
void launch_attention(float* out, const float* q, const KvCache& cache, int layer, const int32_t* slots,
                      const int32_t* positions, int rows, int heads, int kv_heads, int head_dim, int window,
                      const AttentionPlan& plan, float* workspace, cudaStream_t stream);

// --- matmul (kernels_matmul.cuh) ---

/** Largest batch the matvec kernel takes; larger batches go to GEMM. */
constexpr int kMatvecMaxRows = 8;
/** out[n, w.rows] = x[n, w.cols] · wᵀ for 1 <= n <= kMatvecMaxRows: one warp per weight row, the
 * weight read once for all n rows, f32 accumulation. */
void launch_matvec(float* out, const float* x, const Tensor& w, int n, cudaStream_t stream);
/** The same product for any n with a shared-memory tiled kernel (the fallback without cuBLAS), for
 * f32/f16/bf16 weights; output row i starts at out + i * out_stride (0: w.rows). */
void launch_gemm_tiled(float* out, const float* x, const Tensor& w, int n, cudaStream_t stream,
                       int64_t out_stride = 0);

/** out[n, w.rows] = x · wᵀ for a weight a GEMM cannot read directly (16-bit for exact cuBLAS, or block-
 * quantized): `slice_rows` weight rows at a time are widened/dequantized to f32 into `scratch` (room for
 * slice_rows × w.cols floats) and multiplied by `gemm_f32(out + r0, slice, rows, out_stride)`, an f32
 * GEMM writing rows × n outputs with row stride out_stride. Returns false as soon as gemm_f32 does. */
template <typename GemmF32>
bool gemm_by_slices(float* out, const Tensor& w, float* scratch, int64_t slice_rows, cudaStream_t stream,
                    GemmF32 gemm_f32) {
  for (int64_t r0 = 0; r0 < w.rows; r0 += slice_rows) {
    const int64_t rows = w.rows - r0 < slice_rows ? w.rows - r0 : slice_rows;
    launch_widen(scratch, w.data, w.dtype, r0 * w.cols, rows * w.cols, stream);
    Tensor slice;
    slice.data = scratch;
    slice.dtype = DType::F32;
    slice.rows = rows;
    slice.cols = w.cols;
    if (!gemm_f32(out + r0, slice, w.rows)) return false;
  }
  return true;
}

// --- quantized weights (kernels_quant.cuh): Q8_0, Q4_0, Q4_K, Q5_K, Q6_K; cols a multiple of the block ---

/** launch_embed for a quantized table: each row decoded with quant.h, bit-identical to dequantize_*. */
void launch_embed_quant(float* out, const Tensor& table, const int32_t* tokens, int n, cudaStream_t stream);
/** launch_matvec for a quantized weight (1 <= n <= kMatvecMaxRows): lanes walk blocks, f32 sums. */
void launch_matvec_quant(float* out, const float* x, const Tensor& w, int n, cudaStream_t stream);
/** out = `count` elements of a quantized weight from element `offset`, dequantized; both whole blocks. */
void launch_dequantize(float* out, const void* w, DType dtype, int64_t offset, int64_t count, cudaStream_t stream);

}  // namespace cx
