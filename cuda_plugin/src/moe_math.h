// moe_math.h — the per-element math of a Qwen3-MoE block shared by the CPU backend and the CUDA
// kernels: routing one token (softmax over every expert's logit in f32, top-k, optional
// renormalisation, as transformers' Qwen3MoeTopKRouter does) and adding one expert's weighted output.
#pragma once

#include "cx_math.h"

namespace cx {

/** The most experts a token may be routed to (num_experts_per_tok). */
constexpr int kMaxExpertsPerToken = 64;

/** Routes one token: probs = softmax(logits[0..experts)) in f32 (`probs` is scratch of `experts`
 * floats); the `k` largest probabilities in descending order, ties to the lower expert index
 * (torch.topk's order on CPU); with `normalize` each is divided by their sum (added in that order).
 * Writes ids[k] and weights[k]. */
CX_HD void moe_route_token(const float* logits, int experts, int k, bool normalize, float* probs, int32_t* ids,
    float* weights) {
  float max_logit = logits[0];
  for (int e = 1; e < experts; e++) max_logit = logits[e] > max_logit ? logits[e] : max_logit;
  float sum = 0.0f;
  for (int e = 0; e < experts; e++) {
    probs[e] = expf(logits[e] - max_logit);
    sum += probs[e];
  }
  for (int e = 0; e < experts; e++) probs[e] = probs[e] / sum;
  for (int j = 0; j < k; j++) {
    int best = -1;
    for (int e = 0; e < experts; e++) {
      bool taken = false;
      for (int i = 0; i < j; i++) taken = taken || ids[i] == e;
      if (!taken && (best < 0 || probs[e] > probs[best])) best = e;
    }
    ids[j] = best;
    weights[j] = probs[best];
  }
  if (!normalize) return;
  float top = 0.0f;
  for (int j = 0; j < k; j++) top += weights[j];
  for (int j = 0; j < k; j++) weights[j] = weights[j] / top;
}

/** acc + y·w, rounded after the product and after the sum (never fused), as torch's
 * `expert_out * weight` then `index_add_` computes it. */
CX_HD float moe_weighted_add(float acc, float y, float w) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(acc, __fmul_rn(y, w));
#else
  return acc + y * w;  // the plugin's host code is built without FMA contraction (x86-64-v2)
#endif
}

}  // namespace cx
