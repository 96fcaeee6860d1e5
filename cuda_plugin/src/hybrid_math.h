// hybrid_math.h — per-element math of the Qwen3.5 / Qwen3-Next hybrid layers (Gated DeltaNet, gated
// attention), shared by the CPU kernels and CUDA as CX_HD, in transformers' f32 order.
#pragma once

#include "cx_math.h"

namespace cx {

/** σ(x) = 1 / (1 + e^-x). */
CX_HD float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/** softplus(x) = log(1 + e^x), linear above 20 like torch.nn.functional.softplus. */
CX_HD float softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

/** The DeltaNet log decay of one token: g = -exp(A_log) · softplus(a + dt_bias). */
CX_HD float delta_log_decay(float a, float a_log, float dt_bias) { return -expf(a_log) * softplus(a + dt_bias); }

/** The DeltaNet state decay of one token: exp(g) with g = -exp(A_log) · softplus(a + dt_bias). */
CX_HD float delta_decay(float a, float a_log, float dt_bias) { return expf(-expf(a_log) * softplus(a + dt_bias)); }

/** 1 / ‖x‖ as the l2norm of transformers' delta rule computes it: rsqrt(Σx² + 1e-6). */
CX_HD float l2_inverse_norm(float sum_squares) { return 1.0f / sqrtf(sum_squares + 1e-6f); }

/** Tokens per chunk of the chunked gated delta rule (transformers' torch_chunk_gated_delta_rule uses 64). */
constexpr int kDeltaChunk = 64;

/** e^(cum_to − cum_from): the decay between two tokens of a chunk, from their cumulative log decays. */
CX_HD float delta_decay_between(float cum_to, float cum_from) { return expf(cum_to - cum_from); }

/** Whether row r continues row r − 1's sequence (same slot, next position). A sequence's rows in a batch
 * are consecutive, so a run of such rows is all of its rows in this batch: the chunked form takes a run
 * of several rows, the recurrent form a lone row. */
CX_HD bool continues_run(const int32_t* slots, const int32_t* positions, int r) {
  return r > 0 && slots[r] == slots[r - 1] && positions[r] == positions[r - 1] + 1;
}

/** The gated RMSNorm of one element: (weight · (x · scale)) · silu(z). */
CX_HD float gated_rmsnorm_element(float x, float scale, float weight, float z) {
  return rmsnorm_element(x, scale, weight) * silu(z);
}

}  // namespace cx
