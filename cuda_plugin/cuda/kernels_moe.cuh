// kernels_moe.cuh — the mixture-of-experts op of the CUDA backend: the weighted combination of each
// token's experts' outputs (Backend::moe_combine). The experts themselves run as ordinary matmuls
// over rows gathered per expert (gather_rows), so this is the only MoE-specific kernel. Per-element
// math from moe_math.h, the same function the CPU backend calls. Compiled by kernels_moe.cu (nvcc)
// and kernels_check.cpp (host emulation).
#pragma once

#include "kernels.h"
#include "moe_math.h"

namespace cx {

namespace {

constexpr int kMoeThreads = 256;

// One thread per output element: out[t][i] = Σ_j w[t][j] · y[rows[t][j]][i], j in order, from zero.
CX_GLOBAL void moe_combine_kernel(float* out, const float* y, const int32_t* rows, const float* weights, int64_t n,
                                  int k, int dim) {
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n * dim;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t t = e / dim, i = e % dim;
    float acc = 0.0f;
    for (int j = 0; j < k; j++) {
      acc = moe_weighted_add(acc, y[static_cast<int64_t>(rows[t * k + j]) * dim + i], weights[t * k + j]);
    }
    out[e] = acc;
  }
}

}  // namespace

void launch_moe_combine(float* out, const float* y, const int32_t* rows, const float* weights, int n, int k, int dim,
                        cudaStream_t stream) {
  const int64_t count = static_cast<int64_t>(n) * dim;
  if (count <= 0) return;
  launch("moe_combine", moe_combine_kernel, grid_for(count, kMoeThreads), kMoeThreads, 0, stream, out, y, rows,
         weights, static_cast<int64_t>(n), k, dim);
}

}  // namespace cx
